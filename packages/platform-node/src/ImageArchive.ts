/**
 * Image archives: the tarballs `docker save` / `docker load`, `podman save` / `podman load` and
 * skopeo's `docker-archive:` and `oci-archive:` transports read and write.
 *
 * - **docker-archive**: `manifest.json` (`[{ Config, RepoTags, Layers }]`), the config as
 *   `<hex>.json` and each layer as `<hex>.tar`, one platform's image. Layers are stored as the
 *   registry serves them (compressed or not: `docker load` and skopeo accept both), so the config
 *   and every layer keep their digests.
 * - **oci-archive**: an OCI image layout in a tar (`oci-layout`, `index.json`, `blobs/sha256/…`),
 *   an image or a whole index, every manifest byte for byte.
 *
 * Writing streams each blob from the registry (verified against its digest on the way) into the
 * tar, one after another, into `FILE.partial`, renamed to `FILE` when complete. Reading indexes
 * the tar's headers once and uploads every blob as a re-readable range of the file: nothing is
 * extracted and no blob is held in memory.
 *
 * Pushing a docker-archive makes a Docker schema 2 manifest (an OCI one when a layer is zstd), as
 * skopeo does: the image keeps its config and layer digests, the manifest is new.
 *
 * Either format may be gzip-compressed as a whole (`docker save | gzip`, `FILE.tar.gz`): writing
 * compresses when asked (or when the name ends in `.gz` / `.tgz`), streaming through zlib; reading
 * tells gzip by its magic bytes (`1f 8b`) and decompresses the archive, streamed, into a temporary
 * file first, removed when done. The tar index needs random access (every blob is a re-readable
 * range, read again when an upload is retried) and a gzip stream can only be read from its start,
 * so this is the one way that never holds a blob in memory; skopeo does the same
 * (containers/image `docker/internal/tarfile/reader.go`, `NewReaderFromFile`).
 *
 * @since 0.1.0
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as BlobSource from "@ocireg/core/BlobSource"
import type * as Digest from "@ocireg/core/Digest"
import * as Image from "@ocireg/core/Image"
import * as Manifest from "@ocireg/core/Manifest"
import * as MediaType from "@ocireg/core/MediaType"
import * as Reference from "@ocireg/core/Reference"
import * as Registry from "@ocireg/core/Registry"
import type { RegistryClient } from "@ocireg/core/RegistryClient"
import type { InvalidResponse, RegistryError } from "@ocireg/core/RegistryError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as FsPromises from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import * as StreamPromises from "node:stream/promises"
import * as Zlib from "node:zlib"
import tar from "tar-stream"
import * as TarIndex from "./internal/tarIndex.js"
import { fileError, readFile } from "./NodeBlobSource.js"

/**
 * The two archive formats.
 *
 * @since 0.1.0
 * @category models
 */
export type Format = "docker-archive" | "oci-archive"

/**
 * An archive that cannot be written or read: `NotAnArchive` (not a tar, or neither format),
 * `Malformed` (a JSON file that does not parse or lacks fields), `MissingBlob`, `Ambiguous` (several
 * images and none named), `Unsupported` (an index nested in an index, a foreign layer),
 * `WriteFailed`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ArchiveError extends Schema.TaggedError<ArchiveError>()("ArchiveError", {
  file: Schema.String,
  reason: Schema.Literal("NotAnArchive", "Malformed", "MissingBlob", "Ambiguous", "Unsupported", "WriteFailed"),
  detail: Schema.optional(Schema.String)
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `image archive ${this.file}: ${this.reason}${this.detail ? ` (${this.detail})` : ""}`
  }
}

/**
 * Options of `pullToArchive`.
 *
 * @since 0.1.0
 * @category models
 */
export interface WriteOptions extends Image.TransferOptions {
  readonly format: Format
  /**
   * Which platform of an index. docker-archive holds one image: default `linux/amd64`;
   * oci-archive: default `"all"`, the whole index.
   */
  readonly platform?: Manifest.PlatformSpec | "all" | undefined
  /** gzip the whole tar. Default: when the file name ends in `.gz` or `.tgz`. */
  readonly compress?: boolean | undefined
}

