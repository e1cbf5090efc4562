/**
 * ocireg in headless Chromium against the real `docker-registry`, configured with CORS headers,
 * in its three auth modes: open (the browser talks to the registry), Basic and token (through
 * nginx, which answers the preflights; the token server sends CORS headers itself). The global
 * setup starts everything in Node and seeds the images with skopeo.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as BlobSource from "@ocireg/core/BlobSource"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Manifest from "@ocireg/core/Manifest"
import * as MediaType from "@ocireg/core/MediaType"
import * as Registry from "@ocireg/core/Registry"
import * as BrowserCredentialStore from "@ocireg/platform-browser/BrowserCredentialStore"
import * as BrowserRegistry from "@ocireg/platform-browser/BrowserRegistry"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { inject } from "vitest"
import type { BrowserRegistryFixture } from "../../../test-support/browser/fixtures.js"

const fixtures = inject("ocireg.browserFixtures")

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("")
const sha256 = (bytes: Uint8Array<ArrayBuffer>) =>
  Effect.promise(() => crypto.subtle.digest("SHA-256", bytes)).pipe(Effect.map((d) => `sha256:${hex(d)}`))

const concat = (chunks: Chunk.Chunk<Uint8Array>) => {
  const out = new Uint8Array(Chunk.reduce(chunks, 0, (n, c) => n + c.length))
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
  }
  return out
}

const random = (size: number) => {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)))
  return bytes
}

/** The client as a page would build it: credentials typed in by the user, kept in memory. */
const clientLayer = (
  fixture: BrowserRegistryFixture,
  options: Parameters<typeof BrowserRegistry.layer>[0] = {}
) =>
  BrowserRegistry.layer(options).pipe(
    Layer.provide(
      BrowserCredentialStore.layerMemory(
        fixture.name === "open"
          ? {}
          : { [fixture.host]: CredentialStore.basic("alice", Redacted.make(fixtures.users["alice"]!)) }
      )
    )
  )

if (fixtures.gate.fail) {
  describe("browser integration", () => {
    it("has the system binaries it needs", () => {
      throw new Error(fixtures.gate.message)
    })
  })
}

