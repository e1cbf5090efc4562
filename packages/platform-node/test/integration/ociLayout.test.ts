/**
 * OciLayout against a real docker-registry and skopeo: pull a multi-platform index (or one
 * platform) into a layout that skopeo pushes back with identical digests, push a generated layout
 * whose digests the registry then serves, and refuse to push a corrupted blob.
 */
import { assert, it } from "@effect/vitest"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Image from "@ocireg/core/Image"
import * as Registry from "@ocireg/core/Registry"
import type { DigestMismatch } from "@ocireg/core/RegistryError"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as OciLayout from "@ocireg/platform-node/OciLayout"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as crypto from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import {
  describeIntegration,
  generateOciLayout,
  type RunningRegistry,
  type SeededImage,
  seedImage,
  skopeoCopy,
  skopeoInspect,
  startRegistry
} from "../../../../test-support/index.js"

let registry: RunningRegistry
let multi: SeededImage
let single: SeededImage
let work: string

const layer = () => NodeRegistry.layer().pipe(Layer.provide(CredentialStore.layerAnonymous))

const fresh = (name: string) => path.join(work, `${name}-${crypto.randomBytes(4).toString("hex")}`)

const manifestDigest = (ref: string) => Effect.map(Registry.headManifest(ref), (head) => head.digest)

const rawDigest = (ref: string) =>
  Effect.map(
    Effect.promise(() => skopeoInspect(`docker://${ref}`, { raw: true })),
    (inspected) => `sha256:${crypto.createHash("sha256").update(inspected.stdout).digest("hex")}`
  )

const blobFiles = (dir: string) => Effect.promise(() => fs.readdir(path.join(dir, "blobs", "sha256")))

