/**
 * A `CredentialStore` that finds credentials where Docker and Podman users keep them: the
 * containers `auth.json` files, Docker's `config.json` (`auths`, `credHelpers`, `credsStore`)
 * and the `docker-credential-*` helpers those name. It also logs in and out, through the helper
 * configured for a registry or, only when asked, into `config.json` itself.
 *
 * **Files, in order** (the order of containers/image, which podman, skopeo and buildah use; the
 * first file with a usable credential for the registry wins, files that do not exist are skipped):
 *
 * 1. `$REGISTRY_AUTH_FILE` — when set, it is the only file read (podman's `--authfile` rule),
 * 2. `$XDG_RUNTIME_DIR/containers/auth.json` (`/run/containers/<uid>/auth.json` without
 *    `XDG_RUNTIME_DIR`; `~/.config/containers/auth.json` on macOS and Windows),
 * 3. `$XDG_CONFIG_HOME/containers/auth.json` (default `~/.config/containers/auth.json`),
 * 4. `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`,
 * 5. `~/.dockercfg` (Docker's legacy format).
 *
 * **Within one file**: a `credHelpers` entry for the host decides for that file (its helper is
 * asked; nothing found moves on to the next file); then per-repository `auths` keys
 * (`host/ns/repo`, then `host/ns`: podman's extension, only with `getFor`); then the `credsStore`
 * helper; then the host's `auths` entry (`host`, `https://host`, `http://host/v1/`,
 * `https://index.docker.io/v1/` for Docker Hub all match). Entries hold a base64 `auth`
 * (`user:password`, the password may contain colons), `username`/`password`, an
 * `identitytoken` (refresh token) or a `registrytoken` (bearer token).
 *
 * Files are read on every lookup, so a `docker login` done while the program runs is seen. Every
 * secret is `Redacted` as soon as it is decoded; errors name files and helpers, never their
 * contents or output.
 *
 * @since 0.1.0
 */
import * as CredentialStore from "@ocireg/core/CredentialStore"
import { AuthenticationError } from "@ocireg/core/RegistryError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Os from "node:os"
import * as CredentialHelper from "./internal/credentialHelper.js"
import * as ConfigFile from "./internal/dockerConfigFile.js"
import * as ConfigPaths from "./internal/dockerConfigPaths.js"
import * as ConfigWrite from "./internal/dockerConfigWrite.js"

/**
 * Where to look and how long to wait for a helper.
 *
 * - `env`: the environment to read `REGISTRY_AUTH_FILE`, `XDG_RUNTIME_DIR`, `XDG_CONFIG_HOME`,
 *   `DOCKER_CONFIG` and (for helpers) `PATH` from; default `process.env`. It is also the
 *   environment helpers run with.
 * - `homeDir`: the home directory; default `env.HOME`, else `os.homedir()`.
 * - `helperTimeout`: how long a `docker-credential-*` helper may take; default 10 seconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  readonly homeDir?: string | undefined
  readonly helperTimeout?: Duration.DurationInput | undefined
}

/**
 * Options of `login`: `plaintext: true` allows storing the password (base64, not encrypted) in
 * the config file when no credential helper is configured for the registry.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoginOptions {
  readonly plaintext?: boolean | undefined
}

/**
 * Where `login` stored the credential.
 *
 * @since 0.1.0
 * @category models
 */
export type LoginResult =
  | { readonly _tag: "Helper"; readonly helper: string }
  | { readonly _tag: "File"; readonly path: string }

/**
 * `login` or `logout` could not update the credentials. `reason`:
 * `PlaintextNotAllowed` (no helper configured and `plaintext` not set), `HelperFailed`,
 * `ConfigUnreadable` (the file exists but cannot be read or parsed), `WriteFailed`.
 * Never carries the password or a helper's output.
 *
 * @since 0.1.0
 * @category errors
 */
