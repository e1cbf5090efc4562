import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it, layer } from "@effect/vitest"
import { sha256 } from "@noble/hashes/sha2"
import { bytesToHex } from "@noble/hashes/utils"
import { Hasher } from "@ocireg/core/Digest"
import * as MediaType from "@ocireg/core/MediaType"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"

// helpers ---------------------------------------------------------------------------------------

const TestHasher = Layer.succeed(Hasher, {
  create: () => {
    const hash = sha256.create()
    return { update: (chunk) => void hash.update(chunk), hex: () => bytesToHex(hash.digest()) }
  }
})

const registryLayer = (options?: RegistryTest.Options) =>
  RegistryTest.layer(options).pipe(Layer.provideMerge(TestHasher))

const withRegistry = (options?: RegistryTest.Options) => Effect.provide(registryLayer(options))

const encode = (text: string): Uint8Array => new TextEncoder().encode(text)
const encodeJson = (value: unknown): Uint8Array => encode(JSON.stringify(value))
const digestOf = (bytes: Uint8Array): string => `sha256:${bytesToHex(sha256(bytes))}`
const origin = "https://registry.test"
const absolute = (path: string): string => new URL(path, origin).href

const send = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.flatMap(HttpClient.HttpClient, (client) => client.execute(request))

const withHeaders = (headers: Record<string, string>) => HttpClientRequest.setHeaders(headers)

const get = (path: string, headers: Record<string, string> = {}) =>
  send(HttpClientRequest.get(absolute(path)).pipe(withHeaders(headers)))
const head = (path: string, headers: Record<string, string> = {}) =>
  send(HttpClientRequest.head(absolute(path)).pipe(withHeaders(headers)))
const del = (path: string, headers: Record<string, string> = {}) =>
  send(HttpClientRequest.del(absolute(path)).pipe(withHeaders(headers)))
const post = (path: string, body?: Uint8Array, headers: Record<string, string> = {}) =>
  send(
    HttpClientRequest.post(absolute(path)).pipe(
      withHeaders(headers),
      body === undefined ? (r) => r : HttpClientRequest.bodyUint8Array(body)
    )
  )
const patch = (path: string, body: Uint8Array, headers: Record<string, string> = {}) =>
  send(HttpClientRequest.patch(absolute(path)).pipe(withHeaders(headers), HttpClientRequest.bodyUint8Array(body)))
const put = (path: string, body?: Uint8Array, contentType?: string, headers: Record<string, string> = {}) =>
  send(
    HttpClientRequest.put(absolute(path)).pipe(
      withHeaders(headers),
      body === undefined ? (r) => r : HttpClientRequest.bodyUint8Array(body, contentType)
    )
  )

interface ErrorBody {
  readonly errors: ReadonlyArray<{ readonly code: string; readonly message: string; readonly detail?: unknown }>
}
const errorsOf = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.map(response.json, (body) => body as ErrorBody)
const codesOf = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.map(errorsOf(response), (body) => body.errors.map((e) => e.code))
const bytesOf = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.map(response.arrayBuffer, (buffer) => new Uint8Array(buffer))
const textOf = (response: HttpClientResponse.HttpClientResponse) => response.text

const pushBlob = (name: string, bytes: Uint8Array, headers: Record<string, string> = {}) =>
  post(`/v2/${name}/blobs/uploads/?digest=${digestOf(bytes)}`, bytes, headers)

const pushManifest = (
  name: string,
  reference: string,
  bytes: Uint8Array,
  mediaType: string = MediaType.ociManifest,
  headers: Record<string, string> = {}
) => put(`/v2/${name}/manifests/${reference}`, bytes, mediaType, headers)

const descriptor = (mediaType: string, bytes: Uint8Array) => ({
  mediaType,
  digest: digestOf(bytes),
  size: bytes.length
})

const imageManifest = (config: Uint8Array, layers: ReadonlyArray<Uint8Array>, extra: object = {}) =>
  encodeJson({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: descriptor(MediaType.ociConfig, config),
    layers: layers.map((l) => descriptor(MediaType.ociLayerTarGzip, l)),
    ...extra
  })

/** Pushes a config, one layer and an image manifest under `tag`; returns the manifest. */
const pushImage = (name: string, tag: string, seed: string, extra: object = {}) =>
  Effect.gen(function*() {
    const config = encodeJson({ seed })
    const layerBytes = encode(`layer of ${seed}`)
    assert.strictEqual((yield* pushBlob(name, config)).status, 201)
    assert.strictEqual((yield* pushBlob(name, layerBytes)).status, 201)
    const bytes = imageManifest(config, [layerBytes], extra)
    const response = yield* pushManifest(name, tag, bytes)
    assert.strictEqual(response.status, 201)
    return { bytes, digest: digestOf(bytes), config, layer: layerBytes }
  })

const basic = (user: string, password: string) => ({ authorization: `Basic ${btoa(`${user}:${password}`)}` })
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

const fetchToken = (scope: ReadonlyArray<string>, credentials: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const query = new URLSearchParams([["service", "registry.test"], ...scope.map((s) => ["scope", s])])
    const response = yield* get(`/token?${query}`, credentials)
    assert.strictEqual(response.status, 200)
    return (yield* response.json) as {
      readonly token: string
      readonly access_token: string
      readonly expires_in: number
      readonly issued_at: string
      readonly refresh_token?: string
    }
  })

// no authentication -------------------------------------------------------------------------------

