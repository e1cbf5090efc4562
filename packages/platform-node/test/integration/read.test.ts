/**
 * The read path against the real CNCF registry (`docker-registry`) in its three auth modes,
 * seeded with images pushed by `skopeo`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Manifest from "@ocireg/core/Manifest"
import * as MediaType from "@ocireg/core/MediaType"
import * as Registry from "@ocireg/core/Registry"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { afterAll, beforeAll } from "vitest"
import {
  describeIntegration,
  type RunningRegistry,
  type SeededImage,
  seedImage,
  startRegistry,
  startTokenServer,
  type TokenServer
} from "../../../../test-support/index.js"

const users = { alice: "alice-password", bob: "bob-password" }

interface Mode {
  readonly name: "open" | "basic" | "token"
  registry: RunningRegistry
  multi: SeededImage
  single: SeededImage
  tokens?: TokenServer
}

const modes: Array<Mode> = []

const clientLayer = (_mode: Mode, credentials: Record<string, CredentialStore.Credential> = {}) =>
  NodeRegistry.layer().pipe(Layer.provide(CredentialStore.layerStatic(credentials)))

const alice = (mode: Mode) =>
  mode.name === "open" ? {} : { [mode.registry.host]: CredentialStore.basic("alice", Redacted.make(users.alice)) }

const collectBytes = <E, R>(stream: Stream.Stream<Uint8Array, E, R>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat(Chunk.toArray(chunks)))

describeIntegration("read path against docker-registry", ["docker-registry", "skopeo", "openssl"], () => {
  beforeAll(async () => {
    const tokens = await startTokenServer({ users })
    const setups = [
      { name: "open" as const, registry: await startRegistry({ auth: "none" }) },
      { name: "basic" as const, registry: await startRegistry({ auth: "basic", users }) },
      { name: "token" as const, registry: await startRegistry({ auth: "token", tokenServer: tokens }), tokens }
    ]
    for (const setup of setups) {
      const creds = setup.name === "open" ? undefined : { username: "alice", password: users.alice }
      const multi = await seedImage(setup.registry, "team/multi", "v1", {
        platforms: ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"],
        layers: 2,
        layerSize: 4096
      }, creds)
      const single = await seedImage(setup.registry, "team/single", "v1", { layers: 3, layerSize: 64 * 1024 }, creds)
      modes.push({ ...setup, multi, single })
    }
  }, 120_000)

  afterAll(async () => {
    for (const mode of modes) await mode.registry.stop()
    await modes.find((m) => m.tokens)?.tokens?.stop()
  })

  for (const name of ["open", "basic", "token"] as const) {
    describe(`${name} registry`, () => {
      const mode = () => modes.find((m) => m.name === name)!
      const provide = <A, E>(
        effect: Effect.Effect<A, E, RegistryClient.RegistryClient | import("@ocireg/core/Digest").Hasher>
      ) => Effect.provide(effect, clientLayer(mode(), alice(mode())))

      it.effect("ping", () =>
        provide(Effect.gen(function*() {
          const result = yield* Registry.ping(mode().registry.host)
          assert.deepStrictEqual(result.apiVersion, Option.some("registry/2.0"))
        })))

      it.effect("lists tags, in pages too", () =>
        provide(Effect.gen(function*() {
          const { multi, registry } = mode()
          assert.deepStrictEqual(yield* Registry.listAllTags(`${registry.host}/${multi.repository}`), ["v1"])
          const pages = yield* Stream.runCollect(
            Registry.listTags(`${registry.host}/${multi.repository}`, { pageSize: 1 })
          )
          assert.deepStrictEqual(Chunk.toArray(pages).flatMap((p) => p.tags), ["v1"])
        })))

      it.effect("lists repositories", () =>
        provide(Effect.gen(function*() {
          const repositories = yield* Registry.listAllRepositories(mode().registry.host, { pageSize: 1 })
          assert.deepStrictEqual(repositories, ["team/multi", "team/single"])
        })))

      it.effect("gets and heads the index and its manifests with verified digests", () =>
        provide(Effect.gen(function*() {
          const { multi, registry } = mode()
          const index = yield* Registry.getManifest(multi.reference)
          assert.strictEqual(index.digest, multi.root.digest)
          assert.strictEqual(index.mediaType, MediaType.ociIndex)
          assert.deepStrictEqual(index.bytes, new Uint8Array(multi.rootBytes))
          assert.isTrue(Manifest.isIndexLike(index.manifest))
          const head = yield* Registry.headManifest(multi.reference)
          assert.deepStrictEqual([head.digest, head.size, head.mediaType], [
            multi.root.digest,
            multi.root.size,
            MediaType.ociIndex
          ])
          const arm = Manifest.selectPlatform(index.manifest as Manifest.IndexLike, "linux/arm64")
          assert.isTrue(Option.isSome(arm))
          const expected = multi.manifests.find((m) => m.platform?.architecture === "arm64")!
          const child = yield* Registry.getManifest(
            `${registry.host}/${multi.repository}@${Option.getOrThrow(arm).digest}`
          )
          assert.strictEqual(child.digest, expected.descriptor.digest)
          assert.strictEqual(child.manifest._tag, "ImageManifest")
        })))

      it.effect("streams blobs with verification, and heads them", () =>
        provide(Effect.gen(function*() {
          const { registry, single } = mode()
          const repo = `${registry.host}/${single.repository}`
          for (const layer of single.manifests[0]!.layers) {
            const bytes = yield* collectBytes(Registry.getBlob(repo, layer.descriptor))
            assert.isTrue(bytes.equals(Buffer.from(layer.bytes)))
            // read whole in one GET (sized) and through the stream (digest only)
            const whole = yield* Registry.getBlobBytes(repo, layer.descriptor)
            assert.isTrue(Buffer.from(whole).equals(Buffer.from(layer.bytes)))
            const unsized = yield* Registry.getBlobBytes(repo, layer.descriptor.digest)
            assert.isTrue(Buffer.from(unsized).equals(Buffer.from(layer.bytes)))
            const head = yield* Registry.headBlob(repo, layer.descriptor.digest)
            assert.strictEqual(head.size, layer.descriptor.size)
          }
        })))

      it.effect("reports a missing tag, manifest, blob and repository as typed NotFound", () =>
        provide(Effect.gen(function*() {
          const { registry, single } = mode()
          const repo = `${registry.host}/${single.repository}`
          const missingTag = yield* Effect.flip(Registry.getManifest(`${repo}:nope`))
          assert.strictEqual(missingTag._tag === "NotFound" && missingTag.kind, "tag")
          const zero = `sha256:${"0".repeat(64)}`
          const missingManifest = yield* Effect.flip(Registry.headManifest(`${repo}@${zero}`))
          assert.strictEqual(missingManifest._tag, "NotFound")
          const missingBlob = yield* Effect.flip(Registry.headBlob(repo, zero))
          assert.strictEqual(missingBlob._tag === "NotFound" && missingBlob.kind, "blob")
          const missingBlobGet = yield* Effect.flip(Stream.runDrain(Registry.getBlob(repo, zero)))
          assert.strictEqual(missingBlobGet._tag === "NotFound" && missingBlobGet.kind, "blob")
          const missingRepo = yield* Effect.flip(Registry.listAllTags(`${registry.host}/no/such`))
          assert.strictEqual(missingRepo._tag, "NotFound")
        })))

      it.effect("returns no referrers from the fallback tag when there are none", () =>
        provide(Effect.gen(function*() {
          const { multi, registry } = mode()
          const referrers = yield* Registry.getReferrers(`${registry.host}/${multi.repository}@${multi.root.digest}`)
          assert.deepStrictEqual(referrers, [])
        })))

      if (name !== "open") {
        it.effect("fails a wrong password with AuthenticationError that hides it", () =>
          Effect.gen(function*() {
            const wrong = { [mode().registry.host]: CredentialStore.basic("alice", Redacted.make("wrong-pass-123")) }
            const error = yield* Effect.flip(
              Registry.listAllTags(`${mode().registry.host}/team/single`).pipe(
                Effect.provide(clientLayer(mode(), wrong))
              )
            )
            assert.strictEqual(error._tag, "AuthenticationError")
            assert.strictEqual(error._tag === "AuthenticationError" && error.reason, "RejectedCredentials")
            assert.notInclude(error.message, "wrong-pass-123")
          }))

        it.effect("fails without credentials with MissingCredentials", () =>
          Effect.gen(function*() {
            const error = yield* Effect.flip(
              Registry.listAllTags(`${mode().registry.host}/team/single`).pipe(Effect.provide(clientLayer(mode())))
            )
            assert.strictEqual(error._tag === "AuthenticationError" && error.reason, "MissingCredentials")
          }))
      }
    })
  }

  describe("token auth", () => {
    const mode = () => modes.find((m) => m.name === "token")!

    it.effect("20 concurrent reads of one repository fetch one token", () =>
      Effect.gen(function*() {
        const { registry, single, tokens } = mode()
        const before = tokens!.issued()
        const layers = single.manifests[0]!.layers
        yield* Effect.all(
          Array.from({ length: 20 }, (_, i) =>
            Registry.headBlob(`${registry.host}/${single.repository}`, layers[i % layers.length]!.descriptor)),
          { concurrency: 20 }
        )
        const client = yield* RegistryClient.RegistryClient
        assert.strictEqual((yield* client.stats).tokensIssued, 1)
        assert.strictEqual(tokens!.issued() - before, 1)
      }).pipe(Effect.provide(clientLayer(mode(), alice(mode())))))

    it.effect("re-authenticates when the registry rejects a token", () =>
      Effect.gen(function*() {
        const { registry, single, tokens } = mode()
        const repo = `${registry.host}/${single.repository}`
        tokens!.issueWithUntrustedKey(1)
        const before = tokens!.issued()
        assert.deepStrictEqual(yield* Registry.listAllTags(repo), ["v1"])
        assert.strictEqual(tokens!.issued() - before, 2, "the rejected token and its replacement")
      }).pipe(Effect.provide(clientLayer(mode(), alice(mode())))))

    it.effect("a user without a grant gets a typed error", () =>
      Effect.gen(function*() {
        const { registry } = mode()
        const error = yield* Effect.flip(Registry.listAllTags(`${registry.host}/team/single`))
        assert.isTrue(error._tag === "AuthenticationError" || error._tag === "AuthorizationError", error._tag)
      }).pipe(Effect.provide(clientLayer(mode()))))
  })

  describe("corruption", () => {
    it.effect("a blob corrupted on disk fails with DigestMismatch", () => {
      const mode = modes.find((m) => m.name === "open")!
      return Effect.gen(function*() {
        const seeded = yield* Effect.promise(() =>
          seedImage(mode.registry, "team/corrupt", "v1", { layers: 1, layerSize: 100_000 })
        )
        const layer = seeded.manifests[0]!.layers[0]!
        yield* Effect.promise(() => mode.registry.corruptBlob(layer.descriptor.digest))
        const error = yield* Effect.flip(
          Stream.runDrain(Registry.getBlob(`${mode.registry.host}/team/corrupt`, layer.descriptor))
        )
        assert.strictEqual(error._tag, "DigestMismatch")
        assert.strictEqual(error._tag === "DigestMismatch" && error.expected, layer.descriptor.digest)
        const whole = yield* Effect.flip(Registry.getBlobBytes(`${mode.registry.host}/team/corrupt`, layer.descriptor))
        assert.strictEqual(whole._tag === "DigestMismatch" && whole.expected, layer.descriptor.digest)
      }).pipe(Effect.provide(clientLayer(mode)))
    })
  })
})