/**
 * Whether a file name asks for a gzip-compressed archive (`.tar.gz`, `.tgz`, `.gz`).
 *
 * @since 0.1.0
 * @category writing
 */
export const gzipByName = (file: string): boolean => /\.(gz|tgz)$/i.test(file)

/**
 * What `pullToArchive` wrote.
 *
 * @since 0.1.0
 * @category models
 */
export interface WriteResult {
  readonly file: string
  readonly format: Format
  /** The digest of the manifest (or index) the archive names. */
  readonly digest: Digest.Digest
  readonly manifests: number
  readonly blobs: number
  readonly bytes: number
  /** Whether the tar was gzip-compressed. */
  readonly compressed: boolean
}

const epoch = new Date(0)
const hexOf = (digest: string) => digest.slice(digest.indexOf(":") + 1)

/** A tar being written to a file, entry by entry (through gzip when `compress`). */
const openTar = (file: string, compress: boolean) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const pack = tar.pack()
      const out = Fs.createWriteStream(file)
      const gzip = compress ? Zlib.createGzip() : undefined
      const done = new Promise<void>((resolve, reject) => {
        out.once("close", resolve)
        out.once("error", reject)
        pack.once("error", reject)
        gzip?.once("error", reject)
      })
      // the promise is awaited by `close`; a failure before that is reported there
      done.catch(() => undefined)
      if (gzip) pack.pipe(gzip).pipe(out)
      else pack.pipe(out)
      return { pack, out, gzip, done }
    }),
    ({ gzip, out, pack }) =>
      Effect.sync(() => {
        if (!out.closed) {
          pack.destroy()
          gzip?.destroy()
          out.destroy()
        }
      })
  )

type OpenTar = Effect.Effect.Success<ReturnType<typeof openTar>>

const writeFailed = (file: string, cause: unknown) =>
  new ArchiveError({ file, reason: "WriteFailed", detail: cause instanceof Error ? cause.message : String(cause) })

/** One entry whose bytes come from `stream` (exactly `size` of them), written with backpressure. */
const writeEntry = <E, R>(
  tarFile: OpenTar,
  file: string,
  name: string,
  size: number,
  stream: Stream.Stream<Uint8Array, E, R>
): Effect.Effect<void, E | ArchiveError, R> =>
  Effect.gen(function*() {
    let finished: Promise<void> = Promise.resolve()
    const entry = yield* Effect.try({
      try: () => {
        let resolveEntry!: () => void
        let rejectEntry!: (e: unknown) => void
        finished = new Promise<void>((resolve, reject) => {
          resolveEntry = resolve
          rejectEntry = reject
        })
        finished.catch(() => undefined)
        return tarFile.pack.entry(
          { name, size, mode: 0o644, mtime: epoch, type: "file" },
          (error) => error ? rejectEntry(error) : resolveEntry()
        )
      },
      catch: (e) => writeFailed(file, e)
    })
    yield* Stream.runForEach(stream, (chunk) =>
      Effect.async<void>((resume) => {
        if (entry.write(chunk)) resume(Effect.void)
        else entry.once("drain", () => resume(Effect.void))
      }))
    entry.end(() => undefined)
    yield* Effect.tryPromise({ try: () => finished, catch: (e) => writeFailed(file, e) })
  })

const writeBytes = (tarFile: OpenTar, file: string, name: string, bytes: Uint8Array) =>
  writeEntry(tarFile, file, name, bytes.length, Stream.make(bytes))

const writeDirectory = (tarFile: OpenTar, name: string) =>
  Effect.sync(() => void tarFile.pack.entry({ name, type: "directory", mode: 0o755, mtime: epoch }, Buffer.alloc(0)))

const encodeJson = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

const at = (ref: Reference.Reference, digest: string) =>
  Reference.make({ registry: ref.registry, repository: ref.repository, digest })

/**
 * Pull an image into a docker-archive or oci-archive tarball: manifests, configs and layers are
 * verified against their digests as they stream into the file. The file appears only when
 * complete (written as `FILE.partial`, then renamed).
 *
 * @since 0.1.0
 * @category writing
 */
