/**
 * The write path against the real CNCF registry (`docker-registry`) in its three auth modes:
 * upload sessions step by step, uploadBlob (monolithic, chunked, exists, mount), manifests by tag
 * and digest, deletes, the referrers fallback, and skopeo reading what ocireg pushed.
 */
import { assert, describe, it } from "@effect/vitest"
import * as BlobSource from "@ocireg/core/BlobSource"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import type * as Digest from "@ocireg/core/Digest"
import * as MediaType from "@ocireg/core/MediaType"
import * as Registry from "@ocireg/core/Registry"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import {
  describeIntegration,
  type RunningRegistry,
  skopeoCopy,
  skopeoInspect,
  startRegistry,
  startTokenServer,
  type TokenServer
} from "../../../../test-support/index.js"

const users = { alice: "alice-password" }
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))
const sha256 = (bytes: Uint8Array) =>
  `sha256:${crypto.createHash("sha256").update(bytes).digest("hex")}` as Digest.Digest

interface Mode {
  readonly name: "open" | "basic" | "token"
  readonly registry: RunningRegistry
}

const modes: Array<Mode> = []
let tokens: TokenServer | undefined

const layerFor = (mode: Mode, options: { chunkSize?: number } = {}) =>
  NodeRegistry.layer(options).pipe(
    Layer.provide(CredentialStore.layerStatic(
      mode.name === "open" ? {} : { [mode.registry.host]: CredentialStore.basic("alice", Redacted.make(users.alice)) }
    ))
  )

const collect = <E, R>(stream: Stream.Stream<Uint8Array, E, R>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat(Chunk.toArray(chunks)))

/** A config blob, one random layer, and an image manifest naming them. */
const makeImage = (layerSize: number) =>
  Effect.gen(function*() {
    const layer = yield* BlobSource.fromBytes(crypto.randomBytes(layerSize))
    const config = yield* BlobSource.fromBytes(encode({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [layer.digest] }
    }))
    const manifest = encode({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: config.digest, size: config.size },
      layers: [{ mediaType: MediaType.ociLayerTar, digest: layer.digest, size: layer.size }]
    })
    return { layer, config, manifest }
  })

