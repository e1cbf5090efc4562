/**
 * Reads against registries that bend the protocol: blob storage that refuses a `HEAD` on a URL
 * signed for `GET`, referrers endpoints that redirect to web pages or answer HTML, a manifest
 * `HEAD` that is not allowed, Artifactory's path prefix and `Link` headers that drop it. Each test
 * failed before the matching fix in `RegistryClient.ts`, `internal/paging.ts` or `Registry.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as BlobSource from "@ocireg/core/BlobSource"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Registry from "@ocireg/core/Registry"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { fakeRegistry, json, type Recorded, sha256Hex } from "../support/fakeRegistry.js"
import { to } from "./support.js"

const basic = `Basic ${btoa("alice:pw")}`
const credentials = { "registry.test": CredentialStore.basic("alice", Redacted.make("pw")) }
const blobBytes = new TextEncoder().encode("layer bytes ".repeat(100))
const blobDigest = `sha256:${sha256Hex(blobBytes)}`

describe("blob HEAD redirected to signed storage", () => {
  const handler = (r: Recorded) => {
    if (r.url.host === "storage.test") {
      if (r.method === "HEAD") return new Response(null, { status: 403 })
      if (r.headers["range"] === "bytes=0-0") {
        return new Response(blobBytes.subarray(0, 1), {
          status: 206,
          headers: { "content-range": `bytes 0-0/${blobBytes.length}`, "content-length": "1" }
        })
      }
      return new Response(blobBytes)
    }
    if (r.headers["authorization"] !== basic) {
      return new Response("", { status: 401, headers: { "www-authenticate": `Basic realm="r"` } })
    }
    if (r.url.pathname === `/v2/app/blobs/${blobDigest}`) {
      return new Response(null, { status: 307, headers: { location: "https://storage.test/blob?X-Amz-Signature=s" } })
    }
    return new Response("", { status: 404 })
  }

  it.effect("headBlob reads the size from a ranged GET when storage refuses HEAD, without credentials", () => {
    const { layer, log } = fakeRegistry(handler, { credentials })
    return Effect.gen(function*() {
      const head = yield* Registry.headBlob("registry.test/app", blobDigest)
      assert.strictEqual(head.size, blobBytes.length)
      assert.isTrue(to(log, "storage.test").every((r) => r.headers["authorization"] === undefined))
    }).pipe(Effect.provide(layer))
  })

  it.effect("uploadBlob finds the blob there instead of failing with AuthorizationError", () => {
    const { layer, log } = fakeRegistry(handler, { credentials })
    return Effect.gen(function*() {
      const source = yield* BlobSource.fromBytes(blobBytes)
      const result = yield* Registry.uploadBlob("registry.test/app", source)
      assert.strictEqual(result.outcome, "exists")
      assert.isFalse(log.some((r) => r.method === "POST"))
    }).pipe(Effect.provide(layer))
  })
})

describe("blob HEAD refused after a redirect the platform followed itself (fetch in browsers)", () => {
  it.effect("a 403 to HEAD is checked with a ranged GET", () => {
    const { layer } = fakeRegistry((r) => {
      if (r.method === "HEAD") return new Response(null, { status: 403 })
      if (r.headers["range"] === "bytes=0-0") {
        return new Response(blobBytes.subarray(0, 1), {
          status: 206,
          headers: { "content-range": `bytes 0-0/${blobBytes.length}` }
        })
      }
      return new Response("", { status: 404 })
    })
    return Effect.gen(function*() {
      assert.strictEqual((yield* Registry.headBlob("registry.test/app", blobDigest)).size, blobBytes.length)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a registry that really refuses still fails with AuthorizationError", () => {
    const { layer } = fakeRegistry(() => json({ errors: [{ code: "DENIED", message: "no" }] }, { status: 403 }))
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.headBlob("registry.test/app", blobDigest))
      assert.strictEqual(error._tag, "AuthorizationError")
    }).pipe(Effect.provide(layer))
  })
})

const subject = `sha256:${"a".repeat(64)}`
const referrer = {
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  digest: `sha256:${"b".repeat(64)}`,
  size: 321,
  artifactType: "application/spdx+json"
}
const fallbackIndex = JSON.stringify({
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: [referrer]
})

describe("referrers discovery", () => {
  const answers: ReadonlyArray<[string, () => Response]> = [
    [
      "a redirect to a web page on another origin (GHCR)",
      () => new Response(null, { status: 303, headers: { location: "https://github.test/-/v2/packages/container/x" } })
    ],
    [
      "an HTML page with 200",
      () => new Response("<!DOCTYPE html><html>Not here</html>", { headers: { "content-type": "text/html" } })
    ],
    ["405", () => new Response("", { status: 405 })],
    ["400", () => json({ errors: [{ code: "UNSUPPORTED" }] }, { status: 400 })],
    [
      "404 with an HTML body (guards existing behaviour)",
      () => new Response("<html>404</html>", { status: 404, headers: { "content-type": "text/html" } })
    ]
  ]
  for (const [name, answer] of answers) {
    it.effect(`${name} means no referrers API: the sha256-<hex> tag is read`, () => {
      const { layer, log } = fakeRegistry((r) => {
        if (r.url.host === "github.test") return new Response("rate limited", { status: 429 })
        if (r.url.pathname === `/v2/app/referrers/${subject}`) return answer()
        if (r.url.pathname === `/v2/app/manifests/sha256-${"a".repeat(64)}`) {
          return new Response(fallbackIndex, { headers: { "content-type": "application/vnd.oci.image.index.v1+json" } })
        }
        return new Response("", { status: 404 })
      })
      return Effect.gen(function*() {
        const found = yield* Registry.getReferrers(`registry.test/app@${subject}`)
        assert.deepStrictEqual(found.map((d) => d.digest), [referrer.digest])
        assert.strictEqual(to(log, "github.test").length, 0, "the web page was never fetched")
      }).pipe(Effect.provide(layer))
    })
  }
})

describe("referrers discovery with tokens", () => {
  it.effect("a 400 from the referrers endpoint to a valid token is no referrers API, not a token problem", () => {
    const { layer, log } = fakeRegistry((r) => {
      if (r.url.host === "auth.registry.test") return json({ token: "t" })
      if (r.headers["authorization"] !== "Bearer t") {
        return new Response("", {
          status: 401,
          headers: { "www-authenticate": `Bearer realm="https://auth.registry.test/token",service="registry.test"` }
        })
      }
      if (r.url.pathname === `/v2/app/referrers/${subject}`) {
        return json({ errors: [{ code: "UNSUPPORTED", message: "referrers" }] }, { status: 400 })
      }
      if (r.url.pathname === `/v2/app/manifests/sha256-${"a".repeat(64)}`) {
        return new Response(fallbackIndex, { headers: { "content-type": "application/vnd.oci.image.index.v1+json" } })
      }
      return new Response("", { status: 404 })
    }, { credentials })
    return Effect.gen(function*() {
      const found = yield* Registry.getReferrers(`registry.test/app@${subject}`)
      assert.deepStrictEqual(found.map((d) => d.digest), [referrer.digest])
      assert.strictEqual(to(log, "auth.registry.test").length, 1, "one token, no re-authentication")
    }).pipe(Effect.provide(layer))
  })
})

describe("manifest HEAD", () => {
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: blobDigest, size: blobBytes.length },
    layers: []
  })
  it.effect("a HEAD answered 404 (older Nexus, GAR for some indexes) is checked with GET", () => {
    const { layer, log } = fakeRegistry((r) => {
      if (r.url.pathname !== "/v2/app/manifests/v1" || r.method === "HEAD") return new Response(null, { status: 404 })
      return new Response(manifest, { headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } })
    })
    return Effect.gen(function*() {
      const head = yield* Registry.headManifest("registry.test/app:v1")
      assert.strictEqual(head.digest, `sha256:${sha256Hex(manifest)}`)
      const missing = yield* Effect.flip(Registry.headManifest("registry.test/app:v2"))
      assert.strictEqual(missing._tag === "NotFound" && missing.kind, "tag")
      assert.deepStrictEqual(log.map((r) => r.method), ["HEAD", "GET", "HEAD", "GET"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a registry that answers HEAD with 405 is asked with GET, and the digest computed", () => {
    const { layer } = fakeRegistry((r) => {
      if (r.url.pathname !== "/v2/app/manifests/v1") return new Response("", { status: 404 })
      if (r.method === "HEAD") return new Response(null, { status: 405 })
      return new Response(manifest, { headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } })
    })
    return Effect.gen(function*() {
      const head = yield* Registry.headManifest("registry.test/app:v1")
      assert.strictEqual(head.digest, `sha256:${sha256Hex(manifest)}`)
      assert.strictEqual(head.size, new TextEncoder().encode(manifest).length)
    }).pipe(Effect.provide(layer))
  })
})

describe("path-prefixed registries and Link headers", () => {
  const tagPages = (prefix: string, repository: string) => (r: Recorded) => {
    if (r.url.pathname === `${prefix}/v2/`) return json({})
    if (r.url.pathname !== `${prefix}/v2/${repository}/tags/list`) return new Response("", { status: 404 })
    // Artifactory writes the next Link without its prefix or repository key (RTFACT-18971)
    return r.url.searchParams.get("last") === "b"
      ? json({ name: repository, tags: ["c"] })
      : json({ name: repository, tags: ["a", "b"] }, {
        headers: { link: `</v2/app/tags/list?last=b&n=2>; rel="next"` }
      })
  }

  it.effect("pathPrefix puts every request under Artifactory's API path, Link pages included", () => {
    const prefix = "/artifactory/api/docker/docker-local"
    const { layer, log } = fakeRegistry(tagPages(prefix, "app"), {
      client: { pathPrefix: { "art.test": prefix } }
    })
    return Effect.gen(function*() {
      yield* Registry.ping("art.test")
      assert.deepStrictEqual(yield* Registry.listAllTags("art.test/app", { pageSize: 2 }), ["a", "b", "c"])
      assert.isTrue(log.every((r) => r.url.pathname.startsWith(`${prefix}/v2/`)), "nothing left the prefix")
    }).pipe(Effect.provide(layer))
  })

  it.effect("a Link that drops the repository key keeps the endpoint's path", () => {
    const { layer, log } = fakeRegistry(tagPages("", "docker/app"))
    return Effect.gen(function*() {
      assert.deepStrictEqual(yield* Registry.listAllTags("art.test/docker/app", { pageSize: 2 }), ["a", "b", "c"])
      assert.isTrue(log.every((r) => r.url.pathname === "/v2/docker/app/tags/list"))
    }).pipe(Effect.provide(layer))
  })
})

describe("pages without Link", () => {
  const all = ["a", "b", "c", "d", "e"]
  it.effect("a full page without Link is followed with ?last= (Nexus group repositories)", () => {
    const { layer } = fakeRegistry((r) => {
      const n = Number(r.url.searchParams.get("n"))
      const last = r.url.searchParams.get("last")
      const from = last === null ? 0 : all.indexOf(last) + 1
      return json({ name: "app", tags: all.slice(from, from + n) })
    })
    return Effect.gen(function*() {
      assert.deepStrictEqual(yield* Registry.listAllTags("registry.test/app", { pageSize: 2 }), all)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a registry that ignores last is not listed twice", () => {
    const { layer, log } = fakeRegistry(() => json({ name: "app", tags: ["a", "b"] }))
    return Effect.gen(function*() {
      assert.deepStrictEqual(yield* Registry.listAllTags("registry.test/app", { pageSize: 2 }), ["a", "b"])
      assert.strictEqual(log.length, 2)
    }).pipe(Effect.provide(layer))
  })
})
