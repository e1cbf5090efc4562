import { assert, describe, it } from "@effect/vitest"
import * as BlobSource from "@ocireg/core/BlobSource"
import * as ImageIndex from "@ocireg/core/ImageIndex"
import * as ImageMutate from "@ocireg/core/ImageMutate"
import * as MediaType from "@ocireg/core/MediaType"
import * as Registry from "@ocireg/core/Registry"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as zlib from "node:zlib"
import { tarWithOneFile } from "../../../../test-support/images.js"
import { encode, inMemory, storeImage } from "./support.js"

const host = "registry.test"
const sha256 = (bytes: Uint8Array) => `sha256:${crypto.createHash("sha256").update(bytes).digest("hex")}`
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

/** The manifest (parsed) a reference names, and its config (bytes and parsed). */
const read = (reference: string) =>
  Effect.gen(function*() {
    const found = yield* Registry.getManifest(reference)
    const manifest = JSON.parse(text(found.bytes))
    const registry = yield* RegistryTest.TestRegistry
    const configBytes = registry.blobs().get(manifest.config?.digest)
    return {
      found,
      manifest,
      configBytes,
      config: configBytes ? JSON.parse(text(configBytes)) : undefined
    }
  })

/** Store an image whose config and manifest bytes are given as they are. */
const storeRaw = (repository: string, tag: string, config: string, mediaType: string = MediaType.ociManifest) =>
  Effect.gen(function*() {
    const registry = yield* RegistryTest.TestRegistry
    const layer = tarWithOneFile("base.txt", new TextEncoder().encode("base"))
    const layerDigest = registry.putBlob(repository, layer)
    const configBytes = new TextEncoder().encode(config.replace("LAYER", sha256(layer)))
    const configDigest = registry.putBlob(repository, configBytes)
    const docker = mediaType === MediaType.dockerManifest
    const manifest = encode({
      schemaVersion: 2,
      mediaType,
      config: {
        mediaType: docker ? MediaType.dockerConfig : MediaType.ociConfig,
        digest: configDigest,
        size: configBytes.length
      },
      layers: [{
        mediaType: docker ? MediaType.dockerLayer : MediaType.ociLayerTar,
        digest: layerDigest,
        size: layer.length
      }],
      ...(docker ? {} : { annotations: { "org.example.kept": "yes" } })
    })
    return registry.putManifest(repository, tag, manifest, mediaType)
  })

const unusualConfig = `{"zeta":1,"architecture":"amd64","os":"linux","x-unknown":{"nested":[1,2,{"a":null}]},` +
  `"config":{"Env":["PATH=/bin","LOG=debug"],"Labels":{"old":"1"},"Custom":true},` +
  `"rootfs":{"type":"layers","diff_ids":["LAYER"]},"history":[{"created_by":"base"}]}`

