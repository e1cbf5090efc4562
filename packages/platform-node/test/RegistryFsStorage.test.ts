/**
 * The test registry kept on disk (`RegistryServer.serve({ storage: dir })`, `ocireg registry
 * serve --storage`): what one registry writes, a new one on the same directory serves byte for
 * byte; upload sessions survive a restart and a kill mid-chunk; bytes reach `blobs/` only after
 * their digest is checked; deletes, catalog and tags read the disk; the layout is distribution's.
 */
import { assert, describe, it } from "@effect/vitest"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as Effect from "effect/Effect"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as FsStorage from "../src/internal/registryFsStorage.js"

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "ocireg-fsstorage-"))

const open = (dir: string, options: RegistryTest.Options = {}) =>
  Effect.runSync(RegistryTest.make({ tagDelete: true, ...options, storage: FsStorage.make(dir) }))

const sha256 = (bytes: Uint8Array | string) => `sha256:${Crypto.createHash("sha256").update(bytes).digest("hex")}`
const text = (value: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(value)

const call = (registry: RegistryTest.Service, method: string, path: string, init: RequestInit = {}) =>
  registry.handle(
    new Request(new URL(path, "http://127.0.0.1:5000"), { method, ...init, ...(init.body ? { duplex: "half" } : {}) })
  )

const bytesOf = async (response: Response) => new Uint8Array(await response.arrayBuffer())

/** distribution's path of a blob's data under a storage directory. */
const blobFile = (dir: string, digest: string) => {
  const hex = digest.slice("sha256:".length)
  return Path.join(dir, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data")
}

/** Push a blob in one POST; returns its digest. */
const pushBlob = async (registry: RegistryTest.Service, name: string, bytes: Uint8Array<ArrayBuffer>) => {
  const digest = sha256(bytes)
  const response = await call(registry, "POST", `/v2/${name}/blobs/uploads/?digest=${digest}`, { body: bytes })
  assert.strictEqual(response.status, 201)
  return digest
}

/** Push a one-layer image under a tag; returns the manifest's bytes and digest. */
const pushImage = async (registry: RegistryTest.Service, name: string, tag: string, layer: string) => {
  const layerDigest = await pushBlob(registry, name, text(layer))
  const config = text(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers" } }))
  const configDigest = await pushBlob(registry, name, config)
  const manifest = text(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: layerDigest, size: layer.length }],
    annotations: { "org.example": "kept" }
  }))
  const response = await call(registry, "PUT", `/v2/${name}/manifests/${tag}`, {
    body: manifest,
    headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" }
  })
  assert.strictEqual(response.status, 201)
  return { manifest, digest: sha256(manifest), layerDigest, configDigest }
}

