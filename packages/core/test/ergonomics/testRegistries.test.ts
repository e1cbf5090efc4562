/**
 * Friction 4 of issue 16: test registries for real tests. Several hosts behind one in-memory
 * client with unknown hosts refused, a layer over a registry seeded beforehand, and `seedImage`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Image from "@ocireg/core/Image"
import * as Manifest from "@ocireg/core/Manifest"
import * as MediaType from "@ocireg/core/MediaType"
import * as Registry from "@ocireg/core/Registry"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"

const client = (credentials: Parameters<typeof CredentialStore.layerStatic>[0] = {}) =>
  RegistryClient.layer().pipe(Layer.provide(CredentialStore.layerStatic(credentials)))

describe("RegistryTest.layerHosts (friction 4)", () => {
  const hosts = RegistryTest.layerHosts({
    "src.test": {},
    "dst.test": { auth: { basic: { ci: "secret" } } }
  })
  const stack = client({ "dst.test": CredentialStore.basic("ci", Redacted.make("secret")) }).pipe(
    Layer.provideMerge(hosts)
  )

  it.effect("copies a two-platform index between two registries, each on its own host and options", () =>
    Effect.gen(function*() {
      const registries = yield* RegistryTest.TestRegistries
      const src = registries.get("src.test")!
      const dst = registries.get("dst.test")!
      const seeded = RegistryTest.seedImageInto(src, {
        repository: "team/app",
        tags: ["1.0"],
        platforms: ["linux/amd64", "linux/arm64"]
      })
      const result = yield* Image.copy("src.test/team/app:1.0", "dst.test/mirror/app:1.0")
      assert.strictEqual(result.digest, seeded.digest)
      assert.strictEqual(result.manifests, 3)
      assert.strictEqual(dst.tags("mirror/app").get("1.0"), seeded.digest)
      assert.deepStrictEqual(src.repositories(), ["team/app"], "nothing was written to the source")
      assert.isTrue(src.requests().every((r) => r.method === "GET" || r.method === "HEAD"))
      assert.isTrue(dst.requests().some((r) => r.method === "PUT"))
      // the destination wanted credentials; the source was never sent them
      assert.isTrue(dst.requests().some((r) => r.status === 401))
      assert.isTrue(src.requests().every((r) => r.status !== 401))
    }).pipe(Effect.provide(stack)))

  it.effect("refuses an unknown host with a TransportError instead of answering it", () =>
    Effect.gen(function*() {
      const registries = yield* RegistryTest.TestRegistries
      const error = yield* Registry.ping("typo.test").pipe(RegistryClient.withoutRetries, Effect.flip)
      assert.strictEqual(error._tag, "TransportError")
      assert.include(error.message, "no test registry serves typo.test")
      assert.strictEqual(registries.get("typo.test"), undefined)
      assert.deepStrictEqual(registries.hosts, ["src.test", "dst.test"])
      assert.isTrue([...registries.hosts].every((host) => registries.get(host)!.requests().length === 0))
    }).pipe(Effect.provide(stack)))

  it.effect("serves registries made beforehand, and a single one with layerFrom", () =>
    Effect.gen(function*() {
      const made = yield* RegistryTest.make()
      const seeded = RegistryTest.seedImageInto(made, { repository: "team/tool", tags: ["v1"] })
      const fromHosts = yield* Registry.headManifest("one.test/team/tool:v1").pipe(
        Effect.provide(client().pipe(Layer.provide(RegistryTest.layerHosts({ "one.test": made }))))
      )
      assert.strictEqual(fromHosts.digest, seeded.digest)
      const fromLayer = yield* Effect.gen(function*() {
        const registry = yield* RegistryTest.TestRegistry
        assert.strictEqual(registry, made)
        return yield* Registry.headManifest("registry.test/team/tool:v1")
      }).pipe(Effect.provide(client().pipe(Layer.provideMerge(RegistryTest.layerFrom(made)))))
      assert.strictEqual(fromLayer.digest, seeded.digest)
    }))
})

describe("RegistryTest.layerHosts with dialects", () => {
  it.effect("each host answers in its dialect, and each redirecting dialect gets its own storage origin", () =>
    Effect.gen(function*() {
      const registries = yield* RegistryTest.TestRegistries
      const hub = registries.get("hub.test")!
      const ecr = registries.get("ecr.test")!
      const seeded = RegistryTest.seedImageInto(hub, { repository: "library/app", tags: ["1"] })
      const copied = yield* Image.copy("hub.test/library/app:1", "ecr.test/mirror/app:1")
      assert.strictEqual(copied.digest, seeded.digest)
      assert.strictEqual(ecr.tags("mirror/app").get("1"), seeded.digest)
      const layer = (yield* Image.resolve("ecr.test/mirror/app:1")).layers[0]!
      const bytes = yield* Registry.getBlob("ecr.test/mirror/app:1", layer).pipe(
        Stream.runFold(0, (n, chunk) => n + chunk.length)
      )
      assert.strictEqual(bytes, layer.size)
      // both registries redirected blob reads, and the storage hosts they named were served
      // (without them in the routing the redirect would be refused as an unknown host)
      assert.isTrue(hub.requests().some((r) => r.status >= 300 && r.status < 400), "hub redirected")
      assert.isTrue(ecr.requests().some((r) => r.status >= 300 && r.status < 400), "ecr redirected")
    }).pipe(
      Effect.provide(
        client().pipe(
          Layer.provideMerge(
            RegistryTest.layerHosts({ "hub.test": { dialect: "dockerhub" }, "ecr.test": { dialect: "ecr" } })
          )
        )
      )
    ))
})

describe("RegistryTest.seedImage (friction 4)", () => {
  const stack = client().pipe(Layer.provideMerge(RegistryTest.layer()))

  it.effect("stores an index of platforms with its tags, and returns every digest it wrote", () =>
    Effect.gen(function*() {
      const seeded = yield* RegistryTest.seedImage({
        repository: "team/app",
        tags: ["1.0", "latest"],
        platforms: ["linux/amd64", "linux/arm64/v8"],
        layers: 2
      })
      assert.strictEqual(seeded.mediaType, MediaType.ociIndex)
      assert.strictEqual(seeded.images.length, 2)
      assert.strictEqual(seeded.blobs.length, 6)
      for (const tag of ["1.0", "latest"]) {
        assert.strictEqual((yield* Registry.headManifest(`registry.test/team/app:${tag}`)).digest, seeded.digest)
      }
      const arm = yield* Image.resolve("registry.test/team/app:1.0", { platform: "linux/arm64/v8" })
      assert.strictEqual(arm.image.digest, seeded.images[1]!.digest)
      assert.deepStrictEqual(arm.layers.map((l) => l.digest), seeded.images[1]!.layers)
      assert.strictEqual(arm.config.variant, "v8")
      const all = yield* Image.resolveAll("registry.test/team/app:latest")
      assert.deepStrictEqual(all.map((image) => image.image.digest), seeded.images.map((image) => image.digest))
    }).pipe(Effect.provide(stack)))

  it.effect("a single image with given layer contents, in Docker media types", () =>
    Effect.gen(function*() {
      const seeded = yield* RegistryTest.seedImage({
        repository: "team/one",
        layers: ["first\n", new TextEncoder().encode("second\n")],
        format: "docker"
      })
      assert.strictEqual(seeded.mediaType, MediaType.dockerManifest)
      assert.deepStrictEqual(seeded.tags, ["latest"])
      const got = yield* Registry.getManifest("registry.test/team/one:latest")
      assert.strictEqual(got.digest, seeded.digest)
      assert.isFalse(Manifest.isIndexLike(got.manifest))
      const text = yield* Registry.getBlob("registry.test/team/one", seeded.images[0]!.layers[1]!).pipe(
        Stream.decodeText(),
        Stream.mkString
      )
      assert.strictEqual(text, "second\n")
    }).pipe(Effect.provide(stack)))
})
