/**
 * An in-memory registry for the tests of the CLI's library modules, with helpers that store
 * small images straight into it.
 */
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as MediaType from "@ocireg/core/MediaType"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { sha256Hex, TestHasher } from "../support/fakeRegistry.js"

/** The client over one in-memory registry (`registry.test`), the registry itself, and a hasher. */
export const inMemory = (options: RegistryTest.Options = {}) =>
  RegistryClient.layer().pipe(
    Layer.provideMerge(RegistryTest.layer(options)),
    Layer.provide(CredentialStore.layerAnonymous),
    Layer.provideMerge(TestHasher)
  )

/** JSON bytes. */
export const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

/** What `storeImage` stored. */
export interface Stored {
  readonly digest: string
  readonly manifest: Uint8Array
  readonly config: Uint8Array
  readonly layers: ReadonlyArray<Uint8Array>
}

/**
 * Store an OCI image (a config and `layers` small layers) in `repository` under `tag`.
 */
export const storeImage = (
  repository: string,
  tag: string | undefined,
  options: {
    readonly created?: string
    readonly architecture?: string
    readonly layers?: ReadonlyArray<string>
    readonly annotations?: Record<string, string>
  } = {}
) =>
  Effect.gen(function*() {
    const registry = yield* RegistryTest.TestRegistry
    const layers = (options.layers ?? ["layer of " + repository + ":" + tag]).map((text) =>
      new TextEncoder().encode(text)
    )
    const layerDigests = layers.map((bytes) => registry.putBlob(repository, bytes))
    const config = encode({
      architecture: options.architecture ?? "amd64",
      os: "linux",
      ...(options.created ? { created: options.created } : {}),
      rootfs: { type: "layers", diff_ids: layerDigests },
      config: {}
    })
    const configDigest = registry.putBlob(repository, config)
    const manifest = encode({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configDigest, size: config.length },
      layers: layers.map((bytes, i) => ({
        mediaType: MediaType.ociLayerTar,
        digest: layerDigests[i],
        size: bytes.length
      })),
      ...(options.annotations ? { annotations: options.annotations } : {})
    })
    const digest = registry.putManifest(
      repository,
      tag ?? `sha256:${sha256Hex(manifest)}`,
      manifest,
      MediaType.ociManifest
    )
    return { digest, manifest, config, layers } satisfies Stored
  })