describeIntegration("write path against docker-registry", ["docker-registry", "skopeo", "openssl"], () => {
  beforeAll(async () => {
    tokens = await startTokenServer({ users })
    modes.push(
      { name: "open", registry: await startRegistry({ auth: "none" }) },
      { name: "basic", registry: await startRegistry({ auth: "basic", users }) },
      { name: "token", registry: await startRegistry({ auth: "token", tokenServer: tokens }) }
    )
  }, 60_000)

  afterAll(async () => {
    for (const mode of modes) await mode.registry.stop()
    await tokens?.stop()
  })

  for (const name of ["open", "basic", "token"] as const) {
    describe(`${name} registry`, () => {
      const mode = () => modes.find((m) => m.name === name)!
      const repo = (r: string) => `${mode().registry.host}/${r}`

      it.effect("runs an upload session step by step", () =>
        Effect.gen(function*() {
          const bytes = crypto.randomBytes(300_000)
          const digest = sha256(bytes)
          let session = yield* Registry.startUpload(repo("steps/app"))
          assert.strictEqual(session.offset, 0)
          session = yield* Registry.uploadChunk(session, bytes.subarray(0, 100_000))
          assert.strictEqual(session.offset, 100_000)
          session = yield* Registry.uploadChunk(session, bytes.subarray(100_000, 200_000))
          const status = yield* Registry.getUploadStatus(session)
          assert.strictEqual(status.offset, 200_000)
          assert.strictEqual(yield* Registry.completeUpload(status, digest, bytes.subarray(200_000)), digest)
          const back = yield* collect(Registry.getBlob(repo("steps/app"), { digest, size: bytes.length }))
          assert.isTrue(back.equals(bytes))

          const abandoned = yield* Registry.startUpload(repo("steps/app"))
          yield* Registry.cancelUpload(abandoned)
          const gone = yield* Effect.flip(Registry.getUploadStatus(abandoned))
          assert.strictEqual(gone._tag === "NotFound" && gone.kind, "upload")
        }).pipe(Effect.provide(layerFor(mode()))))

      it.effect("uploads a blob monolithically, then finds it exists", () =>
        Effect.gen(function*() {
          const source = yield* BlobSource.fromBytes(crypto.randomBytes(200_000))
          assert.strictEqual((yield* Registry.uploadBlob(repo("mono/app"), source)).outcome, "uploaded")
          assert.strictEqual((yield* Registry.uploadBlob(repo("mono/app"), source)).outcome, "exists")
          assert.strictEqual((yield* Registry.headBlob(repo("mono/app"), source.digest)).size, 200_000)
        }).pipe(Effect.provide(layerFor(mode()))))

      it.effect("uploads a blob in chunks from a one-shot stream", () =>
        Effect.gen(function*() {
          const bytes = crypto.randomBytes(1_000_000 + 17)
          const source = BlobSource.fromStream({
            digest: sha256(bytes),
            size: bytes.length,
            stream: Stream.fromIterable(
              Array.from({ length: 40 }, (_, i) => bytes.subarray(i * 25_001, (i + 1) * 25_001))
            )
          })
          const result = yield* Registry.uploadBlob(repo("chunked/app"), source, { chunkSize: 128 * 1024 })
          assert.strictEqual(result.outcome, "uploaded")
          const back = yield* collect(Registry.getBlob(repo("chunked/app"), source))
          assert.isTrue(back.equals(bytes))
        }).pipe(Effect.provide(layerFor(mode()))))

      it.effect("mounts a blob from another repository", () =>
        Effect.gen(function*() {
          const source = yield* BlobSource.fromBytes(crypto.randomBytes(50_000))
          yield* Registry.uploadBlob(repo("mount/source"), source)
          const result = yield* Registry.uploadBlob(repo("mount/target"), source, { mountFrom: "mount/source" })
          assert.strictEqual(result.outcome, "mounted")
          assert.strictEqual((yield* Registry.headBlob(repo("mount/target"), source.digest)).size, 50_000)
        }).pipe(Effect.provide(layerFor(mode()))))

      it.effect("pushes a manifest by tag and by digest, reads it back byte for byte, and deletes", () =>
        Effect.gen(function*() {
          const image = yield* makeImage(10_000)
          yield* Registry.uploadBlob(repo("manifests/app"), image.layer)
          yield* Registry.uploadBlob(repo("manifests/app"), image.config)
          const byTag = yield* Registry.putManifest(repo("manifests/app:v1"), { bytes: image.manifest })
          assert.strictEqual(byTag.digest, sha256(image.manifest))
          const byDigest = yield* Registry.putManifest(repo(`manifests/app@${byTag.digest}`), { bytes: image.manifest })
          assert.strictEqual(byDigest.digest, byTag.digest)
          const back = yield* Registry.getManifest(repo("manifests/app:v1"))
          assert.deepStrictEqual(back.bytes, image.manifest)
          assert.deepStrictEqual(yield* Registry.listAllTags(repo("manifests/app")), ["v1"])

          const wrongDigest = yield* Effect.flip(
            Registry.putManifest(repo(`manifests/app@sha256:${"0".repeat(64)}`), { bytes: image.manifest })
          )
          assert.strictEqual(wrongDigest._tag, "DigestMismatch")

          const deleted = yield* Registry.deleteManifest(repo("manifests/app:v1"))
          assert.strictEqual(deleted, byTag.digest)
          const missing = yield* Effect.flip(Registry.getManifest(repo(`manifests/app@${byTag.digest}`)))
          assert.strictEqual(missing._tag, "NotFound")
          yield* Registry.deleteBlob(repo("manifests/app"), image.layer.digest)
          const blobGone = yield* Effect.flip(Registry.headBlob(repo("manifests/app"), image.layer.digest))
          assert.strictEqual(blobGone._tag, "NotFound")
        }).pipe(Effect.provide(layerFor(mode()))))

      it.effect("refuses a manifest that names a missing blob with a typed error", () =>
        Effect.gen(function*() {
          const image = yield* makeImage(1000)
          const error = yield* Effect.flip(Registry.putManifest(repo("missing/app:v1"), { bytes: image.manifest }))
          assert.strictEqual(error._tag, "RegistryResponseError")
          assert.include(
            error._tag === "RegistryResponseError" ? error.errors.map((e) => e.code) : [],
            "MANIFEST_BLOB_UNKNOWN"
          )
        }).pipe(Effect.provide(layerFor(mode()))))

      it.effect("keeps the fallback referrers index on a registry without the referrers API", () =>
        Effect.gen(function*() {
          const image = yield* makeImage(1000)
          yield* Registry.uploadBlob(repo("referrers/app"), image.layer)
          yield* Registry.uploadBlob(repo("referrers/app"), image.config)
          const subject = yield* Registry.putManifest(repo("referrers/app:v1"), { bytes: image.manifest })
          const empty = yield* BlobSource.fromBytes(encode({}))
          yield* Registry.uploadBlob(repo("referrers/app"), empty)
          const artifact = (artifactType: string) =>
            encode({
              schemaVersion: 2,
              mediaType: MediaType.ociManifest,
              artifactType,
              config: { mediaType: MediaType.ociEmpty, digest: empty.digest, size: empty.size },
              layers: [{ mediaType: MediaType.ociEmpty, digest: empty.digest, size: empty.size }],
              subject: { mediaType: MediaType.ociManifest, digest: subject.digest, size: subject.size }
            })
          const sbom = yield* Registry.putManifest(repo(`referrers/app@${sha256(artifact("application/sbom"))}`), {
            bytes: artifact("application/sbom")
          })
          assert.isTrue(Option.isNone(sbom.subject), "distribution 2.8 has no referrers API")
          yield* Registry.putManifest(repo(`referrers/app@${sha256(artifact("application/sig"))}`), {
            bytes: artifact("application/sig")
          })
          yield* Registry.putManifest(repo(`referrers/app@${sbom.digest}`), { bytes: artifact("application/sbom") })
          const referrers = yield* Registry.getReferrers(repo(`referrers/app@${subject.digest}`))
          assert.deepStrictEqual(referrers.map((d) => d.artifactType), ["application/sbom", "application/sig"])
          const sigs = yield* Registry.getReferrers(repo(`referrers/app@${subject.digest}`), {
            artifactType: "application/sig"
          })
          assert.strictEqual(sigs.length, 1)
        }).pipe(Effect.provide(layerFor(mode()))))
    })
  }

  it.effect("skopeo reads and verifies an image ocireg pushed", () => {
    const mode = modes.find((m) => m.name === "basic")!
    return Effect.gen(function*() {
      const image = yield* makeImage(300_000)
      const ref = `${mode.registry.host}/interop/app`
      yield* Registry.uploadBlob(ref, image.layer)
      yield* Registry.uploadBlob(ref, image.config)
      const pushed = yield* Registry.putManifest(`${ref}:v1`, { bytes: image.manifest })
      const creds = { username: "alice", password: users.alice }
      const inspected = yield* Effect.promise(() => skopeoInspect(`docker://${ref}:v1`, { creds }))
      assert.strictEqual((inspected.json as { Digest: string }).Digest, pushed.digest)
      const dir = path.join(mode.registry.dir, "skopeo-dir")
      yield* Effect.promise(() => skopeoCopy(`docker://${ref}:v1`, `dir:${dir}`, { srcCreds: creds }))
      const layerCopy = yield* Effect.promise(() => fs.readFile(path.join(dir, image.layer.digest.slice(7))))
      assert.strictEqual(sha256(layerCopy), image.layer.digest)
      const manifestCopy = yield* Effect.promise(() => fs.readFile(path.join(dir, "manifest.json")))
      assert.strictEqual(sha256(manifestCopy), pushed.digest)
    }).pipe(Effect.provide(layerFor(mode)))
  })
})
