/**
 * The write path and whole-image operations against RegistryTest, the in-memory registry:
 * uploads in every mode, mounts, manifests with subjects (referrers API and fallback), deletes,
 * and copies between two registries with referrers.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as BlobSource from "@ocireg/core/BlobSource"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import type * as Digest from "@ocireg/core/Digest"
import * as Image from "@ocireg/core/Image"
import * as MediaType from "@ocireg/core/MediaType"
import * as Registry from "@ocireg/core/Registry"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { TestHasher } from "./support/fakeRegistry.js"

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))
const random = (size: number) => {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 2654435761) >>> 24
  return bytes
}

/** The client over one in-memory registry, and the registry for inspection. */
const inMemory = (options: RegistryTest.Options = {}, client: RegistryClient.Options = {}) =>
  Layer.mergeAll(
    RegistryClient.layer(client).pipe(
      Layer.provideMerge(RegistryTest.layer(options)),
      Layer.provide(CredentialStore.layerAnonymous)
    ),
    TestHasher
  ).pipe(Layer.provideMerge(TestHasher))

const collect = <E, R>(stream: Stream.Stream<Uint8Array, E, R>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => {
    const all = Chunk.toArray(chunks)
    const out = new Uint8Array(all.reduce((n, b) => n + b.length, 0))
    let offset = 0
    for (const b of all) {
      out.set(b, offset)
      offset += b.length
    }
    return out
  })

const image = (layerSize: number, extra: Record<string, unknown> = {}) =>
  Effect.gen(function*() {
    const layer = yield* BlobSource.fromBytes(random(layerSize))
    const config = yield* BlobSource.fromBytes(
      encode({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [layer.digest] } })
    )
    const manifest = encode({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: config.digest, size: config.size },
      layers: [{ mediaType: MediaType.ociLayerTar, digest: layer.digest, size: layer.size }],
      ...extra
    })
    return { layer, config, manifest }
  })

const artifact = (subject: { digest: string; size: number }, artifactType: string, empty: BlobSource.BlobSource) =>
  encode({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType,
    config: { mediaType: MediaType.ociEmpty, digest: empty.digest, size: empty.size },
    layers: [{ mediaType: MediaType.ociEmpty, digest: empty.digest, size: empty.size }],
    subject: { mediaType: MediaType.ociManifest, digest: subject.digest, size: subject.size }
  })