export class CredentialWriteError extends Schema.TaggedError<CredentialWriteError>()("CredentialWriteError", {
  registry: Schema.String,
  reason: Schema.Literal("PlaintextNotAllowed", "HelperFailed", "ConfigUnreadable", "WriteFailed"),
  file: Schema.optional(Schema.String),
  detail: Schema.optional(Schema.String)
}) {
  /** @since 0.1.0 */
  override get message(): string {
    switch (this.reason) {
      case "PlaintextNotAllowed":
        return `Refusing to store a plaintext password for ${this.registry}: no credential helper is configured for it` +
          ` in ${this.file ?? "the Docker config"}. Configure "credsStore" or "credHelpers" there, or pass` +
          ` { plaintext: true } to store the password base64-encoded (not encrypted) in that file.`
      case "HelperFailed":
        return `Cannot update credentials for ${this.registry}: ${this.detail ?? "the credential helper failed"}`
      case "ConfigUnreadable":
      case "WriteFailed":
        return `Cannot update credentials for ${this.registry}: ${this.detail ?? `${this.file} cannot be used`}`
    }
  }
}

/**
 * The store: the `CredentialStore` service (`get` reads host-level keys only) plus `getFor`
 * (per-repository keys too), `login`, `logout`, and the files it reads.
 *
 * @since 0.1.0
 * @category models
 */
export interface DockerCredentialStore {
  /** The credential for a registry host; `None` is anonymous. */
  readonly get: (registry: string) => Effect.Effect<Option.Option<CredentialStore.Credential>, AuthenticationError>
  /** The credential for a repository of a registry: `host/ns/repo` and `host/ns` keys win over the host's. */
  readonly getFor: (
    registry: string,
    repository: string
  ) => Effect.Effect<Option.Option<CredentialStore.Credential>, AuthenticationError>
  /** Store a credential: in the configured helper, else (with `plaintext: true`) in the config file. */
  readonly login: (
    registry: string,
    username: string,
    password: Redacted.Redacted<string> | string,
    options?: LoginOptions
  ) => Effect.Effect<LoginResult, CredentialWriteError>
  /** Remove the host's credential from the configured helper and the config file; `true` if any was there. */
  readonly logout: (registry: string) => Effect.Effect<boolean, CredentialWriteError>
  /** The files lookups read, in order (they need not exist). */
  readonly files: () => ReadonlyArray<string>
  /** The file `login` and `logout` update: `$REGISTRY_AUTH_FILE` if set, else Docker's `config.json`. */
  readonly loginFile: () => string
}

const defaultHelperTimeout = Duration.seconds(10)

/**
 * The server URL a helper is asked about: Docker Hub's legacy `https://index.docker.io/v1/`, as
 * `docker` uses, otherwise the host.
 *
 * @since 0.1.0
 * @category utils
 */
export const helperServerUrl = (registry: string): string => {
  const host = CredentialStore.normalizeRegistryKey(registry)
  return host === "docker.io" ? "https://index.docker.io/v1/" : host
}

const fileKey = helperServerUrl

const settingsOf = (options: Options): ConfigPaths.Settings => {
  const env = options.env ?? process.env
  return {
    env,
    homeDir: options.homeDir ?? (options.env?.HOME || Os.homedir()),
    platform: process.platform,
    uid: typeof process.getuid === "function" ? process.getuid() : undefined
  }
}

const fromHelper = (credential: CredentialHelper.HelperCredential): CredentialStore.Credential =>
  credential.username === "<token>"
    ? CredentialStore.identityToken(credential.secret)
    : CredentialStore.basic(credential.username, credential.secret)

