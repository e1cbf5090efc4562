/**
 * Everything a Node program needs to run ocireg's operations: the undici-based `HttpClient`
 * (keeps `Content-Length` on streamed uploads, never follows redirects behind our back), the
 * `node:crypto` hasher, and the `RegistryClient` on top. Credentials come from the
 * `CredentialStore` the program provides, so tests and apps can swap it.
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as CredentialStore from "@ocireg/core/CredentialStore"
import type { Hasher } from "@ocireg/core/Digest"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as Layer from "effect/Layer"
import * as DockerCredentialStore from "./DockerCredentialStore.js"
import * as NodeHasher from "./NodeHasher.js"

/**
 * `RegistryClient` and `Hasher` for Node. Needs a `CredentialStore`
 * (`CredentialStore.layerAnonymous`, `layerStatic`, …).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: RegistryClient.Options = {}
): Layer.Layer<RegistryClient.RegistryClient | Hasher, never, CredentialStore.CredentialStore> =>
  Layer.merge(
    RegistryClient.layer(options).pipe(Layer.provide(NodeHttpClient.layerUndici)),
    NodeHasher.layer
  )

/**
 * `layer` with the credentials Docker and Podman users already have (`DockerCredentialStore`:
 * `config.json`, credential helpers, containers `auth.json`). The usual choice for applications
 * and the CLI; tests use `layer` with a store of their own.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDocker = (
  options: RegistryClient.Options & { readonly credentials?: DockerCredentialStore.Options | undefined } = {}
): Layer.Layer<RegistryClient.RegistryClient | Hasher> =>
  layer(options).pipe(Layer.provide(DockerCredentialStore.layer(options.credentials)))
