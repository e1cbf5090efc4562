/**
 * Everything a browser program needs to run ocireg's operations: the fetch-based `HttpClient`
 * (fetch follows redirects itself and drops `Authorization` across origins), an incremental
 * sha256 for streaming verification, and the `RegistryClient` on top. Uploads go as byte arrays,
 * 8 MiB chunk by chunk, since Chromium cannot stream a request body over HTTP/1.1. Credentials come from the
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
    RegistryClient.layer({ streamingUploads: false, chunkSize: 8 * 1024 * 1024, ...options }).pipe(
      Layer.provide(FetchHttpClient.layer)
    ),
    BrowserHasher.layer
  )
