/**
 * Everything a Node program needs to run ocireg's operations: ocireg's own `node:http` client
 * (`NodeHttpClient`: keep-alive for every method, large response pieces, streamed uploads with
 * their `Content-Length`, no redirects behind our back), the `node:crypto` hasher, and the
 * `RegistryClient` on top. Credentials come from the `CredentialStore` the program provides, so
 * tests and apps can swap it. `layerWithoutHttp` leaves the `HttpClient` to the program.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as CredentialStore from "@ocireg/core/CredentialStore"
import type { Hasher } from "@ocireg/core/Digest"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as DockerCredentialStore from "./DockerCredentialStore.js"
import * as NodeHasher from "./NodeHasher.js"
import * as NodeHttpClient from "./NodeHttpClient.js"

/**
 * Options of `layer`: the `RegistryClient` options, and which `HttpClient` to use.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends RegistryClient.Options {
  /**
   * `"node"` (default): ocireg's `NodeHttpClient`. `"platform"`: `@effect/platform-node`'s
   * undici client (`NodeHttpClient.layerUndici`), as before.
   */
  readonly http?: "node" | "platform" | undefined
  /**
   * Options of ocireg's `NodeHttpClient` (TLS, socket limits and timeouts). Hosts in `insecure`
   * are added to its `insecureHosts`: when they speak HTTPS, their certificates are not verified.
   */
  readonly httpOptions?: NodeHttpClient.Options | undefined
}

/**
 * `RegistryClient` and `Hasher` for Node on an `HttpClient` the program provides (its own, a
 * proxy-aware one, `RegistryTest`'s). Needs `HttpClient` and a `CredentialStore`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithoutHttp = (
  options: RegistryClient.Options = {}
): Layer.Layer<
  RegistryClient.RegistryClient | Hasher,
  never,
  HttpClient.HttpClient | CredentialStore.CredentialStore
> => RegistryClient.layer(options).pipe(Layer.provideMerge(NodeHasher.layer))

/**
 * The `HttpClient` that `layer` uses for these options.
 *
 * @since 0.1.0
 * @category layers
 */
export const httpLayer = (options: Options = {}): Layer.Layer<HttpClient.HttpClient> =>
  options.http === "platform"
    // imported when asked for: loading undici cost every program ~150 ms that does not use it
    ? Layer.unwrapEffect(
      Effect.map(Effect.promise(() => import("@effect/platform-node/NodeHttpClient")), (m) => m.layerUndici)
    )
    : NodeHttpClient.layer({
      ...options.httpOptions,
      insecureHosts: [...(options.httpOptions?.insecureHosts ?? []), ...(options.insecure ?? [])]
    })

/**
 * `RegistryClient` and `Hasher` for Node, with ocireg's `NodeHttpClient` (or, with
 * `http: "platform"`, `@effect/platform-node`'s undici client). Needs a `CredentialStore`
 * (`CredentialStore.layerAnonymous`, `layerStatic`, …).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<RegistryClient.RegistryClient | Hasher, never, CredentialStore.CredentialStore> =>
  layerWithoutHttp(options).pipe(Layer.provide(httpLayer(options)))

/**
 * `layer` with the credentials Docker and Podman users already have (`DockerCredentialStore`:
 * `config.json`, credential helpers, containers `auth.json`). The usual choice for applications
 * and the CLI; tests use `layer` with a store of their own.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDocker = (
  options: Options & { readonly credentials?: DockerCredentialStore.Options | undefined } = {}
): Layer.Layer<RegistryClient.RegistryClient | Hasher> =>
  layer(options).pipe(Layer.provide(DockerCredentialStore.layer(options.credentials)))
