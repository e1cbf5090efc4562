/**
 * Whole-image operations against two real registries: copy between them and within one (mount),
 * a platform's image, all tags, referrers; pull, push, tag and inspect; skopeo interop both ways.
 */
import { assert, it } from "@effect/vitest"
import * as BlobSource from "@ocireg/core/BlobSource"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import type * as Digest from "@ocireg/core/Digest"
import * as Image from "@ocireg/core/Image"
import * as MediaType from "@ocireg/core/MediaType"
import * as Registry from "@ocireg/core/Registry"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import {
  describeIntegration,
  type RunningRegistry,
  type SeededImage,
  seedImage,
  skopeoCopy,
  skopeoInspect,
  startRegistry,
  startTokenServer,
  type TokenServer
} from "../../../../test-support/index.js"

const users = { alice: "alice-password" }
let source: RunningRegistry
let target: RunningRegistry
let tokens: TokenServer
let multi: SeededImage

const layer = () =>
  NodeRegistry.layer().pipe(Layer.provide(CredentialStore.layerStatic({
    [target.host]: CredentialStore.basic("alice", Redacted.make(users.alice))
  })))

const manifestDigest = (ref: string) => Effect.map(Registry.headManifest(ref), (h) => h.digest)

describeIntegration("Image against two docker-registry instances", ["docker-registry", "skopeo", "openssl"], () => {
  beforeAll(async () => {
    tokens = await startTokenServer({ users })
    source = await startRegistry({ auth: "none" })
    target = await startRegistry({ auth: "token", tokenServer: tokens })
    multi = await seedImage(source, "team/multi", "v1", {
      platforms: ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"],
      layers: 2,
      layerSize: 200_000
    })
    await seedImage(source, "team/multi", "v2", { layers: 1, layerSize: 1000 })
  }, 120_000)

  afterAll(async () => {
    await source?.stop()
    await target?.stop()
    await tokens?.stop()
  })

  it.effect("copies a multi-platform index to another registry with identical digests, then skips what exists", () =>
    Effect.gen(function*() {
      const first = yield* Image.copy(multi.reference, `${target.host}/copied/multi:v1`)
      assert.strictEqual(first.digest, multi.root.digest)
      assert.strictEqual(first.manifests, 4, "three images and the index")
      assert.strictEqual(first.blobs.uploaded, 9, "three configs and six layers")
      assert.strictEqual(yield* manifestDigest(`${target.host}/copied/multi:v1`), multi.root.digest)
      for (const child of multi.manifests) {
        assert.strictEqual(
          yield* manifestDigest(`${target.host}/copied/multi@${child.descriptor.digest}`),
          child.descriptor.digest
        )
      }
      const second = yield* Image.copy(multi.reference, `${target.host}/copied/multi:v1`)
      assert.deepStrictEqual(second.blobs, { uploaded: 0, mounted: 0, existed: 9 })
      const creds = { username: "alice", password: users.alice }
      const inspected = yield* Effect.promise(() =>
        skopeoInspect(`docker://${target.host}/copied/multi:v1`, { raw: true, creds })
      )
      assert.strictEqual(
        `sha256:${crypto.createHash("sha256").update(inspected.stdout).digest("hex")}`,
        multi.root.digest
      )
    }).pipe(Effect.provide(layer())))

  it.effect("reports each blob's progress to onEvent", () =>
    Effect.gen(function*() {
      const events: Array<Image.TransferEvent> = []
      const result = yield* Image.copy(multi.reference, `${target.host}/events/multi:v1`, {
        onEvent: (event) => Effect.sync(() => events.push(event))
      })
      const finished = events.filter((e) => e._tag === "BlobFinished")
      assert.strictEqual(finished.length, 9)
      assert.strictEqual(finished.filter((e) => e.outcome === "uploaded").length, result.blobs.uploaded)
      for (const done of finished) {
        const progress = events.filter((e) => e._tag === "BlobProgress" && e.digest === done.digest)
        const last = progress[progress.length - 1]
        assert.strictEqual(last?._tag === "BlobProgress" ? last.sent : 0, done.outcome === "uploaded" ? done.size : 0)
      }
    }).pipe(Effect.provide(layer())))

  it.effect("mounts blobs when copying within one registry", () =>
    Effect.gen(function*() {
      const result = yield* Image.copy(multi.reference, `${source.host}/other/multi:v1`)
      assert.strictEqual(result.blobs.mounted, 9)
      assert.strictEqual(result.bytesUploaded, 0)
      assert.strictEqual(yield* manifestDigest(`${source.host}/other/multi:v1`), multi.root.digest)
    }).pipe(Effect.provide(layer())))

  it.effect("copies one platform's image, keeping its digest", () =>
    Effect.gen(function*() {
      const arm = multi.manifests.find((m) => m.platform?.architecture === "arm64")!
      const result = yield* Image.copy(multi.reference, `${target.host}/arm/only:v1`, { platform: "linux/arm64" })
      assert.strictEqual(result.digest, arm.descriptor.digest)
      assert.strictEqual(yield* manifestDigest(`${target.host}/arm/only:v1`), arm.descriptor.digest)
    }).pipe(Effect.provide(layer())))

  it.effect("copies every tag", () =>
    Effect.gen(function*() {
      const results = yield* Image.copyAllTags(`${source.host}/team/multi`, `${target.host}/alltags/multi`)
      assert.deepStrictEqual(results.map((r) => r.tag), ["v1", "v2"])
      assert.deepStrictEqual(yield* Registry.listAllTags(`${target.host}/alltags/multi`), ["v1", "v2"])
    }).pipe(Effect.provide(layer())))

  it.effect("pulls one platform's layers as verified streams", () =>
    Effect.gen(function*() {
      const pulled = yield* Image.pull(multi.reference, { platform: "linux/arm/v7" })
      const expected = multi.manifests.find((m) => m.platform?.architecture === "arm")!
      assert.strictEqual(pulled.image.digest, expected.descriptor.digest)
      assert.strictEqual(pulled.config.architecture, "arm")
      for (const [i, layerStream] of pulled.layerStreams.entries()) {
        const bytes = Buffer.concat(Chunk.toArray(yield* Stream.runCollect(layerStream.stream)))
        assert.isTrue(bytes.equals(Buffer.from(expected.layers[i]!.bytes)))
      }
      const missing = yield* Effect.flip(Image.resolve(multi.reference, { platform: "windows/amd64" }))
      assert.strictEqual(missing._tag, "InvalidManifest")
      assert.include(missing.message, "linux/arm64")
    }).pipe(Effect.provide(layer())))

  it.effect("inspects an index and its chosen platform", () =>
    Effect.gen(function*() {
      const report = yield* Image.inspect(multi.reference, { platform: "linux/arm64" })
      assert.strictEqual(report.digest, multi.root.digest)
      assert.strictEqual(report.mediaType, MediaType.ociIndex)
      assert.deepStrictEqual(report.platforms.map((p) => p.platform), ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"])
      assert.strictEqual(report.image?.platform, "linux/arm64/v8")
      assert.strictEqual(report.image?.layers.length, 2)
    }).pipe(Effect.provide(layer())))

  it.effect("tags an existing manifest without moving blobs", () =>
    Effect.gen(function*() {
      const result = yield* Image.tag(multi.reference, "stable")
      assert.strictEqual(result.digest, multi.root.digest)
      assert.deepStrictEqual([...(yield* Registry.listAllTags(`${source.host}/team/multi`))].sort(), [
        "stable",
        "v1",
        "v2"
      ])
    }).pipe(Effect.provide(layer())))

  it.effect("pushes an image that skopeo then copies and verifies", () =>
    Effect.gen(function*() {
      const layerSource = yield* BlobSource.fromBytes(crypto.randomBytes(100_000))
      const config = yield* BlobSource.fromBytes(new TextEncoder().encode(JSON.stringify({
        architecture: "amd64",
        os: "linux",
        rootfs: { type: "layers", diff_ids: [layerSource.digest] }
      })))
      const manifest = new TextEncoder().encode(JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: config.digest, size: config.size },
        layers: [{ mediaType: MediaType.ociLayerTar, digest: layerSource.digest, size: layerSource.size }]
      }))
      const pushed = yield* Image.push(`${target.host}/pushed/app:v1`, {
        blobs: [layerSource, config],
        manifest: { bytes: manifest }
      })
      const dir = path.join(target.dir, "skopeo-oci")
      yield* Effect.promise(() =>
        skopeoCopy(`docker://${target.host}/pushed/app:v1`, `oci:${dir}:v1`, {
          srcCreds: { username: "alice", password: users.alice },
          preserveDigests: true
        })
      )
      const index = JSON.parse(yield* Effect.promise(() => fs.readFile(path.join(dir, "index.json"), "utf8")))
      assert.strictEqual(index.manifests[0].digest as Digest.Digest, pushed.digest)
    }).pipe(Effect.provide(layer())))
})
