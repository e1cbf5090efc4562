import { assert, describe, it } from "@effect/vitest"
import * as MediaType from "@ocireg/core/MediaType"
import * as Registry from "@ocireg/core/Registry"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { fakeRegistry, json, type Recorded, sha256Hex } from "./support/fakeRegistry.js"

const repo = "registry.test/team/app"
const encode = (value: unknown): Uint8Array<ArrayBuffer> => new TextEncoder().encode(JSON.stringify(value))
const digestOf = (bytes: Uint8Array) => `sha256:${sha256Hex(bytes)}`

const layerBytes = new TextEncoder().encode("layer bytes")
const image = encode({
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: MediaType.ociConfig, digest: digestOf(encode({})), size: 2 },
  layers: [{ mediaType: MediaType.ociLayerTar, digest: digestOf(layerBytes), size: layerBytes.length }]
})
const imageDigest = digestOf(image)

const serveManifest = (bytes: Uint8Array<ArrayBuffer>, headers: Record<string, string> = {}) => (r: Recorded) =>
  r.url.pathname.includes("/manifests/")
    ? new Response(r.method === "HEAD" ? null : bytes, {
      headers: { "content-type": MediaType.ociManifest, "content-length": String(bytes.length), ...headers }
    })
    : new Response("", { status: 404 })