/**
 * Build the store. Nothing is read until a lookup runs.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): DockerCredentialStore => {
  const settings = settingsOf(options)
  const helperOptions: CredentialHelper.RunOptions = {
    env: settings.env,
    timeout: options.helperTimeout === undefined ? defaultHelperTimeout : Duration.decode(options.helperTimeout)
  }

  const lookupFailed = (host: string) => (error: ConfigFile.ConfigFileError | CredentialHelper.HelperError) =>
    new AuthenticationError({ registry: host, reason: "CredentialLookupFailed", detail: error.message })

  const askHelper = (helper: string, host: string) =>
    CredentialHelper.get(helper, helperServerUrl(host), helperOptions).pipe(Effect.map(Option.map(fromHelper)))

  const lookup = (
    registry: string,
    repository: string | undefined
  ): Effect.Effect<Option.Option<CredentialStore.Credential>, AuthenticationError> => {
    const host = CredentialStore.normalizeRegistryKey(registry)
    return Effect.gen(function*() {
      for (const file of ConfigPaths.authFiles(settings)) {
        const parsed = yield* ConfigFile.read(file)
        if (Option.isNone(parsed)) continue
        const config = parsed.value
        const helper = config.credHelpers.get(host)
        if (helper !== undefined) {
          const found = yield* askHelper(helper, host)
          if (Option.isSome(found)) return found
          continue
        }
        if (repository !== undefined) {
          const found = yield* ConfigFile.repositoryCredential(config, host, repository)
          if (Option.isSome(found)) return found
        }
        if (config.credsStore !== undefined) {
          const found = yield* askHelper(config.credsStore, host)
          if (Option.isSome(found)) return found
        }
        const found = yield* ConfigFile.hostCredential(config, host)
        if (Option.isSome(found)) return found
      }
      return Option.none<CredentialStore.Credential>()
    }).pipe(
      Effect.mapError(lookupFailed(host)),
      Effect.withSpan("DockerCredentialStore.get", {
        attributes: repository === undefined ? { registry: host } : { registry: host, repository }
      })
    )
  }

  const writeTarget = () => ConfigPaths.loginFile(settings)

  const writeFailed = (host: string) =>
  (
    error: ConfigFile.ConfigFileError | ConfigWrite.WriteError | CredentialHelper.HelperError
  ): CredentialWriteError =>
    new CredentialWriteError({
      registry: host,
      reason: error._tag === "HelperError"
        ? "HelperFailed"
        : error._tag === "WriteError"
        ? "WriteFailed"
        : "ConfigUnreadable",
      ...(error._tag === "HelperError" ? {} : { file: error.path }),
      detail: error.message
    })

  const configuredHelper = (path: string, host: string) =>
    Effect.map(
      ConfigFile.read({ path, legacy: false }),
      Option.flatMap((config) => Option.fromNullable(config.credHelpers.get(host) ?? config.credsStore))
    )

  const removeHostKeys = (json: ConfigWrite.JsonObject, host: string): boolean => {
    if (!ConfigWrite.isJsonObject(json.auths)) return false
    let removed = false
    for (const key of Object.keys(json.auths)) {
      const scope = ConfigFile.classifyKey(key, false)
      if (scope._tag === "Host" && scope.host === host) {
        delete json.auths[key]
        removed = true
      }
    }
    return removed
  }

  const login: DockerCredentialStore["login"] = (registry, username, password, loginOptions = {}) => {
    const host = CredentialStore.normalizeRegistryKey(registry)
    const secret = Redacted.isRedacted(password) ? password : Redacted.make(password)
    return Effect.gen(function*() {
      const path = writeTarget()
      const helper = yield* configuredHelper(path, host)
      if (Option.isSome(helper)) {
        yield* CredentialHelper.store(
          helper.value,
          { serverUrl: helperServerUrl(host), username, secret },
          helperOptions
        )
        return { _tag: "Helper", helper: helper.value } as const
      }
      if (loginOptions.plaintext !== true) {
        return yield* new CredentialWriteError({ registry: host, reason: "PlaintextNotAllowed", file: path })
      }
      yield* ConfigWrite.update(path, (json) => {
        removeHostKeys(json, host)
        const auths = ConfigWrite.isJsonObject(json.auths) ? json.auths : {}
        auths[fileKey(host)] = {
          auth: Buffer.from(`${username}:${Redacted.value(secret)}`, "utf8").toString("base64")
        }
        json.auths = auths
        return { changed: true, result: undefined }
      })
      return { _tag: "File", path } as const
    }).pipe(
      Effect.catchTags({
        ConfigFileError: (error) => Effect.fail(writeFailed(host)(error)),
        WriteError: (error) => Effect.fail(writeFailed(host)(error)),
        HelperError: (error) => Effect.fail(writeFailed(host)(error))
      }),
      Effect.withSpan("DockerCredentialStore.login", { attributes: { registry: host } })
    )
  }

  const logout: DockerCredentialStore["logout"] = (registry) => {
    const host = CredentialStore.normalizeRegistryKey(registry)
    return Effect.gen(function*() {
      const path = writeTarget()
      const helper = yield* configuredHelper(path, host)
      const erased = Option.isSome(helper)
        ? yield* CredentialHelper.erase(helper.value, helperServerUrl(host), helperOptions)
        : false
      const removed = yield* ConfigWrite.update(path, (json) => {
        const changed = removeHostKeys(json, host)
        return { changed, result: changed }
      })
      return erased || removed
    }).pipe(
      Effect.catchTags({
        ConfigFileError: (error) => Effect.fail(writeFailed(host)(error)),
        WriteError: (error) => Effect.fail(writeFailed(host)(error)),
        HelperError: (error) => Effect.fail(writeFailed(host)(error))
      }),
      Effect.withSpan("DockerCredentialStore.logout", { attributes: { registry: host } })
    )
  }

  return {
    get: (registry) => lookup(registry, undefined),
    getFor: (registry, repository) => lookup(registry, repository),
    login,
    logout,
    files: () => ConfigPaths.authFiles(settings).map((file) => file.path),
    loginFile: writeTarget
  }
}

/**
 * The `CredentialStore` layer over Docker's and Podman's credential files and helpers.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<CredentialStore.CredentialStore> =>
  Layer.sync(CredentialStore.CredentialStore, () => {
    const store = make(options)
    return CredentialStore.make(store.get)
  })

/**
 * Look up the credential for a repository (`getFor` of `make(options)`): per-repository keys
 * (`host/ns/repo`, `host/ns`) win over the host's. The core `CredentialStore` service only passes
 * a host, so the layer's `get` cannot see per-repository keys.
 *
 * @since 0.1.0
 * @category lookups
 */
