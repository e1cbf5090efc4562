/**
 * The Promise facade (`@ocireg/core/Promise`) ready for Node: `createClient(options)` builds it
 * on `NodeRegistry.layer` (undici HTTP, `node:crypto` hashing) with the credentials you give, or
 * else the ones Docker and Podman users already have (`DockerCredentialStore`).
 *
 * @example
 * ```ts
 * import { createClient } from "@ocireg/platform-node/NodePromise"
 *
 * async function main() {
 *   // credentials from ~/.docker/config.json, credential helpers, containers auth.json
 *   const client = createClient()
 *   const tags = await client.listTags("ghcr.io/owner/app")
 *
 *   // or given explicitly (only ever sent to the registry they are listed under)
 *   const ci = createClient({
 *     credentials: { "ghcr.io": { username: "owner", password: process.env.GITHUB_TOKEN ?? "" } }
 *   })
 *   const manifest = await ci.getManifest("ghcr.io/owner/app:1.0")
 *   console.log(tags, manifest.digest)
 *   await Promise.all([client.dispose(), ci.dispose()])
 * }
 * ```
 *
 * @since 0.1.0
 */
import * as CredentialStore from "@ocireg/core/CredentialStore"
import type { Hasher } from "@ocireg/core/Digest"
import * as OciPromise from "@ocireg/core/Promise"
import type * as RegistryClient from "@ocireg/core/RegistryClient"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as DockerCredentialStore from "./DockerCredentialStore.js"
import * as NodeRegistry from "./NodeRegistry.js"

/**
 * A secret given as a plain string or already `Redacted`.
 *
 * @since 0.1.0
 * @category models
 */
export type Secret = string | Redacted.Redacted<string>

/**
 * A credential for one registry host:
 *
 * - `{ username, password }`: Basic credentials (a personal access token goes in `password`),
 *   sent to the registry or exchanged at its token realm;
 * - `{ token }`: a ready registry bearer token, sent as is;
 * - `{ identityToken, username? }`: an OAuth2 refresh token (Docker's `identitytoken`).
 *
 * @since 0.1.0
 * @category models
 */
export type Credential =
  | { readonly username: string; readonly password: Secret }
  | { readonly token: Secret }
  | { readonly identityToken: Secret; readonly username?: string | undefined }

/**
 * Options of `createClient`: every `RegistryClient` option (`insecure`, `userAgent`,
 * `retrySchedule`, `requestTimeout`, `chunkSize`, …) plus where credentials come from.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends RegistryClient.Options, OciPromise.ClientOptions {
  /**
   * Credentials by registry host (`ghcr.io`, `docker.io`, `localhost:5000`). When given, they are
   * the only ones used (`{}` means anonymous everywhere); when absent, Docker's and Podman's
   * configuration is read instead.
   */
  readonly credentials?: Readonly<Record<string, Credential>> | undefined
  /** Where `DockerCredentialStore` looks (environment, home directory, helper timeout). */
  readonly docker?: DockerCredentialStore.Options | undefined
}

const secret = (value: Secret): Redacted.Redacted<string> => Redacted.isRedacted(value) ? value : Redacted.make(value)

/**
 * A facade credential as a core `CredentialStore.Credential` (secrets `Redacted`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const toCredential = (credential: Credential): CredentialStore.Credential => {
  if ("password" in credential) return CredentialStore.basic(credential.username, secret(credential.password))
  if ("identityToken" in credential) {
    return CredentialStore.identityToken(secret(credential.identityToken), credential.username)
  }
  return CredentialStore.bearerToken(secret(credential.token))
}

/**
 * The credential store `createClient` uses: `CredentialStore.layerStatic` over `credentials`
 * when given, else `DockerCredentialStore.layer(docker)`.
 *
 * @since 0.1.0
 * @category layers
 */
export const credentialLayer = (
  options: Pick<Options, "credentials" | "docker"> = {}
): Layer.Layer<CredentialStore.CredentialStore> =>
  options.credentials !== undefined
    ? CredentialStore.layerStatic(
      Object.fromEntries(Object.entries(options.credentials).map(([host, c]) => [host, toCredential(c)]))
    )
    : DockerCredentialStore.layer(options.docker)

/**
 * `NodeRegistry.layer` with the credential store of `credentialLayer`: what `createClient` runs on.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<RegistryClient.RegistryClient | Hasher> => {
  const { credentials, docker, memoMap: _memoMap, ...clientOptions } = options
  return NodeRegistry.layer(clientOptions).pipe(Layer.provide(credentialLayer({ credentials, docker })))
}

/**
 * A Promise client for Node. Dispose it when done (`await client.dispose()` or `await using`)
 * to close its connections.
 *
 * @since 0.1.0
 * @category constructors
 */
export const createClient = (options: Options = {}): OciPromise.RegistryClientPromise =>
  OciPromise.createClient(layer(options), { memoMap: options.memoMap })

/**
 * Whether a value is one of ocireg's errors, optionally of a given `_tag` (re-exported from
 * `@ocireg/core/Promise`).
 *
 * @since 0.1.0
 * @category refinements
 */
export const isRegistryError: typeof OciPromise.isRegistryError = OciPromise.isRegistryError

/**
 * Whether a rejection is an abort (re-exported from `@ocireg/core/Promise`).
 *
 * @since 0.1.0
 * @category refinements
 */
export const isAbortError: typeof OciPromise.isAbortError = OciPromise.isAbortError

/**
 * The client `createClient` returns (see `@ocireg/core/Promise`).
 *
 * @since 0.1.0
 * @category models
 */
export type RegistryClientPromise = OciPromise.RegistryClientPromise