layer(registryLayer())("RegistryTest without auth", (it) => {
  it.effect("GET /v2/ answers 200 {} with the API version header", () =>
    Effect.gen(function*() {
      const response = yield* get("/v2/")
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.headers["docker-distribution-api-version"], "registry/2.0")
      assert.deepStrictEqual(yield* response.json, {})
    }))

  it.effect("unknown paths get Go's 404 page, wrong methods 405, bad names 400 NAME_INVALID", () =>
    Effect.gen(function*() {
      const missing = yield* get("/v2/team/app/unknown/thing")
      assert.strictEqual(missing.status, 404)
      assert.strictEqual(yield* textOf(missing), "404 page not found\n")
      const method = yield* post("/v2/team/app/manifests/latest")
      assert.strictEqual(method.status, 405)
      assert.deepStrictEqual(yield* codesOf(method), ["UNSUPPORTED"])
      const name = yield* get("/v2/Team/App/tags/list")
      assert.strictEqual(name.status, 400)
      assert.deepStrictEqual(yield* codesOf(name), ["NAME_INVALID"])
    }))

  it.effect("monolithic POST ?digest= stores a blob (201) that GET and HEAD serve", () =>
    Effect.gen(function*() {
      const bytes = encode("hello blob")
      const digest = digestOf(bytes)
      const created = yield* pushBlob("mono/app", bytes)
      assert.strictEqual(created.status, 201)
      assert.strictEqual(created.headers["location"], `/v2/mono/app/blobs/${digest}`)
      assert.strictEqual(created.headers["docker-content-digest"], digest)

      const got = yield* get(`/v2/mono/app/blobs/${digest}`)
      assert.strictEqual(got.status, 200)
      assert.strictEqual(got.headers["docker-content-digest"], digest)
      assert.strictEqual(got.headers["content-length"], String(bytes.length))
      assert.deepStrictEqual(yield* bytesOf(got), bytes)

      const headed = yield* head(`/v2/mono/app/blobs/${digest}`)
      assert.strictEqual(headed.status, 200)
      assert.strictEqual(headed.headers["content-length"], String(bytes.length))
      assert.strictEqual((yield* bytesOf(headed)).length, 0)

      const unknown = yield* get(`/v2/mono/app/blobs/${digestOf(encode("nope"))}`)
      assert.strictEqual(unknown.status, 404)
      assert.deepStrictEqual(yield* codesOf(unknown), ["BLOB_UNKNOWN"])
      const bad = yield* get("/v2/mono/app/blobs/sha256:abc")
      assert.strictEqual(bad.status, 400)
      assert.deepStrictEqual(yield* codesOf(bad), ["DIGEST_INVALID"])
    }))

  it.effect("a monolithic POST whose bytes do not match the digest is 400 DIGEST_INVALID", () =>
    Effect.gen(function*() {
      const response = yield* post(`/v2/mono/bad/blobs/uploads/?digest=${digestOf(encode("a"))}`, encode("b"))
      assert.strictEqual(response.status, 400)
      assert.deepStrictEqual(yield* codesOf(response), ["DIGEST_INVALID"])
    }))

  it.effect("chunked upload: POST (Range 0-0), PATCH with Content-Range, GET status, PUT ?digest=", () =>
    Effect.gen(function*() {
      const registry = yield* RegistryTest.TestRegistry
      const started = yield* post("/v2/chunked/app/blobs/uploads/")
      assert.strictEqual(started.status, 202)
      assert.strictEqual(started.headers["range"], "0-0")
      assert.strictEqual(started.headers["content-length"], "0")
      const uuid = started.headers["docker-upload-uuid"]
      const first = started.headers["location"]
      assert.match(first, new RegExp(`^/v2/chunked/app/blobs/uploads/${uuid}\\?_state=[0-9a-f]+$`))
      assert.isTrue(registry.uploads().some((u) => u.id === uuid && u.size === 0))

      const patched = yield* patch(first, encode("hello "), { "content-range": "0-5" })
      assert.strictEqual(patched.status, 202)
      assert.strictEqual(patched.headers["range"], "0-5")
      const second = patched.headers["location"]
      assert.notStrictEqual(second, first)

      const status = yield* get(second)
      assert.strictEqual(status.status, 204)
      assert.strictEqual(status.headers["range"], "0-5")
      assert.strictEqual(status.headers["location"], second)

      const patched2 = yield* patch(second, encode("world"), { "content-range": "6-10" })
      assert.strictEqual(patched2.headers["range"], "0-10")
      const whole = encode("hello world!")
      const done = yield* put(`${patched2.headers["location"]}&digest=${digestOf(whole)}`, encode("!"))
      assert.strictEqual(done.status, 201)
      assert.strictEqual(done.headers["docker-content-digest"], digestOf(whole))
      assert.strictEqual(done.headers["location"], `/v2/chunked/app/blobs/${digestOf(whole)}`)
      assert.deepStrictEqual(yield* bytesOf(yield* get(`/v2/chunked/app/blobs/${digestOf(whole)}`)), whole)
      assert.isFalse(registry.uploads().some((u) => u.id === uuid))
    }))

  it.effect("a PATCH at the wrong offset is 416 RANGE_INVALID; a stale or bare Location is 400", () =>
    Effect.gen(function*() {
      const started = yield* post("/v2/chunked/offsets/blobs/uploads/")
      const first = started.headers["location"]
      const patched = yield* patch(first, encode("abc"), { "content-range": "0-2" })
      const second = patched.headers["location"]

      const wrong = yield* patch(second, encode("def"), { "content-range": "5-7" })
      assert.strictEqual(wrong.status, 416)
      assert.deepStrictEqual(yield* codesOf(wrong), ["RANGE_INVALID"])
      assert.strictEqual(wrong.headers["range"], "0-2")

      const mismatch = yield* patch(second, encode("def"), { "content-range": "3-9" })
      assert.strictEqual(mismatch.status, 416)

      const stale = yield* patch(first, encode("def"), { "content-range": "3-5" })
      assert.strictEqual(stale.status, 400)
      assert.deepStrictEqual(yield* codesOf(stale), ["BLOB_UPLOAD_INVALID"])

      const bare = yield* patch(second.slice(0, second.indexOf("?")), encode("def"))
      assert.strictEqual(bare.status, 400)
      assert.deepStrictEqual(yield* codesOf(bare), ["BLOB_UPLOAD_INVALID"])

      // the right offset still works after the refusals
      const right = yield* patch(second, encode("def"), { "content-range": "3-5" })
      assert.strictEqual(right.status, 202)
      assert.strictEqual(right.headers["range"], "0-5")
    }))

  it.effect("a streamed PATCH without Content-Range appends", () =>
    Effect.gen(function*() {
      const started = yield* post("/v2/chunked/stream/blobs/uploads/")
      const streamed = yield* send(
        HttpClientRequest.patch(absolute(started.headers["location"])).pipe(
          HttpClientRequest.bodyStream(Stream.make(encode("one "), encode("two "), encode("three")))
        )
      )
      assert.strictEqual(streamed.status, 202)
      assert.strictEqual(streamed.headers["range"], "0-12")
      const whole = encode("one two three")
      const done = yield* put(`${streamed.headers["location"]}&digest=${digestOf(whole)}`)
      assert.strictEqual(done.status, 201)
    }))

  it.effect("a PATCH whose Content-Length does not match its body is 400 SIZE_INVALID", () =>
    Effect.gen(function*() {
      const started = yield* post("/v2/chunked/length/blobs/uploads/")
      const response = yield* send(
        HttpClientRequest.patch(absolute(started.headers["location"])).pipe(
          HttpClientRequest.bodyUint8Array(encode("abc")),
          HttpClientRequest.setHeader("content-length", "10")
        )
      )
      assert.strictEqual(response.status, 400)
      assert.deepStrictEqual(yield* codesOf(response), ["SIZE_INVALID"])
    }))

  it.effect("PUT with a digest that does not match is 400 DIGEST_INVALID and ends the session", () =>
    Effect.gen(function*() {
      const started = yield* post("/v2/chunked/mismatch/blobs/uploads/")
      const patched = yield* patch(started.headers["location"], encode("data"), { "content-range": "0-3" })
      const location = patched.headers["location"]
      const missing = yield* put(location)
      assert.strictEqual(missing.status, 400)
      assert.deepStrictEqual(yield* codesOf(missing), ["DIGEST_INVALID"])
      const wrong = yield* put(`${location}&digest=${digestOf(encode("other"))}`)
      assert.strictEqual(wrong.status, 400)
      assert.deepStrictEqual(yield* codesOf(wrong), ["DIGEST_INVALID"])
      const gone = yield* get(location)
      assert.strictEqual(gone.status, 404)
      assert.deepStrictEqual(yield* codesOf(gone), ["BLOB_UPLOAD_UNKNOWN"])
    }))

  it.effect("DELETE on an upload cancels it (204)", () =>
    Effect.gen(function*() {
      const started = yield* post("/v2/chunked/cancel/blobs/uploads/")
      const cancelled = yield* del(started.headers["location"])
      assert.strictEqual(cancelled.status, 204)
      const gone = yield* get(started.headers["location"])
      assert.strictEqual(gone.status, 404)
      assert.deepStrictEqual(yield* codesOf(gone), ["BLOB_UPLOAD_UNKNOWN"])
    }))

  it.effect("Range reads: 206 with Content-Range, suffix and open ranges, 416 beyond the end", () =>
    Effect.gen(function*() {
      const bytes = encode("0123456789")
      yield* pushBlob("ranges/app", bytes)
      const path = `/v2/ranges/app/blobs/${digestOf(bytes)}`
      const middle = yield* get(path, { range: "bytes=2-5" })
      assert.strictEqual(middle.status, 206)
      assert.strictEqual(middle.headers["content-range"], "bytes 2-5/10")
      assert.strictEqual(middle.headers["content-length"], "4")
      assert.strictEqual(yield* textOf(middle), "2345")
      const open = yield* get(path, { range: "bytes=7-" })
      assert.strictEqual(yield* textOf(open), "789")
      const suffix = yield* get(path, { range: "bytes=-2" })
      assert.strictEqual(suffix.headers["content-range"], "bytes 8-9/10")
      assert.strictEqual(yield* textOf(suffix), "89")
      const beyond = yield* get(path, { range: "bytes=10-" })
      assert.strictEqual(beyond.status, 416)
      assert.strictEqual(beyond.headers["content-range"], "bytes */10")
    }))

  it.effect("blobs are linked per repository; a mount is 201 when the source has it, else 202", () =>
    Effect.gen(function*() {
      const bytes = encode("shared layer")
      const digest = digestOf(bytes)
      yield* pushBlob("mount/source", bytes)
      const elsewhere = yield* head(`/v2/mount/target/blobs/${digest}`)
      assert.strictEqual(elsewhere.status, 404)

      const mounted = yield* post(`/v2/mount/target/blobs/uploads/?mount=${digest}&from=mount/source`)
      assert.strictEqual(mounted.status, 201)
      assert.strictEqual(mounted.headers["location"], `/v2/mount/target/blobs/${digest}`)
      assert.strictEqual(mounted.headers["docker-content-digest"], digest)
      assert.strictEqual((yield* head(`/v2/mount/target/blobs/${digest}`)).status, 200)

      const unknown = digestOf(encode("not there"))
      const opened = yield* post(`/v2/mount/other/blobs/uploads/?mount=${unknown}&from=mount/source`)
      assert.strictEqual(opened.status, 202)
      assert.strictEqual(opened.headers["range"], "0-0")
      assert.isString(opened.headers["docker-upload-uuid"])
    }))

  it.effect("manifests: PUT by tag (201), GET serves the exact bytes, HEAD the headers", () =>
    Effect.gen(function*() {
      const image = yield* pushImage("manifests/app", "v1", "m1")
      const registry = yield* RegistryTest.TestRegistry
      assert.strictEqual(registry.tags("manifests/app").get("v1"), image.digest)

      const got = yield* get("/v2/manifests/app/manifests/v1", { accept: MediaType.manifestAccept })
      assert.strictEqual(got.status, 200)
      assert.strictEqual(got.headers["content-type"], MediaType.ociManifest)
      assert.strictEqual(got.headers["docker-content-digest"], image.digest)
      assert.strictEqual(got.headers["content-length"], String(image.bytes.length))
      assert.deepStrictEqual(yield* bytesOf(got), image.bytes)

      const byDigest = yield* get(`/v2/manifests/app/manifests/${image.digest}`, { accept: "text/plain" })
      assert.strictEqual(byDigest.status, 200)
      assert.deepStrictEqual(yield* bytesOf(byDigest), image.bytes)

      const headed = yield* head("/v2/manifests/app/manifests/v1")
      assert.strictEqual(headed.status, 200)
      assert.strictEqual(headed.headers["docker-content-digest"], image.digest)
      assert.strictEqual(headed.headers["content-length"], String(image.bytes.length))

      const unknown = yield* get("/v2/manifests/app/manifests/nope")
      assert.strictEqual(unknown.status, 404)
      assert.deepStrictEqual(yield* codesOf(unknown), ["MANIFEST_UNKNOWN"])
    }))

  it.effect("manifest PUT answers Location and Docker-Content-Digest; PUT by digest must match", () =>
    Effect.gen(function*() {
      const config = encodeJson({ seed: "by-digest" })
      yield* pushBlob("manifests/digest", config)
      const bytes = imageManifest(config, [])
      const created = yield* pushManifest("manifests/digest", digestOf(bytes), bytes)
      assert.strictEqual(created.status, 201)
      assert.strictEqual(created.headers["location"], `/v2/manifests/digest/manifests/${digestOf(bytes)}`)
      assert.strictEqual(created.headers["docker-content-digest"], digestOf(bytes))
      assert.isUndefined(created.headers["oci-subject"])

      const wrong = yield* pushManifest("manifests/digest", digestOf(encode("other")), bytes)
      assert.strictEqual(wrong.status, 400)
      assert.deepStrictEqual(yield* codesOf(wrong), ["DIGEST_INVALID"])
    }))

  it.effect("a manifest referencing a missing blob is 400 MANIFEST_BLOB_UNKNOWN, one error per blob", () =>
    Effect.gen(function*() {
      const config = encodeJson({ seed: "missing" })
      const layerBytes = encode("missing layer")
      yield* pushBlob("manifests/missing", config)
      const response = yield* pushManifest("manifests/missing", "v1", imageManifest(config, [layerBytes]))
      assert.strictEqual(response.status, 400)
      const body = yield* errorsOf(response)
      assert.deepStrictEqual(body.errors.map((e) => [e.code, e.detail]), [
        ["MANIFEST_BLOB_UNKNOWN", digestOf(layerBytes)]
      ])
      // a blob of another repository does not count
      yield* pushBlob("manifests/elsewhere", layerBytes)
      const still = yield* pushManifest("manifests/missing", "v1", imageManifest(config, [layerBytes]))
      assert.strictEqual(still.status, 400)
    }))

  it.effect("invalid manifests are 400 MANIFEST_INVALID; oversized ones 413", () =>
    Effect.gen(function*() {
      const notJson = yield* pushManifest("manifests/invalid", "v1", encode("{not json"))
      assert.strictEqual(notJson.status, 400)
      assert.deepStrictEqual(yield* codesOf(notJson), ["MANIFEST_INVALID"])

      const config = encodeJson({ seed: "invalid" })
      yield* pushBlob("manifests/invalid", config)
      const mismatch = yield* pushManifest("manifests/invalid", "v1", imageManifest(config, []), MediaType.ociIndex)
      assert.strictEqual(mismatch.status, 400)
      assert.deepStrictEqual(yield* codesOf(mismatch), ["MANIFEST_INVALID"])

      const schema1 = yield* pushManifest("manifests/invalid", "v1", encodeJson({ schemaVersion: 1 }))
      assert.strictEqual(schema1.status, 400)

      const badDescriptor = encodeJson({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: "sha256:xyz", size: 2 },
        layers: []
      })
      assert.strictEqual((yield* pushManifest("manifests/invalid", "v1", badDescriptor)).status, 400)

      const huge = encode(`{"schemaVersion":2,"pad":"${"x".repeat(4 * 1024 * 1024)}"}`)
      const tooLarge = yield* pushManifest("manifests/invalid", "v1", huge)
      assert.strictEqual(tooLarge.status, 413)
      assert.deepStrictEqual(yield* codesOf(tooLarge), ["MANIFEST_INVALID"])
    }))

  it.effect("an index needs its child manifests in the repository", () =>
    Effect.gen(function*() {
      const child = yield* pushImage("manifests/index", "child", "index-child")
      const index = (digest: string, size: number) =>
        encodeJson({
          schemaVersion: 2,
          mediaType: MediaType.ociIndex,
          manifests: [{
            mediaType: MediaType.ociManifest,
            digest,
            size,
            platform: { os: "linux", architecture: "amd64" }
          }]
        })
      const missing = yield* pushManifest(
        "manifests/index",
        "multi",
        index(digestOf(encode("x")), 1),
        MediaType.ociIndex
      )
      assert.strictEqual(missing.status, 400)
      assert.deepStrictEqual(yield* codesOf(missing), ["MANIFEST_BLOB_UNKNOWN"])
      const bytes = index(child.digest, child.bytes.length)
      const created = yield* pushManifest("manifests/index", "multi", bytes, MediaType.ociIndex)
      assert.strictEqual(created.status, 201)
      const got = yield* get("/v2/manifests/index/manifests/multi")
      assert.strictEqual(got.headers["content-type"], MediaType.ociIndex)
    }))

  it.effect("tags list pages with n and last, announcing the next page in Link", () =>
    Effect.gen(function*() {
      const registry = yield* RegistryTest.TestRegistry
      const bytes = encodeJson({ schemaVersion: 2, mediaType: MediaType.ociManifest })
      for (const tag of ["c", "a", "b", "e", "d"]) registry.putManifest("paging/app", tag, bytes)
      const first = yield* get("/v2/paging/app/tags/list?n=2")
      assert.deepStrictEqual(yield* first.json, { name: "paging/app", tags: ["a", "b"] })
      assert.strictEqual(first.headers["link"], "</v2/paging/app/tags/list?last=b&n=2>; rel=\"next\"")
      const second = yield* get("/v2/paging/app/tags/list?last=b&n=2")
      assert.deepStrictEqual(yield* second.json, { name: "paging/app", tags: ["c", "d"] })
      const third = yield* get("/v2/paging/app/tags/list?last=d&n=2")
      assert.deepStrictEqual(yield* third.json, { name: "paging/app", tags: ["e"] })
      assert.isUndefined(third.headers["link"])
      const all = yield* get("/v2/paging/app/tags/list")
      assert.deepStrictEqual(((yield* all.json) as { tags: Array<string> }).tags, ["a", "b", "c", "d", "e"])
      const bad = yield* get("/v2/paging/app/tags/list?n=-1")
      assert.strictEqual(bad.status, 400)
      const unknown = yield* get("/v2/paging/none/tags/list")
      assert.strictEqual(unknown.status, 404)
      assert.deepStrictEqual(yield* codesOf(unknown), ["NAME_UNKNOWN"])
    }))

  it.effect("referrers: OCI-Subject on PUT, an index of referrers, the artifactType filter", () =>
    Effect.gen(function*() {
      const subject = yield* pushImage("referrers/app", "v1", "subject")
      const subjectDescriptor = { mediaType: MediaType.ociManifest, digest: subject.digest, size: subject.bytes.length }
      const empty = encode("{}")
      yield* pushBlob("referrers/app", empty)
      const signature = encodeJson({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        artifactType: "application/vnd.example.signature",
        config: descriptor(MediaType.ociEmpty, empty),
        layers: [descriptor(MediaType.ociEmpty, empty)],
        subject: subjectDescriptor,
        annotations: { "org.example.kind": "signature" }
      })
      const signed = yield* pushManifest("referrers/app", digestOf(signature), signature)
      assert.strictEqual(signed.status, 201)
      assert.strictEqual(signed.headers["oci-subject"], subject.digest)
      // no artifactType: the config media type stands for it
      const sbomConfig = encodeJson({ sbom: true })
      yield* send(
        HttpClientRequest.post(absolute(`/v2/referrers/app/blobs/uploads/?digest=${digestOf(sbomConfig)}`)).pipe(
          HttpClientRequest.bodyUint8Array(sbomConfig)
        )
      )
      const sbom = encodeJson({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: descriptor("application/vnd.example.sbom", sbomConfig),
        layers: [],
        subject: subjectDescriptor
      })
      assert.strictEqual((yield* pushManifest("referrers/app", digestOf(sbom), sbom)).status, 201)

      const all = yield* get(`/v2/referrers/app/referrers/${subject.digest}`)
      assert.strictEqual(all.status, 200)
      assert.strictEqual(all.headers["content-type"], MediaType.ociIndex)
      assert.isUndefined(all.headers["oci-filters-applied"])
      assert.deepStrictEqual(yield* all.json, {
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [
          {
            mediaType: MediaType.ociManifest,
            digest: digestOf(signature),
            size: signature.length,
            artifactType: "application/vnd.example.signature",
            annotations: { "org.example.kind": "signature" }
          },
          {
            mediaType: MediaType.ociManifest,
            digest: digestOf(sbom),
            size: sbom.length,
            artifactType: "application/vnd.example.sbom"
          }
        ]
      })
      const filtered = yield* get(
        `/v2/referrers/app/referrers/${subject.digest}?artifactType=application/vnd.example.sbom`
      )
      assert.strictEqual(filtered.headers["oci-filters-applied"], "artifactType")
      const index = (yield* filtered.json) as { manifests: Array<{ digest: string }> }
      assert.deepStrictEqual(index.manifests.map((m) => m.digest), [digestOf(sbom)])

      const none = yield* get(`/v2/referrers/app/referrers/${digestOf(encode("no subject"))}`)
      assert.strictEqual(none.status, 200)
      assert.deepStrictEqual(((yield* none.json) as { manifests: Array<unknown> }).manifests, [])
    }))

  it.effect("DELETE of a manifest by digest removes its tags; by tag is 400 UNSUPPORTED by default", () =>
    Effect.gen(function*() {
      const image = yield* pushImage("delete/app", "v1", "delete")
      const registry = yield* RegistryTest.TestRegistry
      registry.putManifest("delete/app", "v2", image.bytes)
      const byTag = yield* del("/v2/delete/app/manifests/v1")
      assert.strictEqual(byTag.status, 400)
      assert.deepStrictEqual(yield* codesOf(byTag), ["UNSUPPORTED"])
      const byDigest = yield* del(`/v2/delete/app/manifests/${image.digest}`)
      assert.strictEqual(byDigest.status, 202)
      assert.strictEqual(registry.tags("delete/app").size, 0)
      assert.strictEqual((yield* get("/v2/delete/app/manifests/v1")).status, 404)
      assert.strictEqual((yield* get(`/v2/delete/app/manifests/${image.digest}`)).status, 404)
      assert.strictEqual((yield* del(`/v2/delete/app/manifests/${image.digest}`)).status, 404)

      const blob = yield* del(`/v2/delete/app/blobs/${digestOf(image.layer)}`)
      assert.strictEqual(blob.status, 202)
      const gone = yield* get(`/v2/delete/app/blobs/${digestOf(image.layer)}`)
      assert.strictEqual(gone.status, 404)
      assert.deepStrictEqual(yield* codesOf(gone), ["BLOB_UNKNOWN"])
    }))

  it.effect("injected failures answer the next matching requests, then the registry recovers", () =>
    Effect.gen(function*() {
      const registry = yield* RegistryTest.TestRegistry
      registry.failNext({
        status: 429,
        code: "TOOMANYREQUESTS",
        headers: { "retry-after": "1" },
        match: (r) => r.path === "/v2/",
        times: 2
      })
      const first = yield* get("/v2/")
      assert.strictEqual(first.status, 429)
      assert.strictEqual(first.headers["retry-after"], "1")
      assert.deepStrictEqual(yield* codesOf(first), ["TOOMANYREQUESTS"])
      assert.strictEqual((yield* get("/v2/")).status, 429)
      assert.strictEqual((yield* get("/v2/")).status, 200)
      const log = registry.requests().filter((r) => r.path === "/v2/").slice(-3)
      assert.deepStrictEqual(log.map((r) => [r.method, r.status]), [["GET", 429], ["GET", 429], ["GET", 200]])
    }))
})

