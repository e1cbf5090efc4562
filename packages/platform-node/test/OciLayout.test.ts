/**
 * OciLayout against temporary directories: init/open and version checks, atomic and verified blob
 * writes (mismatch leaves nothing, existing blobs are skipped, hostile digests never become
 * paths), index.json edits that keep other entries, and layouts written by test-support's
 * generator read back with verified blobs.
 */
import { assert, describe, it } from "@effect/vitest"
import * as BlobSource from "@ocireg/core/BlobSource"
import * as Digest from "@ocireg/core/Digest"
import * as Manifest from "@ocireg/core/Manifest"
import * as MediaType from "@ocireg/core/MediaType"
import * as NodeHasher from "@ocireg/platform-node/NodeHasher"
import * as OciLayout from "@ocireg/platform-node/OciLayout"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { generateOciLayout, sha256Digest } from "../../../test-support/index.js"

const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "ocireg-layout-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

const bytesOf = (text: string) => new TextEncoder().encode(text)

const collect = <E, R>(stream: Stream.Stream<Uint8Array, E, R>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat(Chunk.toArray(chunks)))

const listDir = (dir: string) => Effect.promise(() => fs.readdir(dir).then((names) => names.sort()))

const exists = (file: string) => Effect.promise(() => fs.stat(file).then(() => true, () => false))

const readJson = (file: string) => Effect.promise(async () => JSON.parse(await fs.readFile(file, "utf8")))

/** Everything under `dir`, as relative paths. */
const tree = (dir: string): Effect.Effect<Array<string>> =>
  Effect.promise(async () => {
    const out: Array<string> = []
    const walk = async (sub: string) => {
      for (const entry of await fs.readdir(path.join(dir, sub), { withFileTypes: true })) {
        const rel = path.join(sub, entry.name)
        out.push(rel)
        if (entry.isDirectory()) await walk(rel)
      }
    }
    await walk("")
    return out.sort()
  })

const descriptorOf = (bytes: Uint8Array, mediaType: string = MediaType.ociManifest): Manifest.Descriptor => ({
  mediaType,
  digest: sha256Digest(bytes) as Digest.Digest,
  size: bytes.length
})

