/**
 * What the fault campaign (`world.ts`) and the fault-injection suite (`faults.test.ts`) share:
 * the small test images they push and verify, and the client under test, a `NodeRegistry` layer
 * that records every request it puts on the wire (token fetches included) so a run can prove
 * where credentials went.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as BlobSource from "@ocireg/core/BlobSource"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import type * as Digest from "@ocireg/core/Digest"
import * as Image from "@ocireg/core/Image"
import * as MediaType from "@ocireg/core/MediaType"
import type * as RegistryClient from "@ocireg/core/RegistryClient"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"

/** The `sha256:` digest of `bytes`. */
export const sha256 = (bytes: Uint8Array) =>
  `sha256:${crypto.createHash("sha256").update(bytes).digest("hex")}` as Digest.Digest

/** An image as bytes: its blobs (config first), its manifest and the manifest's digest. */
export interface TestImage {
  readonly blobs: ReadonlyArray<Uint8Array>
  readonly manifest: Uint8Array
  readonly digest: Digest.Digest
}

/** An OCI image with random layers of `layerSizes` bytes and a config naming their diff IDs. */
export const buildImage = (layerSizes: ReadonlyArray<number>): TestImage => {
  const layers = layerSizes.map((n) => crypto.randomBytes(n))
  const config = Buffer.from(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: layers.map(sha256) }
  }))
  const descriptor = (mediaType: string, bytes: Uint8Array) => ({
    mediaType,
    digest: sha256(bytes),
    size: bytes.length
  })
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: descriptor(MediaType.ociConfig, config),
    layers: layers.map((layer) => descriptor(MediaType.ociLayerTar, layer))
  }))
  return { blobs: [config, ...layers], manifest, digest: sha256(manifest) }
}

/** Pushes `image` to `reference` (blobs `concurrency` at a time: 1 keeps a fault schedule's request order). */
export const pushImage = (reference: string, image: TestImage, options: { readonly concurrency?: number } = {}) =>
  Effect.gen(function*() {
    const blobs = yield* Effect.forEach(image.blobs, BlobSource.fromBytes)
    yield* Image.push(reference, { blobs, manifest: { bytes: image.manifest, mediaType: MediaType.ociManifest } }, {
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency })
    })
  })

/** A stream's bytes, whole (test blobs are small). */
export const collect = <E, R>(stream: Stream.Stream<Uint8Array, E, R>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat(Chunk.toArray(chunks)))

/** A request as the client put it on the wire. */
export interface WireRequest {
  readonly method: string
  readonly url: string
  readonly authorization: boolean
}

/**
 * The client under test: `NodeRegistry.layer(options)` with `credentials`, recording in `wire`
 * every request it sends (through `transformClient`, so token fetches too).
 */
export const recordingClient = (
  credentials: Readonly<Record<string, CredentialStore.Credential>>,
  options: RegistryClient.Options
) => {
  const wire: Array<WireRequest> = []
  const layer = NodeRegistry.layer({
    transformClient: (client) =>
      HttpClient.tapRequest(client, (request) =>
        Effect.sync(() => {
          wire.push({
            method: request.method,
            url: request.url,
            authorization: request.headers["authorization"] !== undefined
          })
        })),
    ...options
  }).pipe(Layer.provide(CredentialStore.layerStatic(credentials)))
  return { wire, layer }
}