describe("Registry.listTags", () => {
  it.effect("follows Link pages verbatim and collects them", () => {
    const { layer, log } = fakeRegistry((r) => {
      const last = r.url.searchParams.get("last")
      if (last === null) {
        return json({ name: "team/app", tags: ["a", "b"] }, {
          headers: { link: "</v2/team/app/tags/list?last=b&n=2>; rel=\"next\"" }
        })
      }
      if (last === "b") return json({ name: "team/app", tags: ["c"] })
      return new Response("", { status: 500 })
    })
    return Effect.gen(function*() {
      const pages = yield* Stream.runCollect(Registry.listTags(repo, { pageSize: 2 }))
      assert.deepStrictEqual(Chunk.toArray(pages).map((p) => p.tags), [["a", "b"], ["c"]])
      assert.deepStrictEqual(log.map((r) => r.url.search), ["?n=2", "?last=b&n=2"])
      assert.deepStrictEqual(yield* Registry.listAllTags(repo), ["a", "b", "c"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("stops at a Link that points back to a page already read", () => {
    const { layer, log } = fakeRegistry(() =>
      json({ name: "team/app", tags: ["a"] }, { headers: { link: "</v2/team/app/tags/list>; rel=\"next\"" } })
    )
    return Effect.gen(function*() {
      assert.deepStrictEqual(yield* Registry.listAllTags(repo), ["a"])
      assert.strictEqual(log.length, 1)
    }).pipe(Effect.provide(layer))
  })

  it.effect("refuses a Link to another origin", () => {
    const { layer, log } = fakeRegistry(() =>
      json({ name: "team/app", tags: ["a"] }, { headers: { link: "<https://evil.example/v2/x>; rel=\"next\"" } })
    )
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.listAllTags(repo))
      assert.strictEqual(error._tag, "InvalidResponse")
      assert.isTrue(log.every((r) => r.url.host === "registry.test"))
    }).pipe(Effect.provide(layer))
  })

  it.effect("treats null tags as none and malformed pages as InvalidResponse", () =>
    Effect.gen(function*() {
      const empty = fakeRegistry(() => json({ name: "team/app", tags: null }))
      assert.deepStrictEqual(yield* Registry.listAllTags(repo).pipe(Effect.provide(empty.layer)), [])
      const broken = fakeRegistry(() => json({ tags: "nope" }))
      const error = yield* Effect.flip(Registry.listAllTags(repo).pipe(Effect.provide(broken.layer)))
      assert.strictEqual(error._tag, "InvalidResponse")
    }))

  it.effect("lists the catalog with the registry:catalog:* scope", () => {
    const { layer, log } = fakeRegistry((r) =>
      r.url.host === "auth.registry.test"
        ? json({ token: "t" })
        : r.headers["authorization"]
        ? json({ repositories: ["a", "b"] })
        : new Response("", {
          status: 401,
          headers: { "www-authenticate": "Bearer realm=\"https://auth.registry.test/t\"" }
        })
    )
    return Effect.gen(function*() {
      assert.deepStrictEqual(yield* Registry.listAllRepositories("registry.test"), ["a", "b"])
      assert.deepStrictEqual(log.find((r) => r.url.host === "auth.registry.test")!.url.searchParams.getAll("scope"), [
        "registry:catalog:*"
      ])
    }).pipe(Effect.provide(layer))
  })
})

describe("Registry.getManifest", () => {
  it.effect("returns the exact bytes, their digest and the decoded manifest, asking for every manifest type", () => {
    const { layer, log } = fakeRegistry(serveManifest(image, { "docker-content-digest": imageDigest }))
    return Effect.gen(function*() {
      const result = yield* Registry.getManifest(`${repo}:v1`)
      assert.strictEqual(result.digest, imageDigest)
      assert.deepStrictEqual(result.bytes, image)
      assert.strictEqual(result.manifest._tag, "ImageManifest")
      assert.include(log[0]!.headers["accept"], MediaType.ociIndex)
      assert.include(log[0]!.headers["accept"], MediaType.dockerManifestList)
    }).pipe(Effect.provide(layer))
  })

  it.effect("fails with DigestMismatch when the bytes do not match the requested digest", () => {
    const { layer } = fakeRegistry(serveManifest(image))
    return Effect.gen(function*() {
      const other = `sha256:${"1".repeat(64)}`
      const error = yield* Effect.flip(Registry.getManifest(`${repo}@${other}`))
      assert.strictEqual(error._tag === "DigestMismatch" && error.actual, imageDigest)
    }).pipe(Effect.provide(layer))
  })

  it.effect("fails with DigestMismatch when Docker-Content-Digest disagrees with the bytes", () => {
    const { layer } = fakeRegistry(serveManifest(image, { "docker-content-digest": `sha256:${"2".repeat(64)}` }))
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.getManifest(`${repo}:v1`))
      assert.strictEqual(error._tag, "DigestMismatch")
    }).pipe(Effect.provide(layer))
  })

  it.effect("rejects a malformed Docker-Content-Digest header", () => {
    const { layer } = fakeRegistry(serveManifest(image, { "docker-content-digest": "sha256:../../etc/passwd" }))
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.getManifest(`${repo}:v1`))
      assert.strictEqual(error._tag, "InvalidResponse")
    }).pipe(Effect.provide(layer))
  })

  it.effect("refuses manifests over the size limit, by header or by bytes", () =>
    Effect.gen(function*() {
      const big = new Uint8Array(2048).fill(32)
      const declared = fakeRegistry(serveManifest(big), { client: { manifestSizeLimit: 1024 } })
      const e1 = yield* Effect.flip(Registry.getManifest(`${repo}:v1`).pipe(Effect.provide(declared.layer)))
      assert.strictEqual(e1._tag === "InvalidManifest" && e1.reason, "TooLarge")
      const undeclared = fakeRegistry(() =>
        new Response(
          new ReadableStream({
            start(controller) {
              for (let i = 0; i < 4; i++) controller.enqueue(new Uint8Array(512).fill(32))
              controller.close()
            }
          }),
          { headers: { "content-type": MediaType.ociManifest } }
        ), { client: { manifestSizeLimit: 1024 } })
      const e2 = yield* Effect.flip(Registry.getManifest(`${repo}:v1`).pipe(Effect.provide(undeclared.layer)))
      assert.strictEqual(e2._tag === "InvalidManifest" && e2.reason, "TooLarge")
    }))

  it.effect("refuses schema 1 manifests with a typed error", () => {
    const schema1 = encode({ schemaVersion: 1, name: "team/app", tag: "v1", fsLayers: [], history: [] })
    const { layer } = fakeRegistry(() =>
      new Response(schema1, { headers: { "content-type": MediaType.dockerSchema1SignedManifest } })
    )
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.getManifest(`${repo}:v1`))
      assert.strictEqual(error._tag === "InvalidManifest" && error.reason, "UnsupportedMediaType")
    }).pipe(Effect.provide(layer))
  })

  it.effect("headManifest reads headers, and fetches the body when the digest header is missing", () =>
    Effect.gen(function*() {
      const withHeader = fakeRegistry(serveManifest(image, { "docker-content-digest": imageDigest }))
      const head = yield* Registry.headManifest(`${repo}:v1`).pipe(Effect.provide(withHeader.layer))
      assert.deepStrictEqual([head.digest, head.size, head.mediaType], [
        imageDigest,
        image.length,
        MediaType.ociManifest
      ])
      assert.deepStrictEqual(withHeader.log.map((r) => r.method), ["HEAD"])
      const without = fakeRegistry(serveManifest(image))
      const fallback = yield* Registry.headManifest(`${repo}:v1`).pipe(Effect.provide(without.layer))
      assert.strictEqual(fallback.digest, imageDigest)
      assert.deepStrictEqual(without.log.map((r) => r.method), ["HEAD", "GET"])
    }))
})