describe("ImageMutate.append", () => {
  it.effect("appends a gzip tar to scratch: diff_id is the sha256 of the uncompressed tar", () =>
    Effect.gen(function*() {
      const tar = tarWithOneFile("hello.txt", new TextEncoder().encode("hello, world\n"))
      const gz = zlib.gzipSync(tar)
      const source = yield* BlobSource.fromBytes(gz)
      const made = yield* ImageMutate.append(ImageMutate.scratch, `${host}/team/app:v1`, [{ source }], {
        created: "2026-01-02T03:04:05Z"
      })
      const { config, found, manifest } = yield* read(`${host}/team/app:v1`)
      assert.strictEqual(found.digest, made.digest)
      assert.strictEqual(manifest.mediaType, MediaType.ociManifest)
      assert.deepStrictEqual(manifest.layers, [{
        mediaType: MediaType.ociLayerTarGzip,
        digest: sha256(gz),
        size: gz.length
      }])
      assert.deepStrictEqual(config.rootfs.diff_ids, [sha256(tar)])
      assert.notStrictEqual(sha256(tar), sha256(gz))
      assert.deepStrictEqual(config.history, [{ created: "2026-01-02T03:04:05Z", created_by: "ocireg append" }])
      assert.strictEqual(`${config.os}/${config.architecture}`, "linux/amd64")
      const info = yield* ImageMutate.inspectLayer(source)
      assert.strictEqual(info.compression, "gzip")
      assert.strictEqual(info.uncompressedSize, tar.length)
    }).pipe(Effect.provide(inMemory())))

  it.effect("measureLayer reads once for digest and diff_id; a measured layer is not read again; lies are caught", () =>
    Effect.gen(function*() {
      const tar = tarWithOneFile("big.bin", crypto.randomBytes(300_000))
      const gz = zlib.gzipSync(tar)
      const info = yield* ImageMutate.measureLayer(() => Stream.fromIterable([gz.subarray(0, 1000), gz.subarray(1000)]))
      assert.deepStrictEqual(info, {
        digest: sha256(gz),
        size: gz.length,
        compression: "gzip",
        diffId: sha256(tar),
        uncompressedSize: tar.length
      })
      let opens = 0
      const counted = BlobSource.make({
        digest: info.digest,
        size: info.size,
        open: (offset) => Stream.suspend(() => (opens++, Stream.succeed(gz.subarray(offset))))
      })
      yield* ImageMutate.append(ImageMutate.scratch, `${host}/team/app:measured`, [{ source: counted, info }])
      const measuredOpens = opens
      opens = 0
      yield* ImageMutate.append(ImageMutate.scratch, `${host}/team/app:unmeasured`, [{ source: counted }])
      assert.isBelow(measuredOpens, opens)
      const { config } = yield* read(`${host}/team/app:measured`)
      assert.deepStrictEqual(config.rootfs.diff_ids, [sha256(tar)])
      const liar = BlobSource.make({ digest: info.digest, size: info.size, open: () => Stream.succeed(tar) })
      const lie = yield* Effect.flip(ImageMutate.inspectLayer(liar))
      assert.strictEqual(lie._tag, "DigestMismatch")
    }).pipe(Effect.provide(inMemory())))

  it.effect("appends on top of a base, keeping every other field of its config and manifest", () =>
    Effect.gen(function*() {
      yield* storeRaw("team/base", "v1", unusualConfig)
      const before = yield* read(`${host}/team/base:v1`)
      const tar = tarWithOneFile("added.txt", new TextEncoder().encode("added"))
      const source = yield* BlobSource.fromBytes(tar)
      yield* ImageMutate.append(`${host}/team/base:v1`, `${host}/team/app:v2`, [{
        source,
        history: { created_by: "COPY added.txt /", comment: "by a test" }
      }], { created: "2026-01-02T03:04:05Z" })
      const after = yield* read(`${host}/team/app:v2`)
      assert.deepStrictEqual(Object.keys(after.config), Object.keys(before.config))
      assert.deepStrictEqual(after.config["x-unknown"], { nested: [1, 2, { a: null }] })
      assert.strictEqual(after.config.config.Custom, true)
      assert.deepStrictEqual(after.config.rootfs.diff_ids, [...before.config.rootfs.diff_ids, sha256(tar)])
      assert.deepStrictEqual(after.config.history.at(-1), {
        created: "2026-01-02T03:04:05Z",
        created_by: "COPY added.txt /",
        comment: "by a test"
      })
      // only rootfs and history changed: the rest of the bytes are the base's
      const expected = JSON.parse(text(before.configBytes!))
      expected.rootfs.diff_ids.push(sha256(tar))
      expected.history.push(after.config.history.at(-1))
      assert.strictEqual(text(after.configBytes!), JSON.stringify(expected))
      assert.strictEqual(after.manifest.annotations["org.example.kept"], "yes")
      assert.deepStrictEqual(after.manifest.layers.map((l: { mediaType: string }) => l.mediaType), [
        MediaType.ociLayerTar,
        MediaType.ociLayerTar
      ])
      // the base's layer was carried into the new repository
      const registry = yield* RegistryTest.TestRegistry
      assert.include(registry.repositoryBlobs("team/app"), before.manifest.layers[0].digest)
    }).pipe(Effect.provide(inMemory())))

  it.effect("follows a Docker base's flavour", () =>
    Effect.gen(function*() {
      yield* storeRaw("team/docker", "v1", unusualConfig, MediaType.dockerManifest)
      const tar = tarWithOneFile("a.txt", new TextEncoder().encode("a"))
      const gz = yield* BlobSource.fromBytes(zlib.gzipSync(tar))
      const plain = yield* BlobSource.fromBytes(tarWithOneFile("b.txt", new TextEncoder().encode("b")))
      const made = yield* ImageMutate.append(`${host}/team/docker:v1`, `${host}/team/docker:v2`, [
        { source: gz },
        { source: plain }
      ])
      assert.strictEqual(made.mediaType, MediaType.dockerManifest)
      const { manifest } = yield* read(`${host}/team/docker:v2`)
      assert.deepStrictEqual(manifest.layers.map((l: { mediaType: string }) => l.mediaType), [
        MediaType.dockerLayer,
        MediaType.dockerLayer,
        ImageMutate.dockerLayerTar
      ])
    }).pipe(Effect.provide(inMemory())))

  it.effect("refuses what is not a tar, zstd, a target without a tag, a one-shot source, an unknown platform", () =>
    Effect.gen(function*() {
      const target = `${host}/team/app:bad`
      const notTar = yield* BlobSource.fromBytes(new TextEncoder().encode("just some text, not an archive".repeat(30)))
      const e1 = yield* Effect.flip(ImageMutate.append(ImageMutate.scratch, target, [{ source: notTar }]))
      assert.strictEqual(e1._tag === "ImageMutateError" && e1.reason, "NotATar")
      const gzNotTar = yield* BlobSource.fromBytes(zlib.gzipSync(new Uint8Array(600).fill(7)))
      const e2 = yield* Effect.flip(ImageMutate.append(ImageMutate.scratch, target, [{ source: gzNotTar }]))
      assert.strictEqual(e2._tag === "ImageMutateError" && e2.reason, "NotATar")
      const zstd = yield* BlobSource.fromBytes(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0]))
      const e3 = yield* Effect.flip(ImageMutate.append(ImageMutate.scratch, target, [{ source: zstd }]))
      assert.strictEqual(e3._tag === "ImageMutateError" && e3.reason, "UnsupportedCompression")
      const tar = tarWithOneFile("a", new Uint8Array(1))
      const ok = yield* BlobSource.fromBytes(tar)
      const e4 = yield* Effect.flip(ImageMutate.append(ImageMutate.scratch, `${host}/team/app`, [{ source: ok }]))
      assert.strictEqual(e4._tag === "ImageMutateError" && e4.reason, "MissingTag")
      const oneShot = BlobSource.fromStream({ digest: ok.digest, size: ok.size, stream: Stream.succeed(tar) })
      const e5 = yield* Effect.flip(ImageMutate.append(ImageMutate.scratch, target, [{ source: oneShot }]))
      assert.strictEqual(e5._tag === "ImageMutateError" && e5.reason, "OneShotSource")
      const broken = yield* BlobSource.fromBytes(zlib.gzipSync(tar).subarray(0, 20))
      const e6 = yield* Effect.flip(ImageMutate.append(ImageMutate.scratch, target, [{ source: broken }]))
      assert.strictEqual(e6._tag === "ImageMutateError" && e6.reason, "NotATar")
      yield* storeImage("team/multi-src", "amd", { architecture: "amd64" })
      yield* ImageIndex.create(`${host}/team/multi-src:v1`, [`${host}/team/multi-src:amd`])
      const e7 = yield* Effect.flip(
        ImageMutate.append(`${host}/team/multi-src:v1`, target, [{ source: ok }], { platform: "linux/s390x" })
      )
      assert.strictEqual(e7._tag === "ImageMutateError" && e7.reason, "UnknownPlatform")
      const registry = yield* RegistryTest.TestRegistry
      assert.isFalse(registry.tags("team/app").has("bad"))
    }).pipe(Effect.provide(inMemory())))
})