// options -----------------------------------------------------------------------------------------

describe("RegistryTest options", () => {
  it.effect("the catalog pages like tags, capped by pageSize", () =>
    Effect.gen(function*() {
      const registry = yield* RegistryTest.TestRegistry
      for (const name of ["d/app", "a/app", "c/app", "b/app"]) registry.putBlob(name, encode(name))
      const first = yield* get("/v2/_catalog?n=10")
      assert.deepStrictEqual(yield* first.json, { repositories: ["a/app", "b/app", "c/app"] })
      assert.strictEqual(first.headers["link"], "</v2/_catalog?last=c%2Fapp&n=3>; rel=\"next\"")
      const second = yield* get("/v2/_catalog?last=c%2Fapp&n=3")
      assert.deepStrictEqual(yield* second.json, { repositories: ["d/app"] })
      assert.isUndefined(second.headers["link"])
    }).pipe(withRegistry({ pageSize: 3 })))

  it.effect("tagDelete: true makes DELETE by tag remove only the tag (202)", () =>
    Effect.gen(function*() {
      const image = yield* pushImage("tags/app", "v1", "tag-delete")
      const deleted = yield* del("/v2/tags/app/manifests/v1")
      assert.strictEqual(deleted.status, 202)
      assert.strictEqual((yield* get("/v2/tags/app/manifests/v1")).status, 404)
      assert.strictEqual((yield* get(`/v2/tags/app/manifests/${image.digest}`)).status, 200)
    }).pipe(withRegistry({ tagDelete: true })))

  it.effect("deleteEnabled: false answers 405 UNSUPPORTED", () =>
    Effect.gen(function*() {
      const image = yield* pushImage("nodelete/app", "v1", "no-delete")
      const manifest = yield* del(`/v2/nodelete/app/manifests/${image.digest}`)
      assert.strictEqual(manifest.status, 405)
      assert.deepStrictEqual(yield* codesOf(manifest), ["UNSUPPORTED"])
      assert.strictEqual((yield* del(`/v2/nodelete/app/blobs/${digestOf(image.layer)}`)).status, 405)
    }).pipe(withRegistry({ deleteEnabled: false })))

  it.effect("referrersApi: false answers 404 like an old registry and sends no OCI-Subject", () =>
    Effect.gen(function*() {
      const subject = yield* pushImage("old/app", "v1", "old")
      const config = encodeJson({ seed: "referrer" })
      yield* pushBlob("old/app", config)
      const referrer = imageManifest(config, [], {
        subject: { mediaType: MediaType.ociManifest, digest: subject.digest, size: subject.bytes.length }
      })
      const created = yield* pushManifest("old/app", digestOf(referrer), referrer)
      assert.strictEqual(created.status, 201)
      assert.isUndefined(created.headers["oci-subject"])
      const response = yield* get(`/v2/old/app/referrers/${subject.digest}`)
      assert.strictEqual(response.status, 404)
    }).pipe(withRegistry({ referrersApi: false })))

  it.effect("chunkMinLength is announced, and only the last chunk may be shorter", () =>
    Effect.gen(function*() {
      const started = yield* post("/v2/min/app/blobs/uploads/")
      assert.strictEqual(started.headers["oci-chunk-min-length"], "4")
      const short = yield* patch(started.headers["location"], encode("ab"), { "content-range": "0-1" })
      assert.strictEqual(short.status, 202)
      const after = yield* patch(short.headers["location"], encode("cdef"), { "content-range": "2-5" })
      assert.strictEqual(after.status, 416)
      assert.deepStrictEqual(yield* codesOf(after), ["RANGE_INVALID"])
      const done = yield* put(`${short.headers["location"]}&digest=${digestOf(encode("ab"))}`)
      assert.strictEqual(done.status, 201)
    }).pipe(withRegistry({ chunkMinLength: 4 })))

  it.effect("monolithicPost: false opens a session like docker-registry 2.8", () =>
    Effect.gen(function*() {
      const response = yield* pushBlob("mono/old", encode("data"))
      assert.strictEqual(response.status, 202)
      assert.strictEqual(response.headers["range"], "0-0")
    }).pipe(withRegistry({ monolithicPost: false })))

  it.effect("reset empties the registry and its log", () =>
    Effect.gen(function*() {
      const registry = yield* RegistryTest.TestRegistry
      yield* pushImage("reset/app", "v1", "reset")
      assert.deepStrictEqual(registry.repositories(), ["reset/app"])
      assert.strictEqual(registry.blobs().size, 2)
      assert.strictEqual(registry.manifests("reset/app").size, 1)
      registry.reset()
      assert.deepStrictEqual(registry.repositories(), [])
      assert.strictEqual(registry.blobs().size, 0)
      assert.deepStrictEqual(registry.requests(), [])
    }).pipe(withRegistry()))

  it.effect("handle answers web Requests directly (for serving over HTTP)", () =>
    Effect.gen(function*() {
      const registry = yield* RegistryTest.TestRegistry
      const response = yield* Effect.promise(() => registry.handle(new Request("http://127.0.0.1:5000/v2/")))
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.headers.get("docker-distribution-api-version"), "registry/2.0")
    }).pipe(withRegistry()))
})