describe("uploads against RegistryTest", () => {
  it.effect("uploads monolithically, in chunks (respecting OCI-Chunk-Min-Length), and as byte arrays", () =>
    Effect.gen(function*() {
      const registry = yield* RegistryTest.TestRegistry
      const small = yield* BlobSource.fromBytes(random(10_000))
      assert.strictEqual((yield* Registry.uploadBlob("registry.test/up/app", small)).outcome, "uploaded")
      const big = yield* BlobSource.fromBytes(random(300_000))
      yield* Registry.uploadBlob("registry.test/up/app", big, { chunkSize: 50_000 })
      const patches = registry.requests().filter((r) => r.method === "PATCH")
      assert.strictEqual(patches.length, 3, "three chunks of 100 000 (the registry's minimum), not six of 50 000")
      assert.deepStrictEqual(yield* collect(Registry.getBlob("registry.test/up/app", big)), random(300_000))
      assert.strictEqual((yield* Registry.uploadBlob("registry.test/up/app", big)).outcome, "exists")
    }).pipe(Effect.provide(inMemory({ chunkMinLength: 100_000 }))))

  it.effect("by default sends a large streamed blob as one PUT, as skopeo and crane do", () =>
    Effect.gen(function*() {
      const registry = yield* RegistryTest.TestRegistry
      const client = yield* RegistryClient.RegistryClient
      assert.strictEqual(client.options.chunkSize, Infinity)
      const bytes = random(20 * 1024 * 1024)
      const big = yield* BlobSource.fromBytes(bytes)
      const oneShot = BlobSource.fromStream({
        digest: big.digest,
        size: big.size,
        stream: Stream.fromIterable([bytes.subarray(0, 1 << 20), bytes.subarray(1 << 20)])
      })
      assert.strictEqual((yield* Registry.uploadBlob("registry.test/mono/app", oneShot)).outcome, "uploaded")
      const methods = registry.requests().filter((r) => r.path.includes("/blobs/uploads/")).map((r) => r.method)
      assert.deepStrictEqual(methods, ["POST", "PUT"])
      assert.deepStrictEqual(yield* collect(Registry.getBlob("registry.test/mono/app", big)), bytes)
    }).pipe(Effect.provide(inMemory())))

  it.effect("without streaming bodies, uploads above 4 MiB go in 4 MiB chunks by default (GHCR's limit)", () =>
    Effect.gen(function*() {
      const registry = yield* RegistryTest.TestRegistry
      const client = yield* RegistryClient.RegistryClient
      assert.strictEqual(client.options.chunkSize, 4 * 1024 * 1024)
      const source = yield* BlobSource.fromBytes(random(20 * 1024 * 1024))
      yield* Registry.uploadBlob("registry.test/arrays/app", source)
      assert.strictEqual(registry.requests().filter((r) => r.method === "PATCH").length, 5)
    }).pipe(Effect.provide(inMemory({}, { streamingUploads: false }))))

  it.effect("uploads without streaming bodies (the browser mode)", () =>
    Effect.gen(function*() {
      const source = yield* BlobSource.fromBytes(random(70_000))
      yield* Registry.uploadBlob("registry.test/bytes/app", source)
      const chunked = yield* BlobSource.fromBytes(random(170_000))
      yield* Registry.uploadBlob("registry.test/bytes/app", chunked, { chunkSize: 64 * 1024 })
      assert.deepStrictEqual(yield* collect(Registry.getBlob("registry.test/bytes/app", chunked)), random(170_000))
    }).pipe(Effect.provide(inMemory({}, { streamingUploads: false }))))

  it.effect("mounts across repositories, and uploads when the mount is refused", () =>
    Effect.gen(function*() {
      const source = yield* BlobSource.fromBytes(random(5_000))
      yield* Registry.uploadBlob("registry.test/mount/a", source)
      assert.strictEqual(
        (yield* Registry.uploadBlob("registry.test/mount/b", source, { mountFrom: "mount/a" })).outcome,
        "mounted"
      )
      const other = yield* BlobSource.fromBytes(random(6_000))
      const refused = yield* Registry.uploadBlob("registry.test/mount/c", other, { mountFrom: "mount/a" })
      assert.strictEqual(refused.outcome, "uploaded", "not in mount/a: the 202 session is used")
      const mounted = yield* Registry.mountBlob("registry.test/mount/d", source.digest, "mount/a")
      assert.strictEqual(mounted._tag, "Mounted")
    }).pipe(Effect.provide(inMemory())))

  it.effect("reads a source's whole bytes only when the blob must be sent, and sends them without opening it", () =>
    Effect.gen(function*() {
      const bytes = random(70_000)
      const plain = yield* BlobSource.fromBytes(bytes)
      let reads = 0
      let opens = 0
      const source: BlobSource.BlobSource = {
        ...plain,
        open: (offset) => Stream.suspend(() => (opens++, plain.open(offset))),
        whole: Effect.sync(() => (reads++, bytes))
      }
      assert.strictEqual((yield* Registry.uploadBlob("registry.test/whole/a", source)).outcome, "uploaded")
      assert.deepStrictEqual([reads, opens], [1, 0])
      assert.deepStrictEqual(yield* collect(Registry.getBlob("registry.test/whole/a", plain)), bytes)
      assert.strictEqual((yield* Registry.uploadBlob("registry.test/whole/a", source)).outcome, "exists")
      const mounted = yield* Registry.uploadBlob("registry.test/whole/b", source, { mountFrom: "whole/a" })
      assert.strictEqual(mounted.outcome, "mounted")
      assert.deepStrictEqual([reads, opens], [1, 0], "not read for a blob that is there or mounted")
      const chunked = yield* Registry.uploadBlob("registry.test/whole/c", source, { chunkSize: 30_000 })
      assert.strictEqual(chunked.outcome, "uploaded")
      assert.deepStrictEqual([reads, opens], [2, 0])
      assert.deepStrictEqual(yield* collect(Registry.getBlob("registry.test/whole/c", plain)), bytes)
    }).pipe(Effect.provide(inMemory())))

  it.effect("completes a session step by step and reports its status", () =>
    Effect.gen(function*() {
      const bytes = random(1000)
      const source = yield* BlobSource.fromBytes(bytes)
      let session = yield* Registry.startUpload("registry.test/steps/app")
      session = yield* Registry.uploadChunk(session, bytes.subarray(0, 400))
      assert.strictEqual((yield* Registry.getUploadStatus(session)).offset, 400)
      yield* Registry.completeUpload(session, source.digest, bytes.subarray(400))
      const wrong = yield* Registry.startUpload("registry.test/steps/app")
      const error = yield* Effect.flip(Registry.completeUpload(wrong, `sha256:${"0".repeat(64)}`, bytes))
      assert.strictEqual(error._tag, "RegistryResponseError")
    }).pipe(Effect.provide(inMemory())))
})

