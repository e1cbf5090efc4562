/**
 * Credential stores for browser programs, which have no Docker `config.json`: one in memory, for
 * credentials the user types in and that should vanish with the page, and one in
 * `sessionStorage`, for a tab that stays signed in across reloads. Both provide the core
 * `CredentialStore` and a `Writable` service to sign in (`set`) and out (`remove`, `clear`).
 *
 * Keys are registry hosts as in references (`ghcr.io`, `127.0.0.1:5000`), normalised like
 * `CredentialStore.layerStatic` does (`index.docker.io` finds `docker.io`).
 *
 * The `RegistryClient` caches what a store answered for a registry (up to 5 minutes) and the
 * bearer tokens it obtained (until they expire): after signing in or out, build the client again
 * (a new `ManagedRuntime`, or the layer provided anew) so it asks the store again.
 *
 * @since 0.1.0
 */
import * as CredentialStore from "@ocireg/core/CredentialStore"
import { AuthenticationError } from "@ocireg/core/RegistryError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

/**
 * Reading or writing the browser storage failed (storage disabled, quota exceeded, an entry
 * written by something else). Never carries a secret.
 *
 * @since 0.1.0
 * @category errors
 */
export class CredentialStorageError extends Schema.TaggedError<CredentialStorageError>()("CredentialStorageError", {
  operation: Schema.Literal("read", "write"),
  detail: Schema.String
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `Credential storage ${this.operation} failed: ${this.detail}`
  }
}

/**
 * Signing in and out: change what the store answers.
 *
 * @since 0.1.0
 * @category models
 */
export interface WritableShape {
  /** Store `credential` for `registry`, replacing any other. */
  readonly set: (
    registry: string,
    credential: CredentialStore.Credential
  ) => Effect.Effect<void, CredentialStorageError>
  /** Forget the credential of `registry`. */
  readonly remove: (registry: string) => Effect.Effect<void, CredentialStorageError>
  /** Forget every credential. */
  readonly clear: Effect.Effect<void, CredentialStorageError>
  /** The registries that have a credential (normalised keys). */
  readonly registries: Effect.Effect<ReadonlyArray<string>, CredentialStorageError>
}

/**
 * The service to change a browser credential store; provided next to `CredentialStore` by
 * `layerMemory` and `layerSessionStorage`.
 *
 * @since 0.1.0
 * @category services
 */
export class Writable extends Context.Tag("@ocireg/platform-browser/BrowserCredentialStore/Writable")<
  Writable,
  WritableShape
>() {}

const lookupFailed = (registry: string) => (error: CredentialStorageError) =>
  new AuthenticationError({ registry, reason: "CredentialLookupFailed", detail: error.message })