// Basic -------------------------------------------------------------------------------------------

layer(registryLayer({ auth: { basic: { alice: "secret" } } }))("RegistryTest with Basic auth", (it) => {
  it.effect("401 with a Basic challenge without credentials or with wrong ones", () =>
    Effect.gen(function*() {
      const anonymous = yield* get("/v2/")
      assert.strictEqual(anonymous.status, 401)
      assert.strictEqual(anonymous.headers["www-authenticate"], "Basic realm=\"RegistryTest\"")
      assert.deepStrictEqual(yield* codesOf(anonymous), ["UNAUTHORIZED"])
      const wrong = yield* get("/v2/", basic("alice", "nope"))
      assert.strictEqual(wrong.status, 401)
      const tags = yield* get("/v2/team/app/tags/list")
      const body = yield* errorsOf(tags)
      assert.deepStrictEqual(body.errors[0].detail, [{
        Type: "repository",
        Class: "",
        Name: "team/app",
        Action: "pull"
      }])
    }))

  it.effect("the right credentials pass", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* get("/v2/", basic("alice", "secret"))).status, 200)
      const pushed = yield* pushBlob("team/app", encode("basic"), basic("alice", "secret"))
      assert.strictEqual(pushed.status, 201)
    }))
})

// Bearer ------------------------------------------------------------------------------------------