export const pullToArchive = (
  reference: Registry.ReferenceInput,
  file: string,
  options: WriteOptions
): Effect.Effect<WriteResult, RegistryError | ArchiveError, RegistryClient | Digest.Hasher> =>
  Effect.gen(function*() {
    const ref = typeof reference === "string" ? yield* Reference.parseEffect(reference) : reference
    let root = yield* Registry.getManifest(ref)
    const platform = options.platform ?? (options.format === "docker-archive" ? "linux/amd64" : "all")
    if (Manifest.isIndexLike(root.manifest) && platform !== "all") {
      const chosen = Manifest.selectPlatform(root.manifest, platform)
      if (Option.isNone(chosen)) {
        return yield* new ArchiveError({
          file,
          reason: "Unsupported",
          detail: `${Reference.format(ref)} has no image for ${
            typeof platform === "string" ? platform : "the platform"
          }`
        })
      }
      root = yield* Registry.getManifest(yield* at(ref, chosen.value.digest))
    }
    if (options.format === "docker-archive" && Manifest.isIndexLike(root.manifest)) {
      return yield* new ArchiveError({ file, reason: "Unsupported", detail: "a docker-archive holds one platform" })
    }
    const partial = `${file}.partial`
    const compress = options.compress ?? gzipByName(file)
    const tally = { manifests: 0, blobs: 0, bytes: 0 }
    const written = new Set<string>()
    const result = yield* Effect.scoped(Effect.gen(function*() {
      const tarFile = yield* openTar(partial, compress)
      const blobEntry = (name: string, descriptor: Manifest.Descriptor) =>
        Effect.gen(function*() {
          if (written.has(name)) return
          if (descriptor.urls?.length) {
            return yield* new ArchiveError({
              file,
              reason: "Unsupported",
              detail: `foreign layer ${descriptor.digest}`
            })
          }
          written.add(name)
          yield* writeEntry(
            tarFile,
            file,
            name,
            descriptor.size,
            Registry.getBlob(ref, descriptor).pipe(Image.reportDownload(descriptor, options.onEvent))
          )
          tally.blobs++
          tally.bytes += descriptor.size
        })
      if (options.format === "docker-archive") {
        const image = root.manifest as Manifest.ImageLike
        const config = image.manifest.config
        yield* blobEntry(`${hexOf(config.digest)}.json`, config)
        for (const layer of image.manifest.layers) yield* blobEntry(`${hexOf(layer.digest)}.tar`, layer)
        const repoTags = ref.tag !== undefined
          ? [
            Reference.format(
              yield* Reference.make({ registry: ref.registry, repository: ref.repository, tag: ref.tag })
            )
          ]
          : []
        yield* writeBytes(
          tarFile,
          file,
          "manifest.json",
          encodeJson([{
            Config: `${hexOf(config.digest)}.json`,
            RepoTags: repoTags,
            Layers: image.manifest.layers.map((l) => `${hexOf(l.digest)}.tar`)
          }])
        )
        tally.manifests = 1
      } else {
        yield* writeBytes(tarFile, file, "oci-layout", encodeJson({ imageLayoutVersion: "1.0.0" }))
        yield* writeDirectory(tarFile, "blobs/")
        yield* writeDirectory(tarFile, "blobs/sha256/")
        const blobName = (digest: string) => `blobs/${digest.replace(":", "/")}`
        const writeManifest = (
          found: Registry.ManifestResult
        ): Effect.Effect<void, RegistryError | ArchiveError, RegistryClient | Digest.Hasher> =>
          Effect.gen(function*() {
            if (Manifest.isIndexLike(found.manifest)) {
              for (const child of found.manifest.manifest.manifests) {
                if (written.has(blobName(child.digest))) continue
                yield* writeManifest(yield* Registry.getManifest(yield* at(ref, child.digest)))
              }
            } else {
              for (const descriptor of Manifest.descriptors(found.manifest)) {
                yield* blobEntry(blobName(descriptor.digest), descriptor)
              }
            }
            if (!written.has(blobName(found.digest))) {
              written.add(blobName(found.digest))
              yield* writeBytes(tarFile, file, blobName(found.digest), found.bytes)
              tally.manifests++
            }
          })
        yield* writeManifest(root)
        const annotations = ref.tag !== undefined ? { "org.opencontainers.image.ref.name": ref.tag } : undefined
        yield* writeBytes(
          tarFile,
          file,
          "index.json",
          encodeJson({
            schemaVersion: 2,
            mediaType: MediaType.ociIndex,
            manifests: [{
              mediaType: root.mediaType,
              digest: root.digest,
              size: root.size,
              ...(annotations ? { annotations } : {})
            }]
          })
        )
      }
      yield* Effect.sync(() => tarFile.pack.finalize())
      yield* Effect.tryPromise({ try: () => tarFile.done, catch: (e) => writeFailed(file, e) })
      return {
        file,
        format: options.format,
        digest: root.digest,
        manifests: tally.manifests,
        blobs: tally.blobs,
        bytes: tally.bytes,
        compressed: compress
      } satisfies WriteResult
    })).pipe(
      Effect.tapError(() => Effect.promise(() => FsPromises.rm(partial, { force: true })))
    )
    yield* Effect.tryPromise({ try: () => FsPromises.rename(partial, file), catch: (e) => writeFailed(file, e) })
    return result
  }).pipe(Effect.withSpan("ImageArchive.pullToArchive", {
    attributes: {
      "image.reference": String(reference),
      "archive.format": options.format,
      "archive.gzip": options.compress ?? gzipByName(file)
    }
  }))

