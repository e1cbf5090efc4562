/**
 * Where ocireg finds credentials for a registry. The `CredentialStore` service answers one
 * question, "what credential do I have for this registry host?", and its layers decide where the
 * answer comes from: nowhere (anonymous), a fixed record, the environment, or a chain of stores.
 * Platform packages add more (Docker's `config.json` and credential helpers on Node).
 *
 * Every secret is `Redacted` from the moment it is read until it is written into a header.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import { AuthenticationError } from "./RegistryError.js"

/**
 * A username and password (or a personal access token used as a password). Sent as Basic auth to
 * registries that ask for it, and to token realms to obtain a bearer token.
 *
 * @since 0.1.0
 * @category models
 */
export interface Basic {
  readonly _tag: "Basic"
  readonly username: string
  readonly password: Redacted.Redacted<string>
}

/**
 * An OAuth2 refresh token (Docker's `identitytoken`), exchanged at the token realm with
 * `grant_type=refresh_token`.
 *
 * @since 0.1.0
 * @category models
 */
export interface IdentityToken {
  readonly _tag: "IdentityToken"
  readonly username?: string | undefined
  readonly token: Redacted.Redacted<string>
}

/**
 * A ready registry bearer token (Docker's `registrytoken`), sent as is.
 *
 * @since 0.1.0
 * @category models
 */
export interface BearerToken {
  readonly _tag: "BearerToken"
  readonly token: Redacted.Redacted<string>
}

/**
 * Any credential a store can return.
 *
 * @since 0.1.0
 * @category models
 */
export type Credential = Basic | IdentityToken | BearerToken

const { BasicCredential, BearerTokenCredential, IdentityTokenCredential } = {
  BasicCredential: Data.tagged<Basic>("Basic"),
  IdentityTokenCredential: Data.tagged<IdentityToken>("IdentityToken"),
  BearerTokenCredential: Data.tagged<BearerToken>("BearerToken")
}

/**
 * A `Basic` credential from a username and a password (or a token used as a password).
 *
 * @since 0.1.0
 * @category constructors
 */
export const basic = (username: string, password: Redacted.Redacted<string>): Credential =>
  BasicCredential({ username, password })

/**
 * An `IdentityToken` credential: a refresh token exchanged at the token realm for bearer tokens.
 *
 * @since 0.1.0
 * @category constructors
 */
export const identityToken = (token: Redacted.Redacted<string>, username?: string): Credential =>
  IdentityTokenCredential({ token, username })

/**
 * A `BearerToken` credential: a ready bearer token sent as it is.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bearerToken = (token: Redacted.Redacted<string>): Credential => BearerTokenCredential({ token })

/**
 * The service: look up the credential for a registry host (`docker.io`, `ghcr.io`,
 * `localhost:5000`). `None` means anonymous. A lookup that fails (a broken credential helper)
 * fails with `AuthenticationError`.
 *
 * @since 0.1.0
 * @category services
 */
export class CredentialStore extends Context.Tag("@ocireg/core/CredentialStore")<CredentialStore, {
  readonly get: (registry: string) => Effect.Effect<Option.Option<Credential>, AuthenticationError>
}>() {}

const dockerHubAliases = new Set([
  "docker.io",
  "index.docker.io",
  "registry-1.docker.io",
  "registry.hub.docker.com"
])

/**
 * The key a registry host is stored under: lower-cased, scheme, path and trailing slash removed,
 * and every Docker Hub alias (including the legacy `https://index.docker.io/v1/`) folded into
 * `docker.io`.
 *
 * @since 0.1.0
 * @category utils
 */