const bearerOptions: RegistryTest.Options = {
  auth: {
    bearer: {
      users: { alice: "secret", bob: "hunter2" },
      grants: (user, repository, actions) =>
        user === "bob" && !repository.startsWith("bob/") ? actions.filter((a) => a === "pull") : actions
    }
  }
}

layer(registryLayer(bearerOptions))("RegistryTest with Bearer auth", (it) => {
  it.effect("challenges name realm, service and scope", () =>
    Effect.gen(function*() {
      const base = yield* get("/v2/")
      assert.strictEqual(base.status, 401)
      assert.strictEqual(
        base.headers["www-authenticate"],
        "Bearer realm=\"https://registry.test/token\",service=\"registry.test\""
      )
      const pull = yield* get("/v2/team/app/manifests/latest")
      assert.strictEqual(
        pull.headers["www-authenticate"],
        "Bearer realm=\"https://registry.test/token\",service=\"registry.test\",scope=\"repository:team/app:pull\""
      )
      const push = yield* post("/v2/team/app/blobs/uploads/")
      assert.include(push.headers["www-authenticate"], "scope=\"repository:team/app:pull,push\"")
      const catalog = yield* get("/v2/_catalog")
      assert.include(catalog.headers["www-authenticate"], "scope=\"registry:catalog:*\"")
    }))

  it.effect("the token endpoint issues tokens for users; the registry accepts them", () =>
    Effect.gen(function*() {
      const registry = yield* RegistryTest.TestRegistry
      const token = yield* fetchToken(["repository:team/app:pull,push"], basic("alice", "secret"))
      assert.strictEqual(token.token, token.access_token)
      assert.strictEqual(token.expires_in, 300)
      assert.isString(token.issued_at)
      assert.strictEqual((yield* get("/v2/", bearer(token.token))).status, 200)
      const pushed = yield* pushBlob("team/app", encode("bearer"), bearer(token.token))
      assert.strictEqual(pushed.status, 201)
      const issued = registry.tokensIssued().find((t) => t.token === token.token)
      assert.deepStrictEqual(issued?.user, "alice")
      assert.deepStrictEqual(issued?.scopes, ["repository:team/app:pull,push"])

      const wrong = yield* get("/token?service=registry.test", basic("alice", "wrong"))
      assert.strictEqual(wrong.status, 401)
    }))

  it.effect("a token without the scope gets insufficient_scope", () =>
    Effect.gen(function*() {
      const token = yield* fetchToken(["repository:team/app:pull"], basic("alice", "secret"))
      const response = yield* post("/v2/team/app/blobs/uploads/", undefined, bearer(token.token))
      assert.strictEqual(response.status, 401)
      assert.strictEqual(
        response.headers["www-authenticate"],
        "Bearer realm=\"https://registry.test/token\",service=\"registry.test\"," +
          "scope=\"repository:team/app:pull,push\",error=\"insufficient_scope\""
      )
      // bob may only pull outside bob/
      const bob = yield* fetchToken(["repository:team/app:pull,push"], basic("bob", "hunter2"))
      const denied = yield* post("/v2/team/app/blobs/uploads/", undefined, bearer(bob.token))
      assert.include(denied.headers["www-authenticate"], "error=\"insufficient_scope\"")
      const own = yield* fetchToken(["repository:bob/app:pull,push"], basic("bob", "hunter2"))
      assert.strictEqual((yield* post("/v2/bob/app/blobs/uploads/", undefined, bearer(own.token))).status, 202)
    }))

  it.effect("anonymous tokens grant nothing without anonymousPull", () =>
    Effect.gen(function*() {
      const token = yield* fetchToken(["repository:team/app:pull"])
      const response = yield* get("/v2/team/app/tags/list", bearer(token.token))
      assert.strictEqual(response.status, 401)
      assert.include(response.headers["www-authenticate"], "error=\"insufficient_scope\"")
    }))

  it.effect("unknown and revoked tokens get invalid_token", () =>
    Effect.gen(function*() {
      const registry = yield* RegistryTest.TestRegistry
      const unknown = yield* get("/v2/", bearer("made-up"))
      assert.strictEqual(unknown.status, 401)
      assert.include(unknown.headers["www-authenticate"], "error=\"invalid_token\"")
      const token = yield* fetchToken([], basic("alice", "secret"))
      assert.strictEqual((yield* get("/v2/", bearer(token.token))).status, 200)
      registry.revokeTokens()
      const revoked = yield* get("/v2/", bearer(token.token))
      assert.strictEqual(revoked.status, 401)
      assert.include(revoked.headers["www-authenticate"], "error=\"invalid_token\"")
    }))

  it.effect("a mount is 201 only when the token may pull the source repository", () =>
    Effect.gen(function*() {
      const bytes = encode("mounted with tokens")
      const digest = digestOf(bytes)
      const alice = yield* fetchToken(["repository:alice/src:pull,push"], basic("alice", "secret"))
      yield* pushBlob("alice/src", bytes, bearer(alice.token))
      const withoutSource = yield* fetchToken(["repository:alice/dst:pull,push"], basic("alice", "secret"))
      const opened = yield* post(
        `/v2/alice/dst/blobs/uploads/?mount=${digest}&from=alice/src`,
        undefined,
        bearer(withoutSource.token)
      )
      assert.strictEqual(opened.status, 202)
      const withSource = yield* fetchToken(
        ["repository:alice/dst:pull,push", "repository:alice/src:pull"],
        basic("alice", "secret")
      )
      const mounted = yield* post(
        `/v2/alice/dst/blobs/uploads/?mount=${digest}&from=alice/src`,
        undefined,
        bearer(withSource.token)
      )
      assert.strictEqual(mounted.status, 201)
    }))

  it.effect("the OAuth2 POST form issues access and refresh tokens", () =>
    Effect.gen(function*() {
      const form = (fields: Record<string, string>) =>
        send(
          HttpClientRequest.post(absolute("/token")).pipe(
            HttpClientRequest.bodyUrlParams(fields)
          )
        )
      const password = yield* form({
        grant_type: "password",
        username: "alice",
        password: "secret",
        service: "registry.test",
        scope: "repository:team/app:pull",
        access_type: "offline",
        client_id: "ocireg"
      })
      assert.strictEqual(password.status, 200)
      const body = (yield* password.json) as { access_token: string; refresh_token: string; scope: string }
      assert.strictEqual(body.scope, "repository:team/app:pull")
      assert.notStrictEqual((yield* get("/v2/team/app/tags/list", bearer(body.access_token))).status, 401)
      const refreshed = yield* form({
        grant_type: "refresh_token",
        refresh_token: body.refresh_token,
        service: "registry.test",
        scope: "repository:team/app:pull",
        client_id: "ocireg"
      })
      assert.strictEqual(refreshed.status, 200)
      const bad = yield* form({ grant_type: "password", username: "alice", password: "nope", client_id: "ocireg" })
      assert.strictEqual(bad.status, 401)
    }))
})