describe.skipIf(fixtures.gate.skip || fixtures.gate.fail)("in Chromium against docker-registry with CORS", () => {
  for (const name of ["open", "basic", "token"] as const) {
    describe(`${name} registry`, () => {
      const fixture = () => fixtures.registries.find((r) => r.name === name)!
      const provide = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.provide(effect, clientLayer(fixture())) as Effect.Effect<A, E, never>

      it.effect("pings", () =>
        provide(Effect.gen(function*() {
          const result = yield* Registry.ping(fixture().host)
          assert.deepStrictEqual(
            result.apiVersion,
            Option.some("registry/2.0"),
            "Docker-Distribution-API-Version exposed"
          )
        })))

      it.effect("lists tags, and repositories page by page through Link", () =>
        provide(Effect.gen(function*() {
          const { host, multi } = fixture()
          assert.deepStrictEqual(yield* Registry.listAllTags(`${host}/${multi.repository}`), ["v1"])
          const repositories = yield* Registry.listAllRepositories(host, { pageSize: 1 })
          for (const repository of ["team/corrupt", "team/multi", "team/single"]) {
            assert.include(repositories, repository)
          }
        })))

      it.effect("gets the index, its platforms and a platform's manifest", () =>
        provide(Effect.gen(function*() {
          const { host, multi } = fixture()
          const index = yield* Registry.getManifest(multi.reference)
          assert.strictEqual(index.digest, multi.rootDigest)
          assert.strictEqual(index.mediaType, MediaType.ociIndex)
          assert.isTrue(Manifest.isIndexLike(index.manifest))
          const platforms = (index.manifest as Manifest.IndexLike).manifest.manifests.map((d) =>
            [d.platform?.os, d.platform?.architecture, d.platform?.variant].filter(Boolean).join("/")
          )
          assert.deepStrictEqual(platforms, multi.platforms)
          const head = yield* Registry.headManifest(multi.reference)
          assert.strictEqual(head.digest, multi.rootDigest, "Docker-Content-Digest exposed")
          const arm = Option.getOrThrow(Manifest.selectPlatform(index.manifest as Manifest.IndexLike, "linux/arm64"))
          const child = yield* Registry.getManifest(`${host}/${multi.repository}@${arm.digest}`)
          assert.strictEqual(child.manifest._tag, "ImageManifest")
        })))

      it.effect("pulls a blob, verified as it streams", () =>
        provide(Effect.gen(function*() {
          const { host, single } = fixture()
          const layer = single.layers[0]!
          let chunks = 0
          const bytes = concat(
            yield* Stream.runCollect(
              Registry.getBlob(`${host}/${single.repository}`, layer).pipe(
                Stream.tap(() => Effect.sync(() => chunks++))
              )
            )
          )
          assert.strictEqual(bytes.length, layer.size)
          assert.strictEqual(yield* sha256(bytes), layer.digest)
          const head = yield* Registry.headBlob(`${host}/${single.repository}`, layer.digest)
          assert.strictEqual(head.size, layer.size)
        })))

      it.effect("fails a corrupted blob with DigestMismatch", () =>
        provide(Effect.gen(function*() {
          const { corrupt, host } = fixture()
          const layer = corrupt.layers[0]!
          const error = yield* Effect.flip(Stream.runDrain(Registry.getBlob(`${host}/${corrupt.repository}`, layer)))
          assert.strictEqual(error._tag, "DigestMismatch")
          assert.strictEqual(error._tag === "DigestMismatch" && error.expected, layer.digest)
          assert.strictEqual(error._tag === "DigestMismatch" && error.actualSize, layer.size)
        })))

      it.effect("pushes a blob in chunks, puts a manifest, reads both back and deletes them", () =>
        Effect.gen(function*() {
          const { host } = fixture()
          const requests: Array<string> = []
          const layer = clientLayer(fixture(), {
            chunkSize: 256 * 1024,
            transformClient: HttpClient.tapRequest((request) => Effect.sync(() => requests.push(request.method)))
          })
          const repo = `${host}/browser/pushed`
          yield* Effect.gen(function*() {
            const blob = random(1024 * 1024 + 4321)
            const source = yield* BlobSource.fromBytes(blob)
            const uploaded = yield* Registry.uploadBlob(repo, source)
            assert.strictEqual(uploaded.outcome, "uploaded")
            assert.strictEqual(requests.filter((m) => m === "PATCH").length, 5, "1 MiB + 4321 B in 256 KiB chunks")
            const config = new TextEncoder().encode(JSON.stringify({
              architecture: "wasm",
              os: "browser",
              rootfs: { type: "layers", diff_ids: [source.digest] }
            }))
            const configSource = yield* BlobSource.fromBytes(config)
            assert.strictEqual((yield* Registry.uploadBlob(repo, configSource)).outcome, "uploaded")
            assert.strictEqual((yield* Registry.uploadBlob(repo, configSource)).outcome, "exists")

            const back = concat(
              yield* Stream.runCollect(Registry.getBlob(repo, { digest: source.digest, size: blob.length }))
            )
            assert.deepStrictEqual(back, blob)

            const manifest = new TextEncoder().encode(JSON.stringify({
              schemaVersion: 2,
              mediaType: MediaType.ociManifest,
              config: { mediaType: MediaType.ociConfig, digest: configSource.digest, size: config.length },
              layers: [{
                mediaType: "application/vnd.oci.image.layer.v1.tar",
                digest: source.digest,
                size: blob.length
              }]
            }))
            const put = yield* Registry.putManifest(`${repo}:${name}`, { bytes: manifest })
            const got = yield* Registry.getManifest(`${repo}:${name}`)
            assert.strictEqual(got.digest, put.digest)
            assert.include(yield* Registry.listAllTags(repo), name)

            assert.strictEqual(yield* Registry.deleteManifest(`${repo}@${put.digest}`), put.digest)
            const gone = yield* Effect.flip(Registry.getManifest(`${repo}@${put.digest}`))
            assert.strictEqual(gone._tag, "NotFound")
            yield* Registry.deleteBlob(repo, source.digest)
            const blobGone = yield* Effect.flip(Registry.headBlob(repo, source.digest))
            assert.strictEqual(blobGone._tag, "NotFound")
          }).pipe(Effect.provide(layer))
        }))

      if (name !== "open") {
        it.effect("without credentials fails with MissingCredentials", () =>
          Effect.gen(function*() {
            const error = yield* Effect.flip(Registry.listAllTags(`${fixture().host}/team/single`)).pipe(
              Effect.provide(BrowserRegistry.layer().pipe(Layer.provide(BrowserCredentialStore.layerMemory())))
            )
            assert.strictEqual(error._tag === "AuthenticationError" && error.reason, "MissingCredentials")
          }))

        it.effect("talking to the registry directly, the 401 to the preflight is a clear CORS error", () =>
          Effect.gen(function*() {
            const error = yield* Effect.flip(Registry.getManifest(`${fixture().directHost}/team/multi:v1`)).pipe(
              Effect.provide(clientLayer({ ...fixture(), host: fixture().directHost }, { retrySchedule: noRetry }))
            )
            assert.strictEqual(error._tag, "TransportError")
            assert.include(error.message, "CORS failure or a network failure")
            assert.include(error.message, "GET is preflighted (headers accept")
            assert.include(error.message, "docker-registry answers 401 when authentication is on")
          }))
      }
    })
  }

  describe("misconfigured registries", () => {
    const noRetryClient = (host: string) =>
      BrowserRegistry.layer({ retrySchedule: noRetry }).pipe(
        Layer.provide(
          BrowserCredentialStore.layerMemory({
            [host]: CredentialStore.basic("alice", Redacted.make(fixtures.users["alice"]!))
          })
        )
      )

    it.effect("without Access-Control-Allow-Origin: a TransportError that says so", () =>
      Effect.gen(function*() {
        const host = fixtures.misconfigured.noCors
        const error = yield* Effect.flip(Registry.ping(host)).pipe(Effect.provide(noRetryClient(host)))
        assert.strictEqual(error._tag, "TransportError")
        assert.include(error.message, "CORS failure or a network failure")
        assert.include(error.message, `Access-Control-Allow-Origin: ${location.origin} (or *)`)
      }))

    it.effect("without Access-Control-Expose-Headers: an upload says to expose Location", () =>
      Effect.gen(function*() {
        const host = fixtures.misconfigured.noExpose
        const error = yield* Effect.flip(
          Effect.flatMap(BlobSource.fromBytes(random(1000)), (source) => Registry.uploadBlob(`${host}/x/y`, source))
        ).pipe(Effect.provide(noRetryClient(host)))
        assert.strictEqual(error._tag, "InvalidResponse")
        assert.include(error.message, "Expose Location")
      }))

    it.effect("without Access-Control-Expose-Headers: a 401 says to expose WWW-Authenticate", () =>
      Effect.gen(function*() {
        const host = fixtures.misconfigured.basicNoExpose
        const error = yield* Effect.flip(Registry.listAllTags(`${host}/x/y`)).pipe(Effect.provide(noRetryClient(host)))
        assert.strictEqual(error._tag, "AuthenticationError")
        assert.include(error.message, "Expose WWW-Authenticate")
      }))

    it.effect("a token server without CORS headers: the token exchange says so", () =>
      Effect.gen(function*() {
        const host = fixtures.misconfigured.tokenNoCors
        const error = yield* Effect.flip(Registry.listAllTags(`${host}/x/y`)).pipe(Effect.provide(noRetryClient(host)))
        assert.strictEqual(error._tag === "AuthenticationError" && error.reason, "TokenExchangeFailed")
        assert.include(error.message, "CORS failure or a network failure")
        assert.include(error.message, "/token")
        assert.notInclude(error.message, "scope=", "no query in messages")
        assert.notInclude(error.message, fixtures.users["alice"]!)
      }))
  })
})

const noRetry = Schedule.recurs(0)
