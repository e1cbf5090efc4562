/**
 * Everything a browser program needs to run ocireg's operations: the fetch-based `HttpClient`
 * (fetch follows redirects itself and drops `Authorization` across origins), an incremental
 * sha256 for streaming verification, and the `RegistryClient` on top. Credentials come from the
 * `CredentialStore` the program provides.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as CredentialStore from "@ocireg/core/CredentialStore"
import type { Hasher } from "@ocireg/core/Digest"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as Layer from "effect/Layer"
import * as BrowserHasher from "./BrowserHasher.js"

/**
 * `RegistryClient` and `Hasher` for browsers. Needs a `CredentialStore`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: RegistryClient.Options = {}
): Layer.Layer<RegistryClient.RegistryClient | Hasher, never, CredentialStore.CredentialStore> =>
  Layer.merge(
    RegistryClient.layer(options).pipe(Layer.provide(FetchHttpClient.layer)),
    BrowserHasher.layer
  )