// ---------------------------------------------------------------------------------------------
// reading
// ---------------------------------------------------------------------------------------------

/**
 * An archive opened for reading: its format and where each file lies in `data` (the file itself,
 * or its decompressed copy when it was gzip-compressed).
 *
 * @since 0.1.0
 * @category models
 */
export interface OpenArchive {
  /** The archive as given (named in errors). */
  readonly file: string
  /** The tar the entries' offsets refer to. */
  readonly data: string
  readonly compressed: boolean
  readonly format: Format
  readonly entries: ReadonlyMap<string, TarIndex.TarEntry>
}

const isGzipFile = (file: string) =>
  Effect.tryPromise({
    try: async () => {
      const handle = await FsPromises.open(file, "r")
      try {
        const head = Buffer.alloc(2)
        const { bytesRead } = await handle.read(head, 0, 2, 0)
        return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b
      } finally {
        await handle.close()
      }
    },
    catch: (e) => new ArchiveError({ file, reason: "NotAnArchive", detail: e instanceof Error ? e.message : undefined })
  })

/** Decompress a gzip file, streamed, into a temporary file removed when the scope closes. */
const gunzipToTemp = (file: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const dir = await FsPromises.mkdtemp(Path.join(Os.tmpdir(), "ocireg-archive-"))
        const data = Path.join(dir, "archive.tar")
        try {
          await StreamPromises.pipeline(Fs.createReadStream(file), Zlib.createGunzip(), Fs.createWriteStream(data))
        } catch (e) {
          await FsPromises.rm(dir, { recursive: true, force: true })
          throw e
        }
        return { dir, data }
      },
      catch: (e) =>
        new ArchiveError({
          file,
          reason: "NotAnArchive",
          detail: `gzip: ${e instanceof Error ? e.message : "cannot decompress"}`
        })
    }),
    ({ dir }) => Effect.promise(() => FsPromises.rm(dir, { recursive: true, force: true }))
  )

/**
 * Index an archive's tar headers and tell its format: `manifest.json` makes a docker-archive,
 * `oci-layout` with `index.json` an oci-archive. A gzip-compressed archive is first decompressed
 * into a temporary file that lives as long as the scope.
 *
 * @since 0.1.0
 * @category reading
 */
export const open = (file: string): Effect.Effect<OpenArchive, ArchiveError, Scope.Scope> =>
  Effect.gen(function*() {
    const compressed = yield* isGzipFile(file)
    const data = compressed ? (yield* gunzipToTemp(file)).data : file
    const entries = yield* Effect.tryPromise({
      try: () => TarIndex.indexTar(data),
      catch: (e) =>
        new ArchiveError({ file, reason: "NotAnArchive", detail: e instanceof Error ? e.message : undefined })
    })
    if (entries.has("oci-layout") && entries.has("index.json")) {
      return { file, data, compressed, format: "oci-archive" as const, entries }
    }
    if (entries.has("manifest.json")) return { file, data, compressed, format: "docker-archive" as const, entries }
    return yield* new ArchiveError({
      file,
      reason: "NotAnArchive",
      detail: "neither manifest.json (docker-archive) nor oci-layout and index.json (oci-archive)"
    })
  })