export const getFor = (
  registry: string,
  repository: string,
  options: Options = {}
): Effect.Effect<Option.Option<CredentialStore.Credential>, AuthenticationError> =>
  Effect.suspend(() => make(options).getFor(registry, repository))

/**
 * Store a credential for a registry (`docker login`): through the `credHelpers` entry for the
 * host or the `credsStore` helper of the login file; without a helper, into the file's `auths`
 * only when `plaintext: true`, else fail with `CredentialWriteError` (`PlaintextNotAllowed`).
 *
 * @since 0.1.0
 * @category writes
 */
export const login = (
  registry: string,
  username: string,
  password: Redacted.Redacted<string> | string,
  options: Options & LoginOptions = {}
): Effect.Effect<LoginResult, CredentialWriteError> =>
  Effect.suspend(() => make(options).login(registry, username, password, options))

/**
 * Remove the credential for a registry (`docker logout`) from the configured helper and from the
 * login file's `auths` (host-level keys). Succeeds with `false` when there was nothing to remove.
 * Files other than the login file (podman's `auth.json`) are left alone.
 *
 * @since 0.1.0
 * @category writes
 */
export const logout = (registry: string, options: Options = {}): Effect.Effect<boolean, CredentialWriteError> =>
  Effect.suspend(() => make(options).logout(registry))

/**
 * The files a lookup reads with these options, in order of precedence (they need not exist).
 *
 * @since 0.1.0
 * @category utils
 */
export const authFiles = (options: Options = {}): ReadonlyArray<string> => make(options).files()