describe("RegistryTest Bearer options", () => {
  it.effect("anonymousPull grants pull to tokens requested without credentials", () =>
    Effect.gen(function*() {
      const registry = yield* RegistryTest.TestRegistry
      registry.putBlob("public/app", encode("public"))
      const token = yield* fetchToken(["repository:public/app:pull,push"])
      assert.strictEqual((yield* get("/v2/public/app/tags/list", bearer(token.token))).status, 200)
      const push = yield* post("/v2/public/app/blobs/uploads/", undefined, bearer(token.token))
      assert.strictEqual(push.status, 401)
      assert.deepStrictEqual(registry.tokensIssued().map((t) => [t.user, t.scopes]), [[
        undefined,
        ["repository:public/app:pull"]
      ]])
    }).pipe(withRegistry({ auth: { bearer: { users: {}, anonymousPull: true } } })))

  it.effect("tokens expire with the Clock", () =>
    Effect.gen(function*() {
      const token = yield* fetchToken([], basic("alice", "secret"))
      assert.strictEqual((yield* get("/v2/", bearer(token.token))).status, 200)
      yield* TestClock.adjust("301 seconds")
      const expired = yield* get("/v2/", bearer(token.token))
      assert.strictEqual(expired.status, 401)
      assert.include(expired.headers["www-authenticate"], "error=\"invalid_token\"")
    }).pipe(withRegistry({ auth: { bearer: { users: { alice: "secret" } } } })))

  it.effect("a loopback host gets an http realm", () =>
    Effect.gen(function*() {
      const response = yield* send(HttpClientRequest.get("http://127.0.0.1:5000/v2/"))
      assert.strictEqual(
        response.headers["www-authenticate"],
        "Bearer realm=\"http://127.0.0.1:5000/token\",service=\"127.0.0.1:5000\""
      )
    }).pipe(withRegistry({ auth: { bearer: { users: {} } } })))
})