const entryOf = (archive: OpenArchive, name: string) =>
  Option.match(Option.fromNullable(archive.entries.get(name)), {
    onNone: () => Effect.fail(new ArchiveError({ file: archive.file, reason: "MissingBlob", detail: name })),
    onSome: Effect.succeed
  })

const smallLimit = 4 * 1024 * 1024

const readSmall = (archive: OpenArchive, name: string) =>
  Effect.gen(function*() {
    const entry = yield* entryOf(archive, name)
    if (entry.size > smallLimit) {
      return yield* new ArchiveError({ file: archive.file, reason: "Malformed", detail: `${name} is over 4 MiB` })
    }
    return yield* Effect.tryPromise({
      try: () => TarIndex.readEntry(archive.data, entry),
      catch: (e) =>
        new ArchiveError({ file: archive.file, reason: "Malformed", detail: e instanceof Error ? e.message : name })
    })
  })

const parseJson = (archive: OpenArchive, name: string, bytes: Uint8Array) =>
  Effect.try({
    try: () => JSON.parse(Buffer.from(bytes).toString("utf8")) as unknown,
    catch: () => new ArchiveError({ file: archive.file, reason: "Malformed", detail: `${name} is not JSON` })
  })

/** The bytes `[start, start + length)` of a file, from `offset` within the range. */
const readRange = (file: string, start: number, length: number, offset: number) =>
  length - offset === 0 ? Stream.empty : readFile(file, start + offset).pipe(
    // readFile reads to the end of the file: stop at the range's end
    Stream.mapAccum(
      length - offset,
      (left, bytes) => [Math.max(0, left - bytes.length), bytes.subarray(0, Math.min(left, bytes.length))] as const
    ),
    Stream.takeWhile((bytes) => bytes.length > 0)
  )

/** A re-readable blob source over one file of the archive. */
const rangeSource = (
  file: string,
  entry: TarIndex.TarEntry,
  digest: Digest.Digest
): BlobSource.BlobSource<InvalidResponse> => ({
  ...BlobSource.make({ digest, size: entry.size, open: (offset) => readRange(file, entry.offset, entry.size, offset) }),
  nativeBody: (offset: number, length = entry.size - offset) =>
    length === 0 ? HttpBody.uint8Array(new Uint8Array(0), "application/octet-stream") : HttpBody.raw(
      Fs.createReadStream(file, {
        start: entry.offset + offset,
        end: entry.offset + offset + length - 1,
        highWaterMark: 1024 * 1024
      }),
      { contentType: "application/octet-stream", contentLength: length }
    )
})

/** sha256 of a range of the archive, streamed. */
const hashRange = (file: string, entry: TarIndex.TarEntry) =>
  Effect.gen(function*() {
    const hash = Crypto.createHash("sha256")
    const head = Buffer.alloc(4)
    let seen = 0
    yield* Stream.runForEach(readRange(file, entry.offset, entry.size, 0), (bytes) =>
      Effect.sync(() => {
        if (seen < 4) head.set(bytes.subarray(0, 4 - seen), seen)
        seen += bytes.length
        hash.update(bytes)
      }))
    return { digest: `sha256:${hash.digest("hex")}` as Digest.Digest, head }
  }).pipe(Effect.mapError((e) => fileError(file, e)))

/**
 * Options of `pushFromArchive`.
 *
 * @since 0.1.0
 * @category models
 */
export interface PushOptions extends Image.TransferOptions {
  /** oci-archive: the `org.opencontainers.image.ref.name` to push when `index.json` lists several. */
  readonly name?: string | undefined
}

/**
 * What `pushFromArchive` pushed.
 *
 * @since 0.1.0
 * @category models
 */
