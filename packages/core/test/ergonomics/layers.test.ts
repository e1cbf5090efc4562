/**
 * Friction 2 of issue 16: layers that compose the way the types say. Operations need only
 * `RegistryClient`; `RegistryClient.layer` needs exactly `HttpClient | CredentialStore`; hashing
 * is inside the client (pure JavaScript by default, a platform `Hasher` picked up when provided);
 * `RegistryTest.layer` needs nothing.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Digest from "@ocireg/core/Digest"
import * as Image from "@ocireg/core/Image"
import * as Registry from "@ocireg/core/Registry"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import type { RegistryError } from "@ocireg/core/RegistryError"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import type * as BrowserRegistry from "@ocireg/platform-browser/BrowserRegistry"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

const encoder = new TextEncoder()

/** A registry client on an in-memory registry, with no `Hasher` anywhere. */
const noHasher = RegistryClient.layer().pipe(
  Layer.provideMerge(RegistryTest.layer()),
  Layer.provide(CredentialStore.layerAnonymous)
)

describe("operations need only RegistryClient (friction 2)", () => {
  it("says so in the types", () => {
    expectTypeOf(Registry.getManifest("registry.test/app:1")).toEqualTypeOf<
      Effect.Effect<Registry.ManifestResult, RegistryError, RegistryClient.RegistryClient>
    >()
    expectTypeOf(Registry.getBlob("registry.test/app", "sha256:x")).toEqualTypeOf<
      Stream.Stream<Uint8Array, RegistryError, RegistryClient.RegistryClient>
    >()
    expectTypeOf(Registry.putManifest("registry.test/app:1", { bytes: new Uint8Array() })).toEqualTypeOf<
      Effect.Effect<Registry.PutManifestResult, RegistryError, RegistryClient.RegistryClient>
    >()
    expectTypeOf(Image.copy("a.test/x:1", "b.test/x:1")).toEqualTypeOf<
      Effect.Effect<Image.CopyResult, RegistryError, RegistryClient.RegistryClient>
    >()
    expectTypeOf(Image.pull("a.test/x:1")).toEqualTypeOf<
      Effect.Effect<Image.PulledImage, RegistryError, RegistryClient.RegistryClient>
    >()
    expectTypeOf(RegistryClient.layer()).toEqualTypeOf<
      Layer.Layer<RegistryClient.RegistryClient, never, HttpClient.HttpClient | CredentialStore.CredentialStore>
    >()
    expectTypeOf(RegistryTest.layer()).toEqualTypeOf<
      Layer.Layer<HttpClient.HttpClient | RegistryTest.TestRegistry, never, never>
    >()
    expectTypeOf(Digest.ofBytes(new Uint8Array())).toEqualTypeOf<Effect.Effect<Digest.Digest>>()
    // a platform layer that leaves HttpClient to the caller: with RegistryTest.layer() no request can leave
    expectTypeOf<ReturnType<typeof BrowserRegistry.layerWithoutHttp>>().toEqualTypeOf<
      Layer.Layer<
        RegistryClient.RegistryClient | Digest.Hasher,
        never,
        CredentialStore.CredentialStore | HttpClient.HttpClient
      >
    >()
    // the whole stack needs nothing more
    expectTypeOf(noHasher).toEqualTypeOf<
      Layer.Layer<RegistryClient.RegistryClient | HttpClient.HttpClient | RegistryTest.TestRegistry, never, never>
    >()
  })

  it.effect("push, pull and copy run with no Hasher provided, verifying with the pure-JavaScript default", () =>
    Effect.gen(function*() {
      const registry = yield* RegistryTest.TestRegistry
      const layerDigest = registry.putBlob("team/app", encoder.encode("layer bytes"))
      const config = encoder.encode(
        JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } })
      )
      const configDigest = registry.putBlob("team/app", config)
      const manifest = encoder.encode(JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: layerDigest, size: 11 }]
      }))
      const put = yield* Registry.putManifest("registry.test/team/app:1.0", { bytes: manifest })
      const pulled = yield* Image.pull("registry.test/team/app:1.0")
      const bytes = yield* Stream.runCollect(pulled.layerStreams[0]!.stream)
      assert.strictEqual(new TextDecoder().decode([...bytes][0]), "layer bytes")
      const copied = yield* Image.copy("registry.test/team/app:1.0", "registry.test/team/copy:1.0")
      assert.strictEqual(copied.digest, put.digest)
      // the known sha256 of "hello", computed by the default hasher
      assert.strictEqual(
        yield* Digest.ofBytes(encoder.encode("hello")),
        "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
      )
      const sha512 = yield* Digest.ofBytes(encoder.encode("hello"), "sha512")
      assert.isTrue(sha512.startsWith("sha512:9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca7"))
    }).pipe(Effect.provide(noHasher)))

  it.effect("a platform Hasher provided to RegistryClient.layer is the one that verifies blobs and manifests", () => {
    let created = 0
    const counting = Layer.succeed(Digest.Hasher, {
      create: (algorithm) => {
        created++
        return Digest.jsHasher.create(algorithm)
      }
    })
    const stack = RegistryClient.layer().pipe(
      Layer.provide(counting),
      Layer.provideMerge(RegistryTest.layer()),
      Layer.provide(CredentialStore.layerAnonymous)
    )
    return Effect.gen(function*() {
      const registry = yield* RegistryTest.TestRegistry
      const digest = registry.putBlob("team/app", encoder.encode("some bytes"))
      const before = created
      yield* Stream.runDrain(Registry.getBlob("registry.test/team/app", digest))
      assert.strictEqual(created - before, 1, "the blob was hashed by the provided Hasher")
    }).pipe(Effect.provide(stack))
  })
})