describe("Registry.getBlob", () => {
  const serveBlob = (bytes: Uint8Array<ArrayBuffer>) => () =>
    new Response(bytes, { headers: { "content-length": String(bytes.length) } })

  it.effect("streams verified bytes", () => {
    const { layer } = fakeRegistry(serveBlob(layerBytes))
    return Effect.gen(function*() {
      const chunks = yield* Stream.runCollect(
        Registry.getBlob(repo, { digest: digestOf(layerBytes), size: layerBytes.length })
      )
      assert.strictEqual(new TextDecoder().decode(Chunk.toArray(chunks)[0]), "layer bytes")
    }).pipe(Effect.provide(layer))
  })

  it.effect("fails with DigestMismatch on altered bytes or a wrong Content-Length", () =>
    Effect.gen(function*() {
      const altered = fakeRegistry(serveBlob(new TextEncoder().encode("layer bytez")))
      const e1 = yield* Effect.flip(
        Stream.runDrain(Registry.getBlob(repo, digestOf(layerBytes))).pipe(Effect.provide(altered.layer))
      )
      assert.strictEqual(e1._tag, "DigestMismatch")
      const longer = fakeRegistry(serveBlob(new TextEncoder().encode("layer bytes and more")))
      const e2 = yield* Effect.flip(
        Stream.runDrain(Registry.getBlob(repo, { digest: digestOf(layerBytes), size: layerBytes.length })).pipe(
          Effect.provide(longer.layer)
        )
      )
      assert.strictEqual(e2._tag === "DigestMismatch" && e2.actualSize, 20)
    }))

  it.effect("refuses an invalid digest before any request", () => {
    const { layer, log } = fakeRegistry(serveBlob(layerBytes))
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Stream.runDrain(Registry.getBlob(repo, "sha256:../../secrets")))
      assert.strictEqual(error._tag, "InvalidReference")
      assert.strictEqual(log.length, 0)
    }).pipe(Effect.provide(layer))
  })
})

describe("Registry.getBlobBytes", () => {
  const serveBlob = (bytes: Uint8Array<ArrayBuffer>, status = 200) => () =>
    new Response(bytes, { status, headers: { "content-length": String(bytes.length) } })
  const sized = { digest: digestOf(layerBytes), size: layerBytes.length }

  it.effect("reads a sized blob whole in one GET, and an unsized one through the stream", () => {
    const { layer, log } = fakeRegistry(serveBlob(layerBytes))
    return Effect.gen(function*() {
      assert.strictEqual(new TextDecoder().decode(yield* Registry.getBlobBytes(repo, sized)), "layer bytes")
      assert.strictEqual(new TextDecoder().decode(yield* Registry.getBlobBytes(repo, sized.digest)), "layer bytes")
      assert.deepStrictEqual(log.map((r) => `${r.method} ${r.url.pathname}`), [
        `GET /v2/team/app/blobs/${sized.digest}`,
        `GET /v2/team/app/blobs/${sized.digest}`
      ])
    }).pipe(Effect.provide(layer))
  })

  it.effect("fails with DigestMismatch on altered bytes or a size other than the descriptor's", () =>
    Effect.gen(function*() {
      const altered = fakeRegistry(serveBlob(new TextEncoder().encode("layer bytez")))
      const e1 = yield* Effect.flip(Registry.getBlobBytes(repo, sized).pipe(Effect.provide(altered.layer)))
      assert.strictEqual(e1._tag === "DigestMismatch" && e1.actual?.startsWith("sha256:"), true)
      const longer = fakeRegistry(serveBlob(new TextEncoder().encode("layer bytes and more")))
      const e2 = yield* Effect.flip(Registry.getBlobBytes(repo, sized).pipe(Effect.provide(longer.layer)))
      assert.strictEqual(e2._tag === "DigestMismatch" && e2.actualSize, 20)
    }))

  it.effect("refuses a blob over maxSize: by its descriptor before any request, by its bytes otherwise", () => {
    const { layer, log } = fakeRegistry(serveBlob(layerBytes))
    return Effect.gen(function*() {
      const declared = yield* Effect.flip(Registry.getBlobBytes(repo, sized, { maxSize: 4 }))
      assert.strictEqual(declared._tag, "InvalidResponse")
      assert.strictEqual(log.length, 0)
      const counted = yield* Effect.flip(Registry.getBlobBytes(repo, sized.digest, { maxSize: 4 }))
      assert.strictEqual(counted._tag === "InvalidResponse" && counted.reason.includes("4 byte limit"), true)
    }).pipe(Effect.provide(layer))
  })

  it.effect("answers a missing blob with NotFound", () => {
    const { layer } = fakeRegistry(serveBlob(new TextEncoder().encode("{}"), 404))
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.getBlobBytes(repo, sized))
      assert.strictEqual(error._tag, "NotFound")
    }).pipe(Effect.provide(layer))
  })
})

