import { assert, describe, it } from "@effect/vitest"
import * as ImageIndex from "@ocireg/core/ImageIndex"
import * as Manifest from "@ocireg/core/Manifest"
import * as MediaType from "@ocireg/core/MediaType"
import * as Registry from "@ocireg/core/Registry"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { inMemory, storeImage } from "./support.js"

const host = "registry.test"
const platforms = (manifests: ReadonlyArray<Manifest.Descriptor>) =>
  manifests.map((d) => Option.getOrUndefined(Manifest.platformOf(d)))

describe("ImageIndex", () => {
  it.effect("creates an index from images in other repositories, copying them in by digest", () =>
    Effect.gen(function*() {
      const amd = yield* storeImage("build/amd", "v1", { architecture: "amd64" })
      const arm = yield* storeImage("build/arm", "v1", { architecture: "arm64" })
      const made = yield* ImageIndex.create(`${host}/team/app:v1`, [`${host}/build/amd:v1`, `${host}/build/arm:v1`])
      assert.strictEqual(made.mediaType, MediaType.ociIndex)
      assert.deepStrictEqual(platforms(made.manifests), ["linux/amd64", "linux/arm64"])
      assert.deepStrictEqual(made.manifests.map((d) => d.digest), [amd.digest, arm.digest])
      const fetched = yield* Registry.getManifest(`${host}/team/app:v1`)
      assert.strictEqual(fetched.digest, made.digest)
      // the children and their blobs are in the index's repository
      const registry = yield* RegistryTest.TestRegistry
      assert.isTrue(registry.manifests("team/app").has(arm.digest))
      const arm64 = yield* Registry.getManifest(`${host}/team/app@${arm.digest}`)
      assert.strictEqual(arm64.digest, arm.digest)
    }).pipe(Effect.provide(inMemory())))

  it.effect("adds to an index (replacing a platform), removes a platform, and refuses an image as an index", () =>
    Effect.gen(function*() {
      yield* storeImage("team/app", "amd", { architecture: "amd64" })
      yield* storeImage("team/app", "arm", { architecture: "arm64" })
      const newArm = yield* storeImage("team/app", "arm2", { architecture: "arm64", layers: ["rebuilt"] })
      yield* ImageIndex.create(`${host}/team/app:multi`, [`${host}/team/app:amd`], {
        annotations: { "org.opencontainers.image.source": "https://example.test" }
      })
      const added = yield* ImageIndex.add(`${host}/team/app:multi`, [`${host}/team/app:arm`])
      assert.deepStrictEqual(platforms(added.manifests), ["linux/amd64", "linux/arm64"])
      const replaced = yield* ImageIndex.add(`${host}/team/app:multi`, [`${host}/team/app:arm2`])
      assert.deepStrictEqual(platforms(replaced.manifests), ["linux/amd64", "linux/arm64"])
      assert.strictEqual(replaced.manifests[1]!.digest, newArm.digest)
      const body = JSON.parse(Buffer.from((yield* Registry.getManifest(`${host}/team/app:multi`)).bytes).toString())
      assert.strictEqual(body.annotations["org.opencontainers.image.source"], "https://example.test")
      const removed = yield* ImageIndex.remove(`${host}/team/app:multi`, { platform: "linux/amd64" })
      assert.deepStrictEqual(platforms(removed.manifests), ["linux/arm64"])
      const none = yield* Effect.flip(ImageIndex.remove(`${host}/team/app:multi`, { platform: "linux/s390x" }))
      assert.strictEqual(none._tag, "InvalidManifest")
      const notIndex = yield* Effect.flip(ImageIndex.add(`${host}/team/app:amd`, [`${host}/team/app:arm`]))
      assert.strictEqual(notIndex._tag, "InvalidManifest")
    }).pipe(Effect.provide(inMemory())))

  it.effect("takes an index's children as they are, and refuses a Docker list of OCI manifests", () =>
    Effect.gen(function*() {
      yield* storeImage("team/app", "amd", { architecture: "amd64" })
      yield* storeImage("team/app", "arm", { architecture: "arm64" })
      yield* ImageIndex.create(`${host}/team/app:both`, [`${host}/team/app:amd`, `${host}/team/app:arm`])
      const nested = yield* ImageIndex.create(`${host}/other/app:v1`, [`${host}/team/app:both`])
      assert.deepStrictEqual(platforms(nested.manifests), ["linux/amd64", "linux/arm64"])
      const refused = yield* Effect.flip(ImageIndex.create(`${host}/team/app:docker`, [`${host}/team/app:amd`], {
        mediaType: MediaType.dockerManifestList
      }))
      assert.strictEqual(refused._tag, "InvalidManifest")
    }).pipe(Effect.provide(inMemory())))
})