describeIntegration("OciLayout against docker-registry and skopeo", ["docker-registry", "skopeo"], () => {
  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), "ocireg-layout-it-"))
    registry = await startRegistry({ auth: "none" })
    multi = await seedImage(registry, "team/multi", "v1", {
      platforms: ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"],
      layers: 2,
      layerSize: 200_000,
      gzip: true
    })
    single = await seedImage(registry, "team/single", "v2", { layers: 1, layerSize: 1000 })
  }, 120_000)

  afterAll(async () => {
    await registry?.stop()
    if (work !== undefined) await fs.rm(work, { recursive: true, force: true })
  })

  it.effect("pulls every platform into a layout that skopeo pushes back with the same digests", () =>
    Effect.gen(function*() {
      const dir = fresh("all")
      const result = yield* OciLayout.pullToLayout(multi.reference, dir, { concurrency: 3 })
      assert.strictEqual(result.digest, multi.root.digest)
      assert.strictEqual(result.tag, "v1")
      assert.strictEqual(result.manifests, 4, "three images and the index")
      assert.strictEqual(result.blobs, 9, "three configs and six layers")
      assert.strictEqual(result.existed, 0)
      assert.strictEqual((yield* blobFiles(dir)).length, 13)
      const layout = yield* OciLayout.open(dir)
      assert.deepStrictEqual(yield* OciLayout.tags(layout), ["v1"])
      assert.strictEqual((yield* OciLayout.resolve(layout, "v1")).digest, multi.root.digest)

      const copied = `${registry.host}/copied/multi:v1`
      yield* Effect.promise(() =>
        skopeoCopy(`oci:${dir}:v1`, `docker://${copied}`, { all: true, preserveDigests: true })
      )
      assert.strictEqual(yield* manifestDigest(copied), multi.root.digest)
      assert.strictEqual(yield* rawDigest(copied), multi.root.digest)
      for (const child of multi.manifests) {
        const at = `${registry.host}/copied/multi@${child.descriptor.digest}`
        assert.strictEqual(yield* manifestDigest(at), child.descriptor.digest)
      }

      const again = yield* OciLayout.pullToLayout(multi.reference, dir)
      assert.strictEqual(again.blobs, 0)
      assert.strictEqual(again.existed, 9)
      const other = yield* OciLayout.pullToLayout(single.reference, dir)
      assert.strictEqual(other.digest, single.root.digest)
      assert.deepStrictEqual(yield* OciLayout.tags(layout), ["v1", "v2"], "a second tag keeps the first")
    }).pipe(Effect.provide(layer())))

  it.effect("reports each blob to onEvent on pull and push", () =>
    Effect.gen(function*() {
      const dir = path.join(work, "events")
      const pulled: Array<Image.TransferEvent> = []
      const result = yield* OciLayout.pullToLayout(single.reference, dir, {
        onEvent: (event) => Effect.sync(() => pulled.push(event))
      })
      const downloaded = pulled.filter((e) => e._tag === "BlobFinished" && e.outcome === "downloaded")
      assert.strictEqual(downloaded.length, result.blobs)
      for (const done of downloaded) {
        const sent = pulled.flatMap((e) => (e._tag === "BlobProgress" && e.digest === done.digest ? [e.sent] : []))
        assert.strictEqual(sent.at(-1), done.size)
      }
      const pushed: Array<Image.TransferEvent> = []
      yield* OciLayout.pushFromLayout(dir, single.tag, `${registry.host}/events/app:v1`, {
        onEvent: (event) => Effect.sync(() => pushed.push(event))
      })
      const uploaded = pushed.filter((e) => e._tag === "BlobFinished" && e.outcome === "uploaded")
      assert.strictEqual(uploaded.length, result.blobs)
    }).pipe(Effect.provide(layer())))

  it.effect("pulls one platform: index.json names that platform's manifest, digest kept", () =>
    Effect.gen(function*() {
      const dir = fresh("arm")
      const arm = multi.manifests.find((m) => m.platform?.architecture === "arm64")!
      const result = yield* OciLayout.pullToLayout(multi.reference, dir, { platform: "linux/arm64", tag: "arm" })
      assert.strictEqual(result.digest, arm.descriptor.digest)
      assert.strictEqual(result.manifests, 1)
      assert.strictEqual(result.blobs, 3)
      assert.deepStrictEqual(
        [...(yield* blobFiles(dir))].sort(),
        [
          arm.descriptor.digest,
          arm.config.descriptor.digest,
          ...arm.layers.map((l) => l.descriptor.digest)
        ].map((d) => d.slice("sha256:".length)).sort()
      )
      const layout = yield* OciLayout.open(dir)
      const entry = yield* OciLayout.resolve(layout, "arm")
      assert.strictEqual(entry.digest, arm.descriptor.digest)
      assert.strictEqual(entry.platform?.architecture, "arm64")

      const copied = `${registry.host}/copied/arm:v1`
      yield* Effect.promise(() => skopeoCopy(`oci:${dir}:arm`, `docker://${copied}`, { preserveDigests: true }))
      assert.strictEqual(yield* manifestDigest(copied), arm.descriptor.digest)

      const missing = yield* Effect.flip(OciLayout.pullToLayout(multi.reference, dir, { platform: "windows/amd64" }))
      assert.strictEqual(missing._tag, "InvalidManifest")
    }).pipe(Effect.provide(layer())))

  it.effect("pushes a generated layout: the registry serves the layout's digests, skopeo agrees byte for byte", () =>
    Effect.gen(function*() {
      const dir = fresh("generated")
      const generated = yield* Effect.promise(() =>
        generateOciLayout(dir, { platforms: ["linux/amd64", "linux/arm/v7"], layers: 2, layerSize: 50_000, tag: "v3" })
      )
      const target = `${registry.host}/pushed/app:v3`
      const result = yield* OciLayout.pushFromLayout(dir, "v3", target, { concurrency: 2 })
      assert.strictEqual(result.digest, generated.root.digest)
      assert.strictEqual(result.manifests, 3)
      assert.deepStrictEqual(result.blobs, { uploaded: 6, mounted: 0, existed: 0 })
      assert.strictEqual(yield* manifestDigest(target), generated.root.digest)
      assert.strictEqual(yield* rawDigest(target), generated.root.digest)
      for (const image of generated.manifests) {
        assert.strictEqual(
          yield* manifestDigest(`${registry.host}/pushed/app@${image.descriptor.digest}`),
          image.descriptor.digest
        )
      }

      const byDigest = yield* OciLayout.pushFromLayout(dir, generated.root.digest, `${registry.host}/pushed/app`)
      assert.deepStrictEqual(byDigest.blobs, { uploaded: 0, mounted: 0, existed: 6 }, "blobs the repository has")
      assert.strictEqual(byDigest.reference.tag, "latest")
      assert.strictEqual(yield* manifestDigest(`${registry.host}/pushed/app:latest`), generated.root.digest)

      const untagged = yield* OciLayout.pushFromLayout(dir, "v3", `${registry.host}/pushed/tagless`)
      assert.strictEqual(untagged.reference.tag, "v3", "the layout's tag when the target names none")
    }).pipe(Effect.provide(layer())))

  it.effect("refuses a blob the registry serves corrupted: DigestMismatch, nothing under its digest", () =>
    Effect.gen(function*() {
      const seeded = yield* Effect.promise(() =>
        seedImage(registry, "team/served-corrupt", "v1", { layers: 1, layerSize: 5000 })
      )
      const corrupted = seeded.manifests[0]!.layers[0]!.descriptor
      yield* Effect.promise(() => registry.corruptBlob(corrupted.digest))
      const dir = fresh("served-corrupt")
      const error = yield* Effect.flip(OciLayout.pullToLayout(`${registry.host}/team/served-corrupt:v1`, dir))
      // verified once, by the registry stream: the file is never renamed to the digest
      assert.strictEqual(error._tag, "DigestMismatch", error.message)
      assert.strictEqual((error as DigestMismatch).expected, corrupted.digest)
      const files = yield* blobFiles(dir)
      assert.notInclude(files, corrupted.digest.slice("sha256:".length))
      assert.deepStrictEqual(files.filter((f) => f.startsWith(".")), [])
    }).pipe(Effect.provide(layer())))

  it.effect("refuses to push a blob corrupted in the layout: typed error, nothing stored under its digest", () =>
    Effect.gen(function*() {
      const dir = fresh("corrupt")
      const generated = yield* Effect.promise(() => generateOciLayout(dir, { layers: 1, layerSize: 20_000, tag: "v4" }))
      const layout = yield* OciLayout.open(dir)
      const corrupted = generated.manifests[0]!.layers[0]!.descriptor
      const file = yield* OciLayout.blobPath(layout, corrupted.digest)
      yield* Effect.promise(async () => {
        const handle = await fs.open(file, "r+")
        try {
          const byte = Buffer.alloc(1)
          await handle.read(byte, 0, 1, 600)
          byte[0] = byte[0]! ^ 0xff
          await handle.write(byte, 0, 1, 600)
        } finally {
          await handle.close()
        }
      })
      const target = `${registry.host}/pushed/corrupt:v4`
      const error = yield* Effect.flip(OciLayout.pushFromLayout(dir, "v4", target))
      assert.strictEqual(error._tag, "DigestMismatch", error.message)
      assert.strictEqual((error as DigestMismatch).expected, corrupted.digest)
      const blob = yield* Effect.flip(Registry.headBlob(`${registry.host}/pushed/corrupt`, corrupted.digest))
      assert.strictEqual(blob._tag, "NotFound")
      const manifest = yield* Effect.flip(Registry.headManifest(target))
      assert.strictEqual(manifest._tag, "NotFound")
    }).pipe(Effect.provide(layer())))
})
