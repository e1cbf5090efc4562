/**
 * Reading one Docker `config.json` / containers `auth.json` file: parse it (secrets become
 * `Redacted` as the schema decodes them), classify its `auths` keys (host or per-repository) and
 * turn an entry into a `Credential`. Errors name the file, never its contents.
 *
 * @internal
 */
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs/promises"
import type { AuthFile } from "./dockerConfigPaths.js"

/**
 * A config file that exists but cannot be used. `detail` never contains file contents.
 *
 * @internal
 */
export class ConfigFileError extends Data.TaggedError("ConfigFileError")<{
  readonly path: string
  readonly reason: "Unreadable" | "Malformed" | "InvalidEntry"
  readonly detail?: string | undefined
}> {
  override get message(): string {
    switch (this.reason) {
      case "Unreadable":
        return `credentials file ${this.path} cannot be read${this.detail ? ` (${this.detail})` : ""}`
      case "Malformed":
        return `credentials file ${this.path} is not a valid credentials file (malformed JSON or unexpected shape)`
      case "InvalidEntry":
        return `credentials file ${this.path} has an invalid entry${this.detail ? ` for ${this.detail}` : ""}`
    }
  }
}

const optional = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { nullable: true })
const Secret = optional(Schema.Redacted(Schema.String))

const Entry = Schema.Struct({
  auth: Secret,
  username: optional(Schema.String),
  password: Secret,
  identitytoken: Secret,
  registrytoken: Secret
})

/** @internal */
export type Entry = typeof Entry.Type

const Auths = Schema.Record({ key: Schema.String, value: Entry })

const ConfigFile = Schema.Struct({
  auths: optional(Auths),
  credHelpers: optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  credsStore: optional(Schema.String)
})

/**
 * A parsed file: `auths` keys in file order, `credHelpers` keyed by normalised host.
 *
 * @internal
 */
export interface ParsedConfig {
  readonly path: string
  readonly legacy: boolean
  readonly auths: ReadonlyArray<readonly [key: string, entry: Entry]>
  readonly credHelpers: ReadonlyMap<string, string>
  readonly credsStore: string | undefined
}

const errorCode = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined

const missingCodes = new Set(["ENOENT", "ENOTDIR"])

/**
 * The text of a file, `None` when it does not exist.
 *
 * @internal
 */
export const readText = (path: string): Effect.Effect<Option.Option<string>, ConfigFileError> =>
  Effect.tryPromise({
    try: () => Fs.readFile(path, "utf8"),
    catch: (error) => error
  }).pipe(
    Effect.map(Option.some),
    Effect.catchAll((error) =>
      missingCodes.has(errorCode(error) ?? "")
        ? Effect.succeedNone
        : Effect.fail(new ConfigFileError({ path, reason: "Unreadable", detail: errorCode(error) }))
    )
  )

/**
 * Parse JSON text; the error says only which file is malformed (a `SyntaxError` message would
 * quote the contents).
 *
 * @internal
 */
export const parseJson = (path: string, text: string): Either.Either<unknown, ConfigFileError> =>
  Either.try({
    try: () => (text.trim() === "" ? {} : JSON.parse(text)) as unknown,
    catch: () => new ConfigFileError({ path, reason: "Malformed" })
  })

/**
 * Decode the credential-related parts of a file's JSON (other keys are ignored).
 *
 * @internal
 */
export const decode = (file: AuthFile, json: unknown): Either.Either<ParsedConfig, ConfigFileError> => {
  const malformed = () => new ConfigFileError({ path: file.path, reason: "Malformed" })
  if (file.legacy) {
    return Schema.decodeUnknownEither(Auths)(json).pipe(
      Either.mapLeft(malformed),
      Either.map((auths) => ({
        path: file.path,
        legacy: true,
        auths: Object.entries(auths),
        credHelpers: new Map(),
        credsStore: undefined
      }))
    )
  }
  return Schema.decodeUnknownEither(ConfigFile)(json).pipe(
    Either.mapLeft(malformed),
    Either.map((config) => ({
      path: file.path,
      legacy: false,
      auths: Object.entries(config.auths ?? {}),
      credHelpers: new Map(
        Object.entries(config.credHelpers ?? {}).map(([key, helper]) => [
          CredentialStore.normalizeRegistryKey(key),
          helper
        ])
      ),
      credsStore: config.credsStore === undefined || config.credsStore === "" ? undefined : config.credsStore
    }))
  )
}

/**
 * Read and decode a file; `None` when it does not exist.
 *
 * @internal
 */
export const read = (file: AuthFile): Effect.Effect<Option.Option<ParsedConfig>, ConfigFileError> =>
  Effect.flatMap(readText(file.path), (text) =>
    Option.match(text, {
      onNone: () => Effect.succeedNone,
      onSome: (text) =>
        Effect.map(Either.flatMap(parseJson(file.path, text), (json) => decode(file, json)), Option.some)
    }))

/**
 * What an `auths` key addresses: a registry host (`host`, `https://host`, `http://host/v1/`,
 * Docker Hub's `https://index.docker.io/v1/`), or a repository namespace under a host
 * (`host/namespace[/repo]`, podman's extension). Keys with a scheme, and all keys of the legacy
 * format, are host keys whatever their path, as in containers/image.
 *
 * @internal
 */