/**
 * A store in memory: a `Map` from registry host to credential, starting with `initial`. Secrets
 * stay `Redacted` and disappear when the page does. The safest choice: nothing is written where
 * other code could find it later.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (
  initial: Readonly<Record<string, CredentialStore.Credential>> = {}
): { readonly store: CredentialStore.CredentialStore["Type"]; readonly writable: WritableShape } => {
  const table = new Map(
    Object.entries(initial).map(([host, credential]) => [CredentialStore.normalizeRegistryKey(host), credential])
  )
  const key = CredentialStore.normalizeRegistryKey
  return {
    store: CredentialStore.make((registry) => Effect.sync(() => Option.fromNullable(table.get(key(registry))))),
    writable: {
      set: (registry, credential) => Effect.sync(() => void table.set(key(registry), credential)),
      remove: (registry) => Effect.sync(() => void table.delete(key(registry))),
      clear: Effect.sync(() => table.clear()),
      registries: Effect.sync(() => [...table.keys()].sort())
    }
  }
}

/**
 * `makeMemory` as a layer: `CredentialStore` and `Writable` over one in-memory table.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (
  initial: Readonly<Record<string, CredentialStore.Credential>> = {}
): Layer.Layer<CredentialStore.CredentialStore | Writable> =>
  Layer.suspend(() => {
    const { store, writable } = makeMemory(initial)
    return Layer.merge(Layer.succeed(CredentialStore.CredentialStore, store), Layer.succeed(Writable, writable))
  })

const StoredCredential = Schema.Union(
  Schema.Struct({ type: Schema.Literal("Basic"), username: Schema.String, password: Schema.String }),
  Schema.Struct({
    type: Schema.Literal("IdentityToken"),
    username: Schema.optional(Schema.String),
    token: Schema.String
  }),
  Schema.Struct({ type: Schema.Literal("BearerToken"), token: Schema.String })
)

const Stored = Schema.parseJson(Schema.Struct({
  version: Schema.Literal(1),
  credentials: Schema.Record({ key: Schema.String, value: StoredCredential })
}))

type StoredCredential = typeof StoredCredential.Type

const toStored = (credential: CredentialStore.Credential): StoredCredential => {
  switch (credential._tag) {
    case "Basic":
      return { type: "Basic", username: credential.username, password: Redacted.value(credential.password) }
    case "IdentityToken":
      return {
        type: "IdentityToken",
        token: Redacted.value(credential.token),
        ...(credential.username !== undefined ? { username: credential.username } : {})
      }
    case "BearerToken":
      return { type: "BearerToken", token: Redacted.value(credential.token) }
  }
}

const fromStored = (stored: StoredCredential): CredentialStore.Credential => {
  switch (stored.type) {
    case "Basic":
      return CredentialStore.basic(stored.username, Redacted.make(stored.password))
    case "IdentityToken":
      return CredentialStore.identityToken(Redacted.make(stored.token), stored.username)
    case "BearerToken":
      return CredentialStore.bearerToken(Redacted.make(stored.token))
  }
}

const errorText = (cause: unknown) => cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)

/**
 * A store over one entry of a Web `Storage` (the JSON of every credential, under `key`). Read on
 * every lookup, so a sign-in in one part of the page is seen by the others.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeStorage = (
  storage: () => Storage,
  key: string
): { readonly store: CredentialStore.CredentialStore["Type"]; readonly writable: WritableShape } => {
  const read = Effect.try({
    try: () => storage().getItem(key),
    catch: (cause) => new CredentialStorageError({ operation: "read", detail: errorText(cause) })
  }).pipe(
    Effect.flatMap((text) =>
      text === null
        ? Effect.succeed<Record<string, StoredCredential>>({})
        : Either.match(Schema.decodeUnknownEither(Stored)(text), {
          onLeft: () =>
            Effect.fail(
              new CredentialStorageError({ operation: "read", detail: `the entry ${key} is not ocireg's credentials` })
            ),
          onRight: (stored) => Effect.succeed<Record<string, StoredCredential>>({ ...stored.credentials })
        })
    )
  )
  const write = (credentials: Record<string, StoredCredential>) =>
    Effect.try({
      try: () => {
        if (Object.keys(credentials).length === 0) storage().removeItem(key)
        else storage().setItem(key, JSON.stringify({ version: 1, credentials }))
      },
      catch: (cause) => new CredentialStorageError({ operation: "write", detail: errorText(cause) })
    })
  const normalize = CredentialStore.normalizeRegistryKey
  const update = (f: (credentials: Record<string, StoredCredential>) => void) =>
    Effect.flatMap(read, (credentials) => {
      f(credentials)
      return write(credentials)
    })
  return {
    store: CredentialStore.make((registry) =>
      read.pipe(
        Effect.map((credentials) => Option.map(Option.fromNullable(credentials[normalize(registry)]), fromStored)),
        Effect.mapError(lookupFailed(registry))
      )
    ),
    writable: {
      set: (registry, credential) =>
        update((credentials) => {
          credentials[normalize(registry)] = toStored(credential)
        }),
      remove: (registry) =>
        update((credentials) => {
          delete credentials[normalize(registry)]
        }),
      clear: write({}),
      registries: Effect.map(read, (credentials) => Object.keys(credentials).sort())
    }
  }
}

/**
 * A store in `sessionStorage`, under `key`: the tab stays signed in across reloads, and the
 * browser deletes the entry when the tab is closed. Trade-offs:
 *
 * - The entry is plain text in the origin's storage: any script running on the origin (a
 *   compromised dependency, an XSS hole) can read it. Prefer `layerMemory` unless surviving a
 *   reload matters, and prefer short-lived tokens (`bearerToken`, `identityToken`) over passwords.
 * - It is per tab: another tab of the same origin does not see it (a duplicated tab gets a copy).
 * - In memory, secrets stay `Redacted`: errors, logs and spans never show them.
 * - Never `localStorage`: it outlives the tab and the session, and keeps secrets on disk.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSessionStorage = (
  key: string = "ocireg.credentials"
): Layer.Layer<CredentialStore.CredentialStore | Writable> =>
  Layer.suspend(() => {
    const { store, writable } = makeStorage(() => globalThis.sessionStorage, key)
    return Layer.merge(Layer.succeed(CredentialStore.CredentialStore, store), Layer.succeed(Writable, writable))
  })