describe("Registry.getReferrers", () => {
  const subject = `${repo}@${imageDigest}`
  const descriptor = (artifactType: string, n: number) => ({
    mediaType: MediaType.ociManifest,
    digest: `sha256:${String(n).repeat(64)}`,
    size: 10,
    artifactType
  })
  const index = (manifests: ReadonlyArray<unknown>) =>
    encode({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests })

  it.effect("pages through the referrers API and filters when the registry did not", () => {
    const { layer, log } = fakeRegistry((r) =>
      r.url.searchParams.get("page") === "2"
        ? new Response(index([descriptor("application/sig", 2)]), { headers: { "content-type": MediaType.ociIndex } })
        : new Response(index([descriptor("application/sbom", 1)]), {
          headers: {
            "content-type": MediaType.ociIndex,
            link: `</v2/team/app/referrers/${imageDigest}?page=2>; rel="next"`
          }
        })
    )
    return Effect.gen(function*() {
      const all = yield* Registry.getReferrers(subject)
      assert.deepStrictEqual(all.map((d) => d.artifactType), ["application/sbom", "application/sig"])
      const sigs = yield* Registry.getReferrers(subject, { artifactType: "application/sig" })
      assert.deepStrictEqual(sigs.map((d) => d.artifactType), ["application/sig"])
      assert.include(log[2]!.url.search, "artifactType=application%2Fsig")
    }).pipe(Effect.provide(layer))
  })

  it.effect("falls back to the sha256-<hex> tag on 404, and refuses a fallback that is not an index", () =>
    Effect.gen(function*() {
      const tag = `sha256-${imageDigest.slice(7)}`
      const fallback = fakeRegistry((r) =>
        r.url.pathname.endsWith(`/manifests/${tag}`)
          ? new Response(index([descriptor("application/sbom", 3)]), {
            headers: { "content-type": MediaType.ociIndex }
          })
          : new Response("404 page not found", { status: 404 })
      )
      const found = yield* Registry.getReferrers(subject).pipe(Effect.provide(fallback.layer))
      assert.deepStrictEqual(found.map((d) => d.artifactType), ["application/sbom"])
      const notIndex = fakeRegistry((r) =>
        r.url.pathname.endsWith(`/manifests/${tag}`)
          ? new Response(image, { headers: { "content-type": MediaType.ociManifest } })
          : new Response("", { status: 404 })
      )
      const error = yield* Effect.flip(Registry.getReferrers(subject).pipe(Effect.provide(notIndex.layer)))
      assert.strictEqual(error._tag, "InvalidManifest")
      const none = fakeRegistry(() => new Response("", { status: 404 }))
      assert.deepStrictEqual(yield* Registry.getReferrers(subject).pipe(Effect.provide(none.layer)), [])
    }))

  it.effect("needs a digest, not a tag", () => {
    const { layer } = fakeRegistry(() => new Response("", { status: 500 }))
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.getReferrers(`${repo}:v1`))
      assert.strictEqual(error._tag, "InvalidReference")
    }).pipe(Effect.provide(layer))
  })
})
