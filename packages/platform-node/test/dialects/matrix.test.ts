/**
 * The dialect matrix: every operation of the CLI's demo path (ping, push, tags, catalog,
 * manifest, blob, pull, copy with mount, tag, referrers, delete) with the library from Node,
 * against `RegistryServer` over loopback HTTP in each dialect. One test per cell.
 */
import { assert, describe, it } from "@effect/vitest"
import * as BlobSource from "@ocireg/core/BlobSource"
import * as Image from "@ocireg/core/Image"
import * as Registry from "@ocireg/core/Registry"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as OciLayout from "@ocireg/platform-node/OciLayout"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { catalogOf, makeImage, makeReferrer, mountsOf, serve, type Served } from "./support.js"

for (const dialect of RegistryTest.dialects) {
  describe(`${dialect} dialect`, () => {
    let served: Served
    const image = makeImage()
    const run = <A, E>(effect: Effect.Effect<A, E, any>) => served.runtime.runPromise(effect as Effect.Effect<A, E>)
    const ref = (rest: string) => `${served.prefix}/${rest}`

    beforeAll(async () => {
      served = await serve(dialect)
    }, 60_000)
    afterAll(async () => {
      await served?.close()
    })

    it("ping", async () => {
      const result = await run(Registry.ping(served.prefix))
      assert.deepStrictEqual(result.apiVersion, Option.some("registry/2.0"))
    })

    it("push", async () => {
      const result = await run(Effect.gen(function*() {
        const blobs = yield* Effect.forEach([image.config, ...image.layers], BlobSource.fromBytes)
        return yield* Image.push(ref("team/app:v1"), { blobs, manifest: { bytes: image.manifest } })
      }))
      assert.strictEqual(result.digest, image.digest)
      assert.strictEqual(served.running.registry.tags("team/app").get("v1"), image.digest)
    })

    it("tags", async () => {
      assert.deepStrictEqual(await run(Registry.listAllTags(ref("team/app"))), ["v1"])
    })

    it("catalog", async () => {
      const expected = catalogOf(dialect)
      if (expected === "listed") {
        assert.include(await run(Registry.listAllRepositories(served.prefix)), "team/app")
      } else {
        const error = await run(Effect.flip(Registry.listAllRepositories(served.prefix)))
        assert.strictEqual(error._tag, expected)
      }
    })

    it("manifest", async () => {
      const got = await run(Registry.getManifest(ref("team/app:v1")))
      assert.strictEqual(got.digest, image.digest)
      const head = await run(Registry.headManifest(ref("team/app:v1")))
      assert.strictEqual(head.digest, image.digest)
      assert.strictEqual(head.size, image.manifest.length)
    })

    it("blob", async () => {
      const layer = image.layers[0]!
      const descriptor = { digest: image.sha256(layer), size: layer.length }
      const size = await run(Stream.runFold(Registry.getBlob(ref("team/app"), descriptor), 0, (n, c) => n + c.length))
      assert.strictEqual(size, layer.length)
      assert.strictEqual((await run(Registry.headBlob(ref("team/app"), descriptor.digest))).size, layer.length)
    })

    it("pull", async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), `ocireg-${dialect}-`))
      try {
        const pulled = await run(OciLayout.pullToLayout(ref("team/app:v1"), dir))
        assert.strictEqual(pulled.digest, image.digest)
        const layer = image.layers[0]!
        const onDisk = await fs.stat(path.join(dir, "blobs", "sha256", image.sha256(layer).slice(7)))
        assert.strictEqual(onDisk.size, layer.length)
      } finally {
        await fs.rm(dir, { recursive: true, force: true })
      }
    })

    it("copy with mount", async () => {
      const result = await run(Image.copy(ref("team/app:v1"), ref("team/copy:v1")))
      assert.strictEqual(result.digest, image.digest)
      const total = result.blobs.mounted + result.blobs.uploaded + result.blobs.existed
      assert.strictEqual(total, 3)
      if (mountsOf(dialect)) assert.strictEqual(result.blobs.mounted, 3)
      else assert.strictEqual(result.blobs.uploaded, 3)
      assert.strictEqual(served.running.registry.tags("team/copy").get("v1"), image.digest)
    })

    it("tag", async () => {
      await run(Image.tag(ref("team/copy:v1"), "v2"))
      assert.deepStrictEqual(await run(Registry.listAllTags(ref("team/copy"))), ["v1", "v2"])
    })

    it("referrers", async () => {
      const referrer = makeReferrer({ digest: image.digest, size: image.manifest.length })
      await run(Effect.gen(function*() {
        const blobs = yield* Effect.forEach([referrer.empty], BlobSource.fromBytes)
        return yield* Image.push(ref(`team/app@${referrer.digest}`), { blobs, manifest: { bytes: referrer.manifest } })
      }))
      const found = await run(Registry.getReferrers(ref(`team/app@${image.digest}`)))
      assert.deepStrictEqual(found.map((d) => d.digest), [referrer.digest])
    })

    it("delete", async () => {
      await run(Registry.deleteTag(ref("team/copy:v2")))
      assert.deepStrictEqual(await run(Registry.listAllTags(ref("team/copy"))), ["v1"])
      const deleted = await run(Registry.deleteManifest(ref("team/copy:v1")))
      assert.strictEqual(deleted, image.digest)
      const error = await run(Effect.flip(Registry.getManifest(ref("team/copy:v1"))))
      assert.strictEqual(error._tag, "NotFound")
    })
  })
}