export interface PushResult {
  readonly format: Format
  /** Whether the archive was gzip-compressed. */
  readonly compressed: boolean
  readonly reference: string
  readonly digest: Digest.Digest
  readonly manifests: number
  readonly blobs: { readonly uploaded: number; readonly mounted: number; readonly existed: number }
  readonly bytesUploaded: number
}

const DockerArchiveManifest = Schema.Array(Schema.Struct({
  Config: Schema.String,
  RepoTags: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))),
  Layers: Schema.Array(Schema.String)
}))

/** The image of a docker-archive as a push: config, layers (hashed), and a new manifest. */
const dockerImage = (archive: OpenArchive) =>
  Effect.gen(function*() {
    const listing = yield* Schema.decodeUnknown(DockerArchiveManifest)(
      yield* parseJson(archive, "manifest.json", yield* readSmall(archive, "manifest.json"))
    ).pipe(Effect.mapError(() =>
      new ArchiveError({ file: archive.file, reason: "Malformed", detail: "manifest.json lacks Config or Layers" })
    ))
    if (listing.length !== 1) {
      return yield* new ArchiveError({
        file: archive.file,
        reason: "Ambiguous",
        detail: `manifest.json lists ${listing.length} images; ocireg pushes archives of one`
      })
    }
    const entry = listing[0]!
    const configBytes = yield* readSmall(archive, entry.Config)
    const configDigest = `sha256:${Crypto.createHash("sha256").update(configBytes).digest("hex")}` as Digest.Digest
    const layers = yield* Effect.forEach(entry.Layers, (name) =>
      Effect.gen(function*() {
        const tarEntry = yield* entryOf(archive, name)
        const { digest, head } = yield* hashRange(archive.data, tarEntry)
        const kind = head[0] === 0x1f && head[1] === 0x8b
          ? "gzip"
          : head.readUInt32LE(0) === 0xfd2fb528
          ? "zstd"
          : "tar"
        return { name, entry: tarEntry, digest, kind }
      }))
    const oci = layers.some((l) =>
      l.kind === "zstd"
    )
    const layerType = (kind: string) =>
      oci
        ? kind === "gzip"
          ? MediaType.ociLayerTarGzip
          : kind === "zstd"
          ? MediaType.ociLayerTarZstd
          : MediaType.ociLayerTar
        : kind === "gzip"
        ? MediaType.dockerLayer
        : "application/vnd.docker.image.rootfs.diff.tar"
    const manifest = encodeJson({
      schemaVersion: 2,
      mediaType: oci ? MediaType.ociManifest : MediaType.dockerManifest,
      config: {
        mediaType: oci ? MediaType.ociConfig : MediaType.dockerConfig,
        size: configBytes.length,
        digest: configDigest
      },
      layers: layers.map((l) => ({ mediaType: layerType(l.kind), size: l.entry.size, digest: l.digest }))
    })
    const configSource = rangeSource(archive.data, yield* entryOf(archive, entry.Config), configDigest)
    const blobs = [configSource, ...layers.map((l) => rangeSource(archive.data, l.entry, l.digest))]
    return {
      blobs,
      manifest: { bytes: manifest, mediaType: oci ? MediaType.ociManifest : MediaType.dockerManifest }
    } satisfies Image.ImageToPush<InvalidResponse>
  })

const blobName = (digest: string) => `blobs/${digest.replace(":", "/")}`

/** One image manifest of an oci-archive as a push. */
const ociImage = (archive: OpenArchive, descriptor: Manifest.Descriptor) =>
  Effect.gen(function*() {
    const bytes = yield* readSmall(archive, blobName(descriptor.digest))
    const decoded = yield* Either.match(Manifest.decode(bytes, descriptor.mediaType), {
      onLeft: (e) => Effect.fail(new ArchiveError({ file: archive.file, reason: "Malformed", detail: e.message })),
      onRight: Effect.succeed
    })
    return { bytes, decoded }
  })

const ociBlobs = (archive: OpenArchive, manifest: Manifest.Manifest) =>
  Effect.forEach(
    Manifest.descriptors(manifest).filter((d) => !d.urls?.length),
    (d) => Effect.map(entryOf(archive, blobName(d.digest)), (entry) => rangeSource(archive.data, entry, d.digest))
  )