export type KeyScope =
  | { readonly _tag: "Host"; readonly host: string }
  | { readonly _tag: "Repository"; readonly host: string; readonly key: string }

/** @internal */
export const classifyKey = (key: string, legacy: boolean): KeyScope => {
  const trimmed = key.trim()
  const host = CredentialStore.normalizeRegistryKey(trimmed)
  if (legacy || /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) return { _tag: "Host", host }
  const slash = trimmed.indexOf("/")
  if (slash === -1) return { _tag: "Host", host }
  const path = trimmed.slice(slash + 1).replace(/\/+$/, "")
  // `index.docker.io/v1/` written without its scheme is still Docker Hub's host key
  if (path === "" || /^v[12]$/.test(path)) return { _tag: "Host", host }
  return { _tag: "Repository", host, key: `${host}/${path}` }
}

/**
 * The keys a repository is looked up under, most specific first: `host/a/b/c`, `host/a/b`,
 * `host/a` (the host key itself is looked up separately).
 *
 * @internal
 */
export const repositoryKeys = (host: string, repository: string): ReadonlyArray<string> => {
  const segments = repository.replace(/^\/+|\/+$/g, "").split("/").filter((segment) => segment !== "")
  const keys: Array<string> = []
  for (let n = segments.length; n > 0; n--) keys.push(`${host}/${segments.slice(0, n).join("/")}`)
  return keys
}

const base64 = /^[A-Za-z0-9+/]*={0,2}$/

const nonEmpty = (secret: Redacted.Redacted<string> | undefined): secret is Redacted.Redacted<string> =>
  secret !== undefined && Redacted.value(secret) !== ""

const decodeAuth = (
  auth: Redacted.Redacted<string>
): Either.Either<Option.Option<{ username: string; password: Redacted.Redacted<string> }>, "invalid"> => {
  const encoded = Redacted.value(auth).replace(/\s+/g, "")
  if (encoded.length % 4 === 1 || !base64.test(encoded)) return Either.left("invalid")
  const decoded = Buffer.from(encoded, "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  // Docker skips an `auth` without a colon (and writes `{}` entries when a helper is used)
  if (colon === -1 || decoded === ":") return Either.right(Option.none())
  return Either.right(Option.some({
    username: decoded.slice(0, colon),
    password: Redacted.make(decoded.slice(colon + 1).replace(/\0+$/, ""))
  }))
}

/**
 * The credential an entry holds, `None` for an empty entry (`{}` as Docker writes it when a
 * helper keeps the secret). Precedence: `registrytoken` (a ready bearer token), `identitytoken`
 * (a refresh token), base64 `auth` (`user:pass`, split at the first colon), `username` +
 * `password`.
 *
 * @internal
 */
export const entryCredential = (
  path: string,
  key: string,
  entry: Entry
): Either.Either<Option.Option<CredentialStore.Credential>, ConfigFileError> => {
  if (nonEmpty(entry.registrytoken)) return Either.right(Option.some(CredentialStore.bearerToken(entry.registrytoken)))
  return Either.mapLeft(
    entry.auth !== undefined && Redacted.value(entry.auth) !== ""
      ? decodeAuth(entry.auth)
      : Either.right(Option.none()),
    () => new ConfigFileError({ path, reason: "InvalidEntry", detail: key })
  ).pipe(Either.map((fromAuth) => {
    if (nonEmpty(entry.identitytoken)) {
      const username = Option.match(fromAuth, { onNone: () => entry.username, onSome: (auth) => auth.username })
      return Option.some(CredentialStore.identityToken(entry.identitytoken, username || undefined))
    }
    if (Option.isSome(fromAuth)) {
      return Option.some(CredentialStore.basic(fromAuth.value.username, fromAuth.value.password))
    }
    if (entry.username !== undefined && entry.username !== "" && nonEmpty(entry.password)) {
      return Option.some(CredentialStore.basic(entry.username, entry.password))
    }
    return Option.none()
  }))
}

const firstUsable = (
  config: ParsedConfig,
  matches: (scope: KeyScope) => boolean
): Either.Either<Option.Option<CredentialStore.Credential>, ConfigFileError> => {
  for (const [key, entry] of config.auths) {
    if (!matches(classifyKey(key, config.legacy))) continue
    const credential = entryCredential(config.path, key, entry)
    if (Either.isLeft(credential) || Option.isSome(credential.right)) return credential
  }
  return Either.right(Option.none())
}

/**
 * The first usable host-level entry for a normalised host.
 *
 * @internal
 */
export const hostCredential = (
  config: ParsedConfig,
  host: string
): Either.Either<Option.Option<CredentialStore.Credential>, ConfigFileError> =>
  firstUsable(config, (scope) => scope._tag === "Host" && scope.host === host)

/**
 * The most specific usable per-repository entry (`host/ns/repo`, then `host/ns`).
 *
 * @internal
 */
export const repositoryCredential = (
  config: ParsedConfig,
  host: string,
  repository: string
): Either.Either<Option.Option<CredentialStore.Credential>, ConfigFileError> => {
  if (config.legacy) return Either.right(Option.none())
  for (const wanted of repositoryKeys(host, repository)) {
    const found = firstUsable(config, (scope) => scope._tag === "Repository" && scope.key === wanted)
    if (Either.isLeft(found) || Option.isSome(found.right)) return found
  }
  return Either.right(Option.none())
}