export const normalizeRegistryKey = (registry: string): string => {
  const host = registry.trim().toLowerCase().replace(/^[a-z][a-z0-9+.-]*:\/\//, "").replace(/\/.*$/, "")
  return dockerHubAliases.has(host) ? "docker.io" : host
}

/**
 * A store that never has credentials.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerAnonymous: Layer.Layer<CredentialStore> = Layer.succeed(CredentialStore, {
  get: () => Effect.succeedNone
})

/**
 * A store built from a lookup function.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  get: (registry: string) => Effect.Effect<Option.Option<Credential>, AuthenticationError>
): CredentialStore["Type"] => ({ get })

/**
 * A store over a fixed record of registry host → credential. Keys are normalised with
 * `normalizeRegistryKey`, so `docker.io` and `index.docker.io` find the same entry.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStatic = (credentials: Readonly<Record<string, Credential>>): Layer.Layer<CredentialStore> => {
  const table = new Map(
    Object.entries(credentials).map(([host, credential]) => [normalizeRegistryKey(host), credential])
  )
  return Layer.succeed(
    CredentialStore,
    make((registry) => Effect.succeed(Option.fromNullable(table.get(normalizeRegistryKey(registry)))))
  )
}

/**
 * The configuration `layerConfig` reads: `OCIREG_REGISTRY` (the host the credential belongs to),
 * `OCIREG_USERNAME` and `OCIREG_PASSWORD` (redacted). All three must be set for a credential;
 * none set means anonymous.
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Option.Option<{ readonly registry: string; readonly credential: Credential }>> =
  Config.option(
    Config.all({
      registry: Config.string("OCIREG_REGISTRY"),
      username: Config.string("OCIREG_USERNAME"),
      password: Config.redacted("OCIREG_PASSWORD")
    })
  ).pipe(Config.map(Option.map(({ password, registry, username }) => ({
    registry,
    credential: basic(username, password)
  }))))

/**
 * A store that reads one credential from the environment (see `config`), so CI jobs can pass a
 * token without code. The credential is only ever given to the registry it names.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<CredentialStore, import("effect/ConfigError").ConfigError> = Layer.effect(
  CredentialStore,
  Effect.map(
    config,
    (entry) =>
      make((registry) =>
        Effect.succeed(Option.flatMap(entry, (e) =>
          normalizeRegistryKey(e.registry) === normalizeRegistryKey(registry)
            ? Option.some(e.credential)
            : Option.none()))
      )
  )
)

/**
 * Ask several stores in order; the first that has a credential answers.
 *
 * @since 0.1.0
 * @category combinators
 */
export const chain = (...stores: ReadonlyArray<CredentialStore["Type"]>): CredentialStore["Type"] =>
  make((registry) =>
    Effect.reduce(
      stores,
      Option.none<Credential>(),
      (found, store) => Option.isSome(found) ? Effect.succeed(found) : store.get(registry)
    )
  )

/**
 * A layer that asks the stores of the given layers in order, first answer wins.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerChain = <const Layers extends ReadonlyArray<Layer.Layer<CredentialStore, any, any>>>(
  ...layers: Layers
): Layer.Layer<CredentialStore, Layer.Layer.Error<Layers[number]>, Layer.Layer.Context<Layers[number]>> =>
  Layer.scoped(
    CredentialStore,
    Effect.map(
      Effect.forEach(layers, (layer) => Layer.build(layer)),
      (contexts) => chain(...contexts.map((context) => Context.get(context, CredentialStore)))
    )
  )

/**
 * What a lookup of `layer` or `layerEffect` may answer: a credential, none (`undefined` or
 * `Option.none()`), or an `Option` of one.
 *
 * @since 0.2.0
 * @category models
 */
export type Lookup = Credential | Option.Option<Credential> | undefined

/**
 * Options of `layer` and `layerEffect`.
 *
 * @since 0.2.0
 * @category models
 */
export interface LayerOptions<E> {
  /**
   * How a failed lookup reaches the operation that needed it. Default: an `AuthenticationError`
   * with reason `CredentialLookupFailed` and the error's message as its detail.
   */
  readonly mapError?: ((error: E, registry: string) => AuthenticationError) | undefined
}

const toOption = (found: Lookup): Option.Option<Credential> =>
  found === undefined ? Option.none() : Option.isOption(found) ? found : Option.some(found)

const describe = (error: unknown): string | undefined => {
  if (error instanceof Error) return error.message
  if (typeof error === "object" && error !== null && "_tag" in error) return String(error._tag)
  return typeof error === "string" ? error : undefined
}

const lookupWith = <E, R>(
  get: (registry: string) => Effect.Effect<Lookup, E, R>,
  context: Context.Context<R>,
  options: LayerOptions<E>
): CredentialStore["Type"] =>
  make((registry) =>
    get(registry).pipe(
      Effect.map(toOption),
      Effect.mapError((error) =>
        options.mapError?.(error, registry) ??
          new AuthenticationError({ registry, reason: "CredentialLookupFailed", detail: describe(error) })
      ),
      Effect.provide(context)
    )
  )

/**
 * A store from a lookup function of your own: it may use services (`R`, taken when the layer is
 * built) and fail with an error of your own type (`E`), which becomes an `AuthenticationError`
 * (`CredentialLookupFailed`, or what `mapError` makes of it) for the operation that needed it.
 *
 * @example
 * ```ts
 * import * as CredentialStore from "@ocireg/core/CredentialStore"
 * import * as Context from "effect/Context"
 * import * as Effect from "effect/Effect"
 * import * as Redacted from "effect/Redacted"
 *
 * class VaultError {
 *   readonly _tag = "VaultError"
 * }
 * class Vault extends Context.Tag("app/Vault")<Vault, {
 *   readonly read: (path: string) => Effect.Effect<{ user: string; password: string } | undefined, VaultError>
 * }>() {}
 *
 * export const fromVault = CredentialStore.layer((registry) =>
 *   Effect.flatMap(Vault, (vault) => vault.read(`registries/${registry}`)).pipe(
 *     Effect.map((secret) => secret && CredentialStore.basic(secret.user, Redacted.make(secret.password)))
 *   )
 * )
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = <E = never, R = never>(
  get: (registry: string) => Effect.Effect<Lookup, E, R>,
  options: LayerOptions<E> = {}
): Layer.Layer<CredentialStore, never, R> =>
  Layer.effect(CredentialStore, Effect.map(Effect.context<R>(), (context) => lookupWith(get, context, options)))

/**
 * A store whose lookup is made by an effect (opening a vault client, reading a file once): the
 * layer fails with that effect's error, of your own type (`E`), and needs its services.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerEffect = <E, R, E2 = never, R2 = never>(
  acquire: Effect.Effect<(registry: string) => Effect.Effect<Lookup, E2, R2>, E, R>,
  options: LayerOptions<E2> = {}
): Layer.Layer<CredentialStore, E, R | R2> =>
  Layer.effect(
    CredentialStore,
    Effect.zipWith(acquire, Effect.context<R2>(), (get, context) => lookupWith(get, context, options))
  )