/** The image or index an oci-archive names, as a push. */
const ociContent = (archive: OpenArchive, name: string | undefined) =>
  Effect.gen(function*() {
    const index = yield* Either.match(
      Manifest.decode(yield* readSmall(archive, "index.json"), MediaType.ociIndex),
      {
        onLeft: (e) => Effect.fail(new ArchiveError({ file: archive.file, reason: "Malformed", detail: e.message })),
        onRight: Effect.succeed
      }
    )
    const listed = Manifest.isIndexLike(index) ? index.manifest.manifests : []
    const candidates = name === undefined
      ? listed
      : listed.filter((d) => d.annotations?.["org.opencontainers.image.ref.name"] === name)
    if (candidates.length !== 1) {
      return yield* new ArchiveError({
        file: archive.file,
        reason: "Ambiguous",
        detail: name === undefined
          ? `index.json lists ${listed.length} manifests: name one (FILE:name)`
          : `index.json has ${candidates.length} manifests named ${name}`
      })
    }
    const root = yield* ociImage(archive, candidates[0]!)
    if (!Manifest.isIndexLike(root.decoded)) {
      return {
        blobs: yield* ociBlobs(archive, root.decoded),
        manifest: { bytes: root.bytes, mediaType: root.decoded.mediaType }
      } satisfies Image.ImageToPush<InvalidResponse> as
        | Image.ImageToPush<InvalidResponse>
        | Image.IndexToPush<InvalidResponse>
    }
    const images = yield* Effect.forEach(root.decoded.manifest.manifests, (child) =>
      Effect.gen(function*() {
        const image = yield* ociImage(archive, child)
        if (Manifest.isIndexLike(image.decoded)) {
          return yield* new ArchiveError({
            file: archive.file,
            reason: "Unsupported",
            detail: "an index inside an index"
          })
        }
        return {
          blobs: yield* ociBlobs(archive, image.decoded),
          manifest: { bytes: image.bytes, mediaType: image.decoded.mediaType }
        } satisfies Image.ImageToPush<InvalidResponse>
      }))
    return { images, index: { bytes: root.bytes, mediaType: root.decoded.mediaType } } satisfies Image.IndexToPush<
      InvalidResponse
    >
  })

/**
 * Push a docker-archive or oci-archive tarball (the format, and gzip, are detected) to a
 * reference. Blobs the repository has are skipped; the others stream from the file (from its
 * decompressed temporary copy when it is gzip-compressed).
 *
 * @since 0.1.0
 * @category reading
 */
export const pushFromArchive = (
  file: string,
  reference: Registry.ReferenceInput,
  options: PushOptions = {}
): Effect.Effect<PushResult, RegistryError | ArchiveError, RegistryClient | Digest.Hasher> =>
  Effect.gen(function*() {
    const archive = yield* open(file)
    yield* Effect.annotateCurrentSpan("archive.gzip", archive.compressed)
    const content = archive.format === "docker-archive"
      ? yield* dockerImage(archive)
      : yield* ociContent(archive, options.name)
    const tally = { uploaded: 0, mounted: 0, existed: 0, bytesUploaded: 0 }
    const onEvent = (event: Image.TransferEvent) =>
      Effect.gen(function*() {
        if (event._tag === "BlobFinished") {
          if (event.outcome === "uploaded") {
            tally.uploaded++
            tally.bytesUploaded += event.size
          } else if (event.outcome === "mounted") tally.mounted++
          else if (event.outcome === "exists") tally.existed++
        }
        if (options.onEvent) yield* options.onEvent(event)
      })
    const pushed = yield* Image.push(reference, content, { concurrency: options.concurrency, onEvent })
    return {
      format: archive.format,
      compressed: archive.compressed,
      reference: Reference.format(pushed.reference),
      digest: pushed.digest,
      manifests: "images" in content ? content.images.length + 1 : 1,
      blobs: { uploaded: tally.uploaded, mounted: tally.mounted, existed: tally.existed },
      bytesUploaded: tally.bytesUploaded
    } satisfies PushResult
  }).pipe(
    Effect.scoped,
    Effect.withSpan("ImageArchive.pushFromArchive", { attributes: { "image.reference": String(reference) } })
  )