describe("ImageMutate.mutate", () => {
  it.effect("sets config fields and annotations under the same tag, keeping every other byte", () =>
    Effect.gen(function*() {
      yield* storeRaw("team/app", "v1", unusualConfig)
      const before = yield* read(`${host}/team/app:v1`)
      const made = yield* ImageMutate.mutate(`${host}/team/app:v1`, {
        labels: { "org.opencontainers.image.version": "1.0", old: null },
        annotations: { "org.example.new": "1" },
        env: { LOG: "info", EXTRA: "x=y" },
        entrypoint: ["/bin/app"],
        cmd: ["serve", "--port", "8080"],
        user: "1000:1000",
        workdir: "/srv",
        exposedPorts: ["8080", "53/udp"],
        created: "2026-12-03T00:00:00Z"
      })
      const after = yield* read(`${host}/team/app:v1`)
      assert.strictEqual(after.found.digest, made.digest)
      assert.notStrictEqual(made.digest, before.found.digest)
      const c = after.config
      assert.deepStrictEqual(c.config.Labels, { "org.opencontainers.image.version": "1.0" })
      assert.deepStrictEqual(c.config.Env, ["PATH=/bin", "LOG=info", "EXTRA=x=y"])
      assert.deepStrictEqual(c.config.Entrypoint, ["/bin/app"])
      assert.deepStrictEqual(c.config.Cmd, ["serve", "--port", "8080"])
      assert.strictEqual(c.config.User, "1000:1000")
      assert.strictEqual(c.config.WorkingDir, "/srv")
      assert.deepStrictEqual(c.config.ExposedPorts, { "8080/tcp": {}, "53/udp": {} })
      assert.strictEqual(c.created, "2026-12-03T00:00:00Z")
      // every other field in its place
      assert.deepStrictEqual(c["x-unknown"], { nested: [1, 2, { a: null }] })
      assert.strictEqual(c.config.Custom, true)
      assert.deepStrictEqual(Object.keys(c).slice(0, 5), ["zeta", "architecture", "os", "x-unknown", "config"])
      assert.deepStrictEqual(c.rootfs, before.config.rootfs)
      assert.deepStrictEqual(c.history, before.config.history)
      assert.deepStrictEqual(after.manifest.annotations, { "org.example.kept": "yes", "org.example.new": "1" })
      assert.deepStrictEqual(after.manifest.layers, before.manifest.layers)
    }).pipe(Effect.provide(inMemory())))

  it.effect("changing only annotations keeps the config blob; -t pushes elsewhere and carries the blobs", () =>
    Effect.gen(function*() {
      yield* storeRaw("team/app", "v1", unusualConfig)
      const before = yield* read(`${host}/team/app:v1`)
      yield* ImageMutate.mutate(`${host}/team/app:v1`, { annotations: { a: "b" } }, {
        target: `${host}/other/app:v9`
      })
      const after = yield* read(`${host}/other/app:v9`)
      assert.strictEqual(after.manifest.config.digest, before.manifest.config.digest)
      const registry = yield* RegistryTest.TestRegistry
      assert.include(registry.repositoryBlobs("other/app"), before.manifest.config.digest)
      assert.include(registry.repositoryBlobs("other/app"), before.manifest.layers[0].digest)
      // the source is untouched
      assert.strictEqual((yield* read(`${host}/team/app:v1`)).found.digest, before.found.digest)
      const dockerAnnotations = yield* storeRaw("team/docker", "v1", unusualConfig, MediaType.dockerManifest).pipe(
        Effect.zipRight(Effect.flip(ImageMutate.mutate(`${host}/team/docker:v1`, { annotations: { a: "b" } })))
      )
      assert.strictEqual(dockerAnnotations._tag === "ImageMutateError" && dockerAnnotations.reason, "Unsupported")
      const byDigest = yield* Effect.flip(ImageMutate.mutate(`${host}/team/app@${before.found.digest}`, { user: "x" }))
      assert.strictEqual(byDigest._tag === "ImageMutateError" && byDigest.reason, "MissingTag")
      const badTime = yield* Effect.flip(ImageMutate.mutate(`${host}/team/app:v1`, { created: "yesterday" }))
      assert.strictEqual(badTime._tag === "ImageMutateError" && badTime.reason, "BadValue")
      for (const created of ["2026", "2026-12-03", "Thu Dec 3 2026"]) {
        const notRfc3339 = yield* Effect.flip(ImageMutate.mutate(`${host}/team/app:v1`, { created }))
        assert.strictEqual(notRfc3339._tag === "ImageMutateError" && notRfc3339.reason, "BadValue", created)
      }
      const badPort = yield* Effect.flip(ImageMutate.mutate(`${host}/team/app:v1`, { exposedPorts: ["http"] }))
      assert.strictEqual(badPort._tag === "ImageMutateError" && badPort.reason, "BadValue")
      // a config is read whole, so a descriptor that claims a huge one is refused before any read
      const huge = registry.putManifest(
        "team/huge",
        "v1",
        encode({
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          config: { mediaType: MediaType.ociConfig, digest: before.manifest.config.digest, size: 17 * 1024 * 1024 },
          layers: []
        }),
        MediaType.ociManifest
      )
      assert.isString(huge)
      const tooBig = yield* Effect.flip(ImageMutate.mutate(`${host}/team/huge:v1`, { user: "x" }))
      assert.strictEqual(tooBig._tag === "ImageMutateError" && tooBig.reason, "Unsupported")
      // a target repository without a tag takes the source's tag, as copy does
      const untagged = yield* ImageMutate.mutate(`${host}/team/app:v1`, { user: "u" }, { target: `${host}/third/app` })
      assert.strictEqual(untagged.reference, `${host}/third/app:v1`)
    }).pipe(Effect.provide(inMemory())))

  it.effect("mutates every image of an index, or only the --platform one", () =>
    Effect.gen(function*() {
      const amd = yield* storeImage("team/multi", "amd", { architecture: "amd64" })
      const arm = yield* storeImage("team/multi", "arm", { architecture: "arm64" })
      yield* ImageIndex.create(`${host}/team/multi:v1`, [`${host}/team/multi:amd`, `${host}/team/multi:arm`], {
        annotations: { "org.example.index": "kept" }
      })
      const all = yield* ImageMutate.mutate(`${host}/team/multi:v1`, { labels: { stage: "all" } })
      assert.deepStrictEqual(all.images.map((i) => i.platform), ["linux/amd64", "linux/arm64"])
      const index = JSON.parse(text((yield* Registry.getManifest(`${host}/team/multi:v1`)).bytes))
      assert.strictEqual(index.annotations["org.example.index"], "kept")
      assert.deepStrictEqual(index.manifests.map((d: { digest: string }) => d.digest), all.images.map((i) => i.digest))
      assert.notInclude(index.manifests.map((d: { digest: string }) => d.digest), amd.digest)
      for (const image of all.images) {
        const child = yield* read(`${host}/team/multi@${image.digest}`)
        assert.strictEqual(child.config.config.Labels.stage, "all")
      }
      const one = yield* ImageMutate.mutate(`${host}/team/multi:v1`, { labels: { stage: "arm" } }, {
        platform: "linux/arm64"
      })
      assert.strictEqual(one.images.length, 1)
      const index2 = JSON.parse(text((yield* Registry.getManifest(`${host}/team/multi:v1`)).bytes))
      assert.strictEqual(index2.manifests[0].digest, all.images[0]!.digest)
      assert.strictEqual(index2.manifests[1].digest, one.images[0]!.digest)
      assert.deepStrictEqual(index2.manifests[1].platform, { architecture: "arm64", os: "linux" })
      const unknown = yield* Effect.flip(
        ImageMutate.mutate(`${host}/team/multi:v1`, { user: "x" }, { platform: "linux/s390x" })
      )
      assert.strictEqual(unknown._tag === "ImageMutateError" && unknown.reason, "UnknownPlatform")
      assert.notStrictEqual(arm.digest, one.images[0]!.digest)
    }).pipe(Effect.provide(inMemory())))
})