describe("RegistryServer storage on disk", () => {
  it("a new registry on the same directory serves everything byte for byte", async () => {
    const dir = tempDir()
    const first = open(dir)
    const image = await pushImage(first, "team/app", "v1", "layer one")
    await pushImage(first, "other", "latest", "layer two")

    const second = open(dir)
    assert.deepStrictEqual(second.repositories(), ["other", "team/app"])
    const manifest = await call(second, "GET", "/v2/team/app/manifests/v1")
    assert.strictEqual(manifest.status, 200)
    assert.strictEqual(manifest.headers.get("content-type"), "application/vnd.oci.image.manifest.v1+json")
    assert.strictEqual(manifest.headers.get("docker-content-digest"), image.digest)
    assert.deepStrictEqual(await bytesOf(manifest), image.manifest)
    const layer = await call(second, "GET", `/v2/team/app/blobs/${image.layerDigest}`)
    assert.strictEqual(new TextDecoder().decode(await bytesOf(layer)), "layer one")
    const tags = await call(second, "GET", "/v2/team/app/tags/list")
    assert.deepStrictEqual(await tags.json(), { name: "team/app", tags: ["v1"] })
    const catalog = await call(second, "GET", "/v2/_catalog")
    assert.deepStrictEqual(await catalog.json(), { repositories: ["other", "team/app"] })
    // a blob of one repository is not visible in another until mounted
    assert.strictEqual((await call(second, "HEAD", `/v2/other/blobs/${image.layerDigest}`)).status, 404)
  })

  it("lays content out as distribution's filesystem driver does", async () => {
    const dir = tempDir()
    const registry = open(dir)
    const image = await pushImage(registry, "team/app", "v1", "layout")
    const repo = Path.join(dir, "docker/registry/v2/repositories/team/app")
    const hex = (digest: string) => digest.slice("sha256:".length)
    assert.strictEqual(Fs.readFileSync(blobFile(dir, image.layerDigest), "utf8"), "layout")
    assert.deepStrictEqual(new Uint8Array(Fs.readFileSync(blobFile(dir, image.digest))), image.manifest)
    assert.strictEqual(
      Fs.readFileSync(Path.join(repo, "_layers/sha256", hex(image.layerDigest), "link"), "utf8"),
      image.layerDigest
    )
    assert.strictEqual(
      Fs.readFileSync(Path.join(repo, "_manifests/revisions/sha256", hex(image.digest), "link"), "utf8"),
      image.digest
    )
    assert.strictEqual(Fs.readFileSync(Path.join(repo, "_manifests/tags/v1/current/link"), "utf8"), image.digest)
    assert.isTrue(Fs.existsSync(Path.join(repo, "_manifests/tags/v1/index/sha256", hex(image.digest), "link")))
  })

  it("keeps an upload session across a restart, and a kill mid-chunk leaves no blob", async () => {
    const dir = tempDir()
    const first = open(dir)
    const whole = Crypto.randomBytes(3 * 1024 * 1024 + 17)
    const digest = sha256(whole)
    const started = await call(first, "POST", "/v2/team/app/blobs/uploads/")
    assert.strictEqual(started.status, 202)
    const half = 2 * 1024 * 1024
    const patched = await call(first, "PATCH", started.headers.get("location")!, {
      body: whole.subarray(0, half),
      headers: { "content-range": `0-${half - 1}` }
    })
    assert.strictEqual(patched.status, 202)
    const location = patched.headers.get("location")!
    // a process killed while the next chunk streamed in: bytes past the acknowledged offset
    const [session] = first.uploads()
    const data = Path.join(dir, "docker/registry/v2/repositories/team/app/_uploads", session.id, "data")
    Fs.appendFileSync(data, whole.subarray(half, half + 1000))
    assert.isFalse(Fs.existsSync(blobFile(dir, digest)))

    const second = open(dir)
    assert.deepStrictEqual(second.uploads(), [{ id: session.id, repository: "team/app", size: half }])
    const status = await call(second, "GET", location)
    assert.strictEqual(status.status, 204)
    assert.strictEqual(status.headers.get("range"), `0-${half - 1}`)
    assert.strictEqual(Fs.statSync(data).size, half)
    const done = await call(second, "PUT", `${location}&digest=${digest}`, {
      body: whole.subarray(half),
      headers: { "content-range": `${half}-${whole.length - 1}` }
    })
    assert.strictEqual(done.status, 201)
    assert.deepStrictEqual(second.uploads(), [])
    assert.isFalse(Fs.existsSync(Path.dirname(data)))
    const served = await call(open(dir), "GET", `/v2/team/app/blobs/${digest}`)
    assert.deepStrictEqual(await bytesOf(served), new Uint8Array(whole))
  })

  it("a digest mismatch stores nothing and ends the session", async () => {
    const dir = tempDir()
    const registry = open(dir)
    const claimed = sha256("something else")
    const response = await call(registry, "POST", `/v2/team/app/blobs/uploads/?digest=${claimed}`, {
      body: text("these bytes")
    })
    assert.strictEqual(response.status, 400)
    assert.strictEqual((await response.json()).errors[0].code, "DIGEST_INVALID")
    assert.isFalse(Fs.existsSync(blobFile(dir, claimed)))
    assert.isFalse(Fs.existsSync(blobFile(dir, sha256("these bytes"))))
    assert.deepStrictEqual(registry.uploads(), [])
    assert.deepStrictEqual(open(dir).uploads(), [])
  })

  it("a chunk whose Content-Range does not match its body is cut off again", async () => {
    const dir = tempDir()
    const registry = open(dir)
    const started = await call(registry, "POST", "/v2/team/app/blobs/uploads/")
    const wrong = await call(registry, "PATCH", started.headers.get("location")!, {
      body: text("12345"),
      headers: { "content-range": "0-9" }
    })
    assert.strictEqual(wrong.status, 416)
    const [session] = registry.uploads()
    assert.strictEqual(session.size, 0)
    const data = Path.join(dir, "docker/registry/v2/repositories/team/app/_uploads", session.id, "data")
    assert.strictEqual(Fs.statSync(data).size, 0)
  })

  it("deletes manifests with their tags, tags alone, and blob links, on disk", async () => {
    const dir = tempDir()
    const registry = open(dir)
    const image = await pushImage(registry, "team/app", "v1", "to delete")
    assert.strictEqual(
      (await call(registry, "PUT", "/v2/team/app/manifests/v2", {
        body: image.manifest,
        headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" }
      })).status,
      201
    )
    assert.strictEqual((await call(registry, "DELETE", "/v2/team/app/manifests/v2")).status, 202)
    assert.deepStrictEqual(Array.from(open(dir).tags("team/app").keys()), ["v1"])
    assert.strictEqual((await call(registry, "DELETE", `/v2/team/app/manifests/${image.digest}`)).status, 202)
    const again = open(dir)
    assert.strictEqual((await call(again, "GET", `/v2/team/app/manifests/${image.digest}`)).status, 404)
    assert.strictEqual((await call(again, "GET", "/v2/team/app/manifests/v1")).status, 404)
    assert.strictEqual((await call(again, "DELETE", `/v2/team/app/blobs/${image.layerDigest}`)).status, 202)
    assert.strictEqual((await call(open(dir), "HEAD", `/v2/team/app/blobs/${image.layerDigest}`)).status, 404)
    // as distribution before a garbage collection: the bytes stay, unlinked
    assert.isTrue(Fs.existsSync(blobFile(dir, image.layerDigest)))
  })

  it("catalog and tags read the disk: a second registry's writes are seen at once", async () => {
    const dir = tempDir()
    const reader = open(dir, { pageSize: 2 })
    const writer = open(dir)
    for (const name of ["a", "b/c", "d"]) await pushImage(writer, name, "t", `layer ${name}`)
    const page = await call(reader, "GET", "/v2/_catalog")
    assert.deepStrictEqual(await page.json(), { repositories: ["a", "b/c"] })
    assert.strictEqual(page.headers.get("link"), `</v2/_catalog?last=b%2Fc&n=2>; rel="next"`)
    const manifest = await call(reader, "GET", "/v2/d/manifests/t")
    assert.strictEqual(manifest.status, 200)
  })

  it("serves byte ranges from disk", async () => {
    const dir = tempDir()
    const registry = open(dir)
    const bytes = Crypto.randomBytes(3 * 1024 * 1024)
    const digest = await pushBlob(registry, "team/app", bytes)
    const ranged = await call(registry, "GET", `/v2/team/app/blobs/${digest}`, {
      headers: { range: "bytes=1048000-2097999" }
    })
    assert.strictEqual(ranged.status, 206)
    assert.strictEqual(ranged.headers.get("content-range"), `bytes 1048000-2097999/${bytes.length}`)
    assert.deepStrictEqual(await bytesOf(ranged), new Uint8Array(bytes.subarray(1048000, 2098000)))
    const head = await call(registry, "HEAD", `/v2/team/app/blobs/${digest}`)
    assert.strictEqual(head.headers.get("content-length"), String(bytes.length))
  })

  it("concurrent uploads of one blob into many repositories leave one whole blob", async () => {
    const dir = tempDir()
    const registry = open(dir)
    const bytes = Crypto.randomBytes(512 * 1024)
    const names = Array.from({ length: 8 }, (_, i) => `team/app${i}`)
    const digests = await Promise.all(names.map((name) => pushBlob(registry, name, bytes)))
    assert.deepStrictEqual(new Set(digests), new Set([sha256(bytes)]))
    assert.deepStrictEqual(new Uint8Array(Fs.readFileSync(blobFile(dir, digests[0]))), new Uint8Array(bytes))
    const leftovers = Fs.readdirSync(Path.dirname(blobFile(dir, digests[0])))
    assert.deepStrictEqual(leftovers, ["data"])
    for (const name of names) assert.deepStrictEqual(open(dir).repositoryBlobs(name), [digests[0]])
  })

  it("keeps the referrers API's fields across a restart", async () => {
    const dir = tempDir()
    const registry = open(dir)
    const image = await pushImage(registry, "team/app", "v1", "subject")
    const empty = await pushBlob(registry, "team/app", text("{}"))
    const referrer = text(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: "application/vnd.example.sbom",
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: empty, size: 2 },
      layers: [],
      subject: { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: image.digest, size: 1 },
      annotations: { "org.example.kind": "sbom" }
    }))
    const put = await call(registry, "PUT", `/v2/team/app/manifests/${sha256(referrer)}`, {
      body: referrer,
      headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" }
    })
    assert.strictEqual(put.status, 201)
    const listed = await call(open(dir), "GET", `/v2/team/app/referrers/${image.digest}`)
    assert.deepStrictEqual((await listed.json()).manifests, [{
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: sha256(referrer),
      size: referrer.length,
      artifactType: "application/vnd.example.sbom",
      annotations: { "org.example.kind": "sbom" }
    }])
  })

  it("refuses names and digests that are not safe in a path", () => {
    const dir = tempDir()
    const registry = open(dir)
    assert.throws(() => registry.putBlob("../escape", text("x")))
    assert.throws(() => registry.putManifest("team/app", "../../x", text("{}")))
    assert.deepStrictEqual(Fs.readdirSync(dir), ["docker"])
  })

  it("reset empties the directory's content", async () => {
    const dir = tempDir()
    const registry = open(dir)
    await pushImage(registry, "team/app", "v1", "gone")
    registry.reset()
    assert.deepStrictEqual(open(dir).repositories(), [])
    assert.deepStrictEqual(registry.blobs().size, 0)
  })
})