describe("OciLayout", () => {
  describe("init and open", () => {
    it.scoped("init creates the marker, an empty index and blobs/sha256; open reads it", () =>
      Effect.gen(function*() {
        const dir = path.join(yield* tempDir, "new", "layout")
        const layout = yield* OciLayout.init(dir)
        assert.strictEqual(layout.path, path.resolve(dir))
        assert.deepStrictEqual(yield* readJson(path.join(dir, "oci-layout")), { imageLayoutVersion: "1.0.0" })
        assert.deepStrictEqual(yield* readJson(path.join(dir, "index.json")), {
          schemaVersion: 2,
          mediaType: MediaType.ociIndex,
          manifests: []
        })
        assert.isTrue(yield* exists(path.join(dir, "blobs", "sha256")))
        const opened = yield* OciLayout.open(dir)
        assert.deepStrictEqual(yield* OciLayout.tags(opened), [])
      }))

    it.scoped("init of an existing layout keeps its index", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const layout = yield* OciLayout.init(dir)
        yield* OciLayout.setRef(layout, "v1", descriptorOf(bytesOf("{}")))
        yield* OciLayout.init(dir)
        assert.deepStrictEqual(yield* OciLayout.tags(layout), ["v1"])
      }))

    it.scoped("open refuses a directory that is not a layout", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const error = yield* Effect.flip(OciLayout.open(dir))
        assert.strictEqual(error._tag, "OciLayoutError")
        assert.strictEqual(error.reason, "NotALayout")
        const missing = yield* Effect.flip(OciLayout.open(path.join(dir, "nope")))
        assert.strictEqual(missing.reason, "NotALayout")
      }))

    it.scoped("init and open refuse another imageLayoutVersion, and leave the directory as it was", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        yield* Effect.promise(() => fs.writeFile(path.join(dir, "oci-layout"), "{\"imageLayoutVersion\":\"2.0.0\"}"))
        const opened = yield* Effect.flip(OciLayout.open(dir))
        assert.strictEqual(opened.reason, "UnsupportedVersion")
        const initialised = yield* Effect.flip(OciLayout.init(dir))
        assert.strictEqual(initialised.reason, "UnsupportedVersion")
        assert.notInclude(initialised.message, "2.0.0", "file contents stay out of errors")
        assert.isFalse(yield* exists(path.join(dir, "index.json")))
      }))

    it.scoped("a malformed oci-layout or index.json is a typed error without the file's contents", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        yield* Effect.promise(() => fs.writeFile(path.join(dir, "oci-layout"), "secret-token-not-json"))
        const layoutFile = yield* Effect.flip(OciLayout.open(dir))
        assert.strictEqual(layoutFile.reason, "MalformedLayoutFile")
        assert.notInclude(layoutFile.message, "secret-token")
        yield* Effect.promise(() => fs.writeFile(path.join(dir, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}"))
        yield* Effect.promise(() =>
          fs.writeFile(path.join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: "secret-token" }))
        )
        const index = yield* Effect.flip(OciLayout.open(dir))
        assert.strictEqual(index.reason, "MalformedIndex")
        assert.include(index.message, "manifests")
        assert.notInclude(index.message, "secret-token")
      }))
  })

  describe("writeBlob", () => {
    it.scoped("writes a blob under its digest, verified, leaving no temporary file", () =>
      Effect.gen(function*() {
        const layout = yield* OciLayout.init(yield* tempDir)
        const data = crypto.randomBytes(3 * 1024 * 1024 + 17)
        const digest = sha256Digest(data)
        const pieces = Stream.fromIterable([data.subarray(0, 1000), data.subarray(1000, 2_000_000), data.subarray(2e6)])
        const result = yield* OciLayout.writeBlob(layout, digest, data.length, pieces)
        assert.deepStrictEqual(result, { digest: digest as Digest.Digest, size: data.length, written: true })
        const file = path.join(layout.path, "blobs", "sha256", digest.slice(7))
        assert.isTrue((yield* Effect.promise(() => fs.readFile(file))).equals(data))
        assert.deepStrictEqual(yield* listDir(path.join(layout.path, "blobs", "sha256")), [digest.slice(7)])
        assert.strictEqual(yield* OciLayout.blobPath(layout, digest), file)
        assert.isTrue(yield* OciLayout.hasBlob(layout, { digest, size: data.length }))
        assert.isFalse(yield* OciLayout.hasBlob(layout, { digest, size: data.length + 1 }))
        assert.isTrue((yield* collect(OciLayout.readBlob(layout, { digest, size: data.length }))).equals(data))
      }).pipe(Effect.provide(NodeHasher.layer)))

    it.scopedLive("writes a blob larger than the write queue, in socket-sized pieces, byte for byte", () =>
      Effect.gen(function*() {
        const layout = yield* OciLayout.init(yield* tempDir)
        const data = crypto.randomBytes(13 * 1024 * 1024 + 5)
        const digest = sha256Digest(data)
        const pieces = Stream.range(0, Math.ceil(data.length / 65536) - 1).pipe(
          Stream.map((i) => data.subarray(i * 65536, (i + 1) * 65536)),
          Stream.rechunk(1)
        )
        const result = yield* OciLayout.writeBlob(layout, digest, data.length, pieces)
        assert.isTrue(result.written)
        const file = path.join(layout.path, "blobs", "sha256", digest.slice(7))
        assert.isTrue((yield* Effect.promise(() => fs.readFile(file))).equals(data))
        assert.deepStrictEqual(yield* listDir(path.join(layout.path, "blobs", "sha256")), [digest.slice(7)])
      }).pipe(Effect.provide(NodeHasher.layer)))

    it.scoped("a digest mismatch fails with DigestMismatch and leaves neither the blob nor a temporary file", () =>
      Effect.gen(function*() {
        const layout = yield* OciLayout.init(yield* tempDir)
        const claimed = sha256Digest(bytesOf("the real content"))
        const wrong = yield* Effect.flip(
          OciLayout.writeBlob(layout, claimed, 16, Stream.succeed(bytesOf("other content!!!")))
        )
        assert.strictEqual(wrong._tag, "DigestMismatch")
        const tooLong = yield* Effect.flip(
          OciLayout.writeBlob(layout, claimed, 16, Stream.succeed(bytesOf("the real content, and more")))
        )
        assert.strictEqual(tooLong._tag, "DigestMismatch")
        const tooShort = yield* Effect.flip(OciLayout.writeBlob(layout, claimed, 16, Stream.succeed(bytesOf("the"))))
        assert.strictEqual(tooShort._tag, "DigestMismatch")
        const broken = yield* Effect.flip(
          OciLayout.writeBlob(
            layout,
            claimed,
            16,
            Stream.concat(Stream.succeed(bytesOf("the real")), Stream.fail("connection lost" as const))
          )
        )
        assert.strictEqual(broken, "connection lost")
        assert.deepStrictEqual(yield* listDir(path.join(layout.path, "blobs", "sha256")), [])
        assert.isFalse(yield* OciLayout.hasBlob(layout, claimed))
      }).pipe(Effect.provide(NodeHasher.layer)))

    it.scopedLive("an interrupted write leaves no temporary file", () =>
      Effect.gen(function*() {
        const layout = yield* OciLayout.init(yield* tempDir)
        const data = bytesOf("x".repeat(1000))
        const endless = Stream.concat(Stream.succeed(data.subarray(0, 10)), Stream.never)
        yield* OciLayout.writeBlob(layout, sha256Digest(data), data.length, endless).pipe(
          Effect.timeout("50 millis"),
          Effect.ignore
        )
        assert.deepStrictEqual(yield* listDir(path.join(layout.path, "blobs", "sha256")), [])
      }).pipe(Effect.provide(NodeHasher.layer)))

    it.scoped("a blob that exists with the right size is skipped without running the stream", () =>
      Effect.gen(function*() {
        const layout = yield* OciLayout.init(yield* tempDir)
        const data = bytesOf("layer bytes")
        const digest = sha256Digest(data)
        yield* OciLayout.writeBlob(layout, digest, data.length, Stream.succeed(data))
        const again = yield* OciLayout.writeBlob(layout, digest, data.length, Stream.die("must not be read"))
        assert.isFalse(again.written)
      }).pipe(Effect.provide(NodeHasher.layer)))

    it.scoped("a blob of the wrong size on disk is replaced", () =>
      Effect.gen(function*() {
        const layout = yield* OciLayout.init(yield* tempDir)
        const data = bytesOf("complete layer bytes")
        const digest = sha256Digest(data)
        const file = path.join(layout.path, "blobs", "sha256", digest.slice(7))
        yield* Effect.promise(() => fs.writeFile(file, data.subarray(0, 5)))
        const result = yield* OciLayout.writeBlob(layout, digest, data.length, Stream.succeed(data))
        assert.isTrue(result.written)
        assert.isTrue((yield* Effect.promise(() => fs.readFile(file))).equals(Buffer.from(data)))
      }).pipe(Effect.provide(NodeHasher.layer)))

    it.scoped("a hostile digest is refused before it becomes a path: nothing is written anywhere", () =>
      Effect.gen(function*() {
        const root = yield* tempDir
        const layout = yield* OciLayout.init(path.join(root, "a", "layout"))
        const before = yield* tree(root)
        for (
          const hostile of [
            "sha256:../../x",
            "sha256:../../../../../../tmp/ocireg-escape",
            "sha256/../../x:0",
            `sha256:${"a".repeat(63)}/`,
            `SHA256:${"a".repeat(64)}`,
            `md5:${"a".repeat(32)}`,
            `sha256:${"A".repeat(64)}`,
            ""
          ]
        ) {
          const write = yield* Effect.flip(OciLayout.writeBlob(layout, hostile, 1, Stream.succeed(bytesOf("x"))))
          assert.strictEqual(write._tag, "OciLayoutError")
          assert.strictEqual((write as OciLayout.OciLayoutError).reason, "InvalidDigest")
          const read = yield* Effect.flip(Stream.runDrain(OciLayout.readBlob(layout, hostile)))
          assert.strictEqual(read._tag, "OciLayoutError")
          assert.strictEqual((yield* Effect.flip(OciLayout.blobPath(layout, hostile))).reason, "InvalidDigest")
          const tag = yield* Effect.flip(
            OciLayout.setRef(layout, "v1", { ...descriptorOf(bytesOf("x")), digest: hostile as Digest.Digest })
          )
          assert.strictEqual(tag.reason, "InvalidDigest")
        }
        assert.deepStrictEqual(yield* tree(root), before)
        assert.isFalse(yield* exists(path.join(os.tmpdir(), "ocireg-escape")))
      }).pipe(Effect.provide(NodeHasher.layer)))

    it.scoped("an index.json naming a hostile digest is refused as malformed", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        yield* OciLayout.init(dir)
        yield* Effect.promise(() =>
          fs.writeFile(
            path.join(dir, "index.json"),
            JSON.stringify({
              schemaVersion: 2,
              manifests: [{ mediaType: MediaType.ociManifest, digest: "sha256:../../x", size: 2 }]
            })
          )
        )
        const error = yield* Effect.flip(OciLayout.open(dir))
        assert.strictEqual(error.reason, "MalformedIndex")
        assert.include(error.message, "manifests.0.digest")
      }))
  })

  describe("index.json", () => {
    it.scoped("adding and replacing a tag keeps every other entry, in order", () =>
      Effect.gen(function*() {
        const layout = yield* OciLayout.init(yield* tempDir)
        const a = descriptorOf(bytesOf("a"))
        const b = descriptorOf(bytesOf("b"))
        const c = descriptorOf(bytesOf("c"))
        const unnamed = descriptorOf(bytesOf("unnamed"))
        yield* OciLayout.updateIndex(layout, (index) => ({ ...index, manifests: [...index.manifests, unnamed] }))
        yield* OciLayout.setRef(layout, "v1", a)
        yield* OciLayout.setRef(layout, "v2", { ...b, annotations: { "org.example": "kept" } })
        yield* OciLayout.setRef(layout, "v1", c)
        const index = yield* OciLayout.readIndex(layout)
        assert.deepStrictEqual(index.manifests.map((d) => d.digest), [unnamed.digest, c.digest, b.digest])
        assert.deepStrictEqual(index.manifests[2]!.annotations, {
          "org.example": "kept",
          "org.opencontainers.image.ref.name": "v2"
        })
        assert.deepStrictEqual((yield* OciLayout.refs(layout)).map((r) => [r.name, r.descriptor.digest]), [
          ["v1", c.digest],
          ["v2", b.digest]
        ])
        assert.strictEqual((yield* OciLayout.resolve(layout, "v1")).digest, c.digest)
        assert.strictEqual((yield* OciLayout.resolve(layout, unnamed.digest)).digest, unnamed.digest)
        const missing = yield* Effect.flip(OciLayout.resolve(layout, "v3"))
        assert.strictEqual(missing.reason, "RefNotFound")
        assert.isTrue(yield* OciLayout.removeRef(layout, "v1"))
        assert.isFalse(yield* OciLayout.removeRef(layout, "v1"))
        assert.deepStrictEqual(yield* OciLayout.tags(layout), ["v2"])
        assert.strictEqual((yield* OciLayout.readIndex(layout)).manifests.length, 2)
        const bad = yield* Effect.flip(OciLayout.setRef(layout, "bad name\n", a))
        assert.strictEqual(bad.reason, "InvalidRefName")
        assert.deepStrictEqual(yield* listDir(layout.path), ["blobs", "index.json", "oci-layout"])
      }))

    it.scoped("concurrent tag updates in one process keep every entry", () =>
      Effect.gen(function*() {
        const layout = yield* OciLayout.init(yield* tempDir)
        const names = Array.from({ length: 20 }, (_, i) => `t${i}`)
        yield* Effect.forEach(names, (name) => OciLayout.setRef(layout, name, descriptorOf(bytesOf(name))), {
          concurrency: "unbounded"
        })
        assert.deepStrictEqual([...(yield* OciLayout.tags(layout))].sort(), [...names].sort())
      }))
  })

  describe("layouts written by generateOciLayout", () => {
    it.scoped("a multi-platform layout: tags, resolve, manifests and blobs verified", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const generated = yield* Effect.promise(() =>
          generateOciLayout(dir, {
            platforms: ["linux/amd64", "linux/arm64/v8"],
            layers: 2,
            layerSize: 5000,
            tag: "v1"
          })
        )
        const layout = yield* OciLayout.open(dir)
        assert.deepStrictEqual(yield* OciLayout.tags(layout), ["v1"])
        const root = yield* OciLayout.resolve(layout, "v1")
        assert.strictEqual(root.digest, generated.root.digest)
        assert.strictEqual((yield* OciLayout.resolve(layout, generated.root.digest)).digest, generated.root.digest)
        const index = yield* OciLayout.readManifest(layout, "v1")
        assert.strictEqual(index.manifest._tag, "ImageIndex")
        assert.isTrue(Buffer.from(index.bytes).equals(Buffer.from(generated.rootBytes)))
        for (const image of generated.manifests) {
          const child = yield* OciLayout.readManifest(layout, image.descriptor.digest)
          assert.strictEqual(child.manifest._tag, "ImageManifest")
          for (const generatedLayer of image.layers) {
            const bytes = yield* collect(OciLayout.readBlob(layout, generatedLayer.descriptor))
            assert.isTrue(bytes.equals(Buffer.from(generatedLayer.bytes)))
          }
          const config = yield* collect(OciLayout.readBlob(layout, image.config.descriptor.digest))
          assert.isTrue(config.equals(Buffer.from(image.config.bytes)))
        }
      }).pipe(Effect.provide(NodeHasher.layer)))

    it.scoped("a corrupted blob fails its read stream, readManifest and a blob source with DigestMismatch", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const generated = yield* Effect.promise(() =>
          generateOciLayout(dir, { layers: 1, layerSize: 4000, tag: "single" })
        )
        const layout = yield* OciLayout.open(dir)
        const layer = generated.manifests[0]!.layers[0]!.descriptor
        const layerFile = yield* OciLayout.blobPath(layout, layer.digest)
        yield* Effect.promise(async () => {
          const bytes = await fs.readFile(layerFile)
          bytes[100] = bytes[100]! ^ 0xff
          await fs.writeFile(layerFile, bytes)
        })
        const read = yield* Effect.flip(Stream.runDrain(OciLayout.readBlob(layout, layer)))
        assert.strictEqual(read._tag, "DigestMismatch")
        const source = yield* OciLayout.blobSource(layout, layer)
        assert.strictEqual(source.rereadable, true)
        const sourced = yield* Effect.flip(Stream.runDrain(source.open(0)))
        assert.strictEqual(sourced._tag, "DigestMismatch")
        const manifestFile = yield* OciLayout.blobPath(layout, generated.root.digest)
        yield* Effect.promise(() => fs.appendFile(manifestFile, " "))
        const manifest = yield* Effect.flip(OciLayout.readManifest(layout, "single"))
        assert.strictEqual(manifest._tag, "DigestMismatch")
        const missing = yield* Effect.flip(
          Stream.runDrain(OciLayout.readBlob(layout, sha256Digest(bytesOf("not in the layout"))))
        )
        assert.strictEqual(missing._tag, "OciLayoutError")
        assert.strictEqual((missing as OciLayout.OciLayoutError).reason, "BlobNotFound")
      }).pipe(Effect.provide(NodeHasher.layer)))

    it.scoped("blobSource reads from an offset and matches BlobSource.fromBytes", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const generated = yield* Effect.promise(() => generateOciLayout(dir, { layers: 1, layerSize: 3000, tag: "x" }))
        const layout = yield* OciLayout.open(dir)
        const layer = generated.manifests[0]!.layers[0]!
        const source = yield* OciLayout.blobSource(layout, layer.descriptor)
        const fromBytes = yield* BlobSource.fromBytes(layer.bytes)
        assert.strictEqual(source.digest, fromBytes.digest)
        assert.strictEqual(source.size, fromBytes.size)
        const tail = yield* collect(source.open(1000))
        assert.isTrue(tail.equals(Buffer.from(layer.bytes.subarray(1000))))
        const wrongSize = yield* Effect.flip(
          OciLayout.blobSource(layout, { digest: layer.descriptor.digest, size: layer.descriptor.size + 1 })
        )
        assert.strictEqual(wrongSize._tag, "DigestMismatch")
      }).pipe(Effect.provide(NodeHasher.layer)))
  })
})