describe("manifests and referrers against RegistryTest", () => {
  it.effect("uses the referrers API when the registry answers OCI-Subject, with server-side filtering", () =>
    Effect.gen(function*() {
      const registry = yield* RegistryTest.TestRegistry
      const img = yield* image(100)
      yield* Image.push("registry.test/ref/app:v1", {
        blobs: [img.layer, img.config],
        manifest: { bytes: img.manifest }
      })
      const subject = yield* Registry.headManifest("registry.test/ref/app:v1")
      const empty = yield* BlobSource.fromBytes(encode({}))
      yield* Registry.uploadBlob("registry.test/ref/app", empty)
      const sbom = artifact(subject, "application/sbom", empty)
      const pushed = yield* Registry.putManifest("registry.test/ref/app", { bytes: sbom })
      assert.isTrue(Option.isSome(pushed.subject))
      yield* Registry.putManifest("registry.test/ref/app", { bytes: artifact(subject, "application/sig", empty) })
      assert.isFalse(registry.tags("ref/app").has(`sha256-${subject.digest.slice(7)}`), "no fallback tag")
      const sigs = yield* Registry.getReferrers(`registry.test/ref/app@${subject.digest}`, {
        artifactType: "application/sig"
      })
      assert.deepStrictEqual(sigs.map((d) => d.artifactType), ["application/sig"])
    }).pipe(Effect.provide(inMemory())))

  it.effect("maintains the fallback index without duplicates when the registry has no referrers API", () =>
    Effect.gen(function*() {
      const registry = yield* RegistryTest.TestRegistry
      const img = yield* image(100)
      const subject = yield* Image.push("registry.test/fb/app:v1", {
        blobs: [img.layer, img.config],
        manifest: { bytes: img.manifest }
      })
      const empty = yield* BlobSource.fromBytes(encode({}))
      yield* Registry.uploadBlob("registry.test/fb/app", empty)
      const sbom = artifact(subject, "application/sbom", empty)
      yield* Effect.all([
        Registry.putManifest("registry.test/fb/app", { bytes: sbom }),
        Registry.putManifest("registry.test/fb/app", { bytes: artifact(subject, "application/sig", empty) })
      ])
      yield* Registry.putManifest("registry.test/fb/app", { bytes: sbom })
      assert.isTrue(registry.tags("fb/app").has(`sha256-${subject.digest.slice(7)}`))
      const referrers = yield* Registry.getReferrers(`registry.test/fb/app@${subject.digest}`)
      assert.deepStrictEqual(referrers.map((d) => d.artifactType).sort(), ["application/sbom", "application/sig"])
    }).pipe(Effect.provide(inMemory({ referrersApi: false }))))

  it.effect("deletes tags where the registry allows it, and manifests by digest", () =>
    Effect.gen(function*() {
      const registry = yield* RegistryTest.TestRegistry
      const img = yield* image(100)
      yield* Image.push("registry.test/del/app:v1", {
        blobs: [img.layer, img.config],
        manifest: { bytes: img.manifest }
      })
      yield* Image.tag("registry.test/del/app:v1", "v2")
      yield* Registry.deleteTag("registry.test/del/app:v1")
      assert.deepStrictEqual([...registry.tags("del/app").keys()], ["v2"])
      const digest = yield* Registry.deleteManifest("registry.test/del/app:v2")
      assert.isFalse(registry.manifests("del/app").has(digest))
    }).pipe(Effect.provide(inMemory({ tagDelete: true }))))
})

describe("Image.copy between two in-memory registries", () => {
  it.effect("copies an image with its referrers, keeping every digest", () =>
    Effect.gen(function*() {
      const a = yield* RegistryTest.make({})
      const b = yield* RegistryTest.make({ referrersApi: false })
      const clientA = RegistryTest.httpClient(a)
      const clientB = RegistryTest.httpClient(b)
      const routed = HttpClient.make((request, url) => (url.host === "a.test" ? clientA : clientB).execute(request))
      const layer = RegistryClient.layer().pipe(
        Layer.provide(Layer.succeed(HttpClient.HttpClient, routed)),
        Layer.provide(CredentialStore.layerAnonymous)
      )
      yield* Effect.gen(function*() {
        const img = yield* image(2000)
        const subject = yield* Image.push("a.test/src/app:v1", {
          blobs: [img.layer, img.config],
          manifest: { bytes: img.manifest }
        })
        const empty = yield* BlobSource.fromBytes(encode({}))
        yield* Registry.uploadBlob("a.test/src/app", empty)
        const sig = yield* Registry.putManifest("a.test/src/app", {
          bytes: artifact(subject, "application/sig", empty)
        })
        const copied = yield* Image.copy("a.test/src/app:v1", "b.test/dst/app:v1", { referrers: true })
        assert.strictEqual(copied.digest, subject.digest)
        assert.strictEqual(copied.manifests, 2, "the image and its signature")
        const referrers = yield* Registry.getReferrers(`b.test/dst/app@${subject.digest}`)
        assert.deepStrictEqual(referrers.map((d) => d.digest as Digest.Digest), [sig.digest])
        assert.strictEqual(b.tags("dst/app").get("v1"), subject.digest)
      }).pipe(Effect.provide(layer))
    }).pipe(Effect.provide(TestHasher)))
})
