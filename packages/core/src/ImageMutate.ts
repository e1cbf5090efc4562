/**
 * Change images in a registry without rebuilding them, as `crane append`, `crane mutate` and
 * `regctl image mod` do: `append` adds layers (tar archives, gzip-compressed or not) on top of a
 * base image or of nothing (`scratch`); `mutate` sets labels, annotations, environment,
 * entrypoint, command, user, working directory, exposed ports and the creation time.
 *
 * Both edit the parsed JSON of the config and manifest in place, so every field they do not
 * change (unknown ones included) stays, in its order; the documents are written back compact
 * (`JSON.stringify`). A layer's `diff_id` is the sha256 of its uncompressed tar (image-spec
 * config.md, "Layer DiffID"): a gzip layer is hashed while it streams through a decompressor
 * (the platform's `DecompressionStream`), never held whole.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as BlobSource from "./BlobSource.js"
import * as Digest from "./Digest.js"
import * as Image from "./Image.js"
import { toReference } from "./internal/referenceInput.js"
import { remoteBlob } from "./internal/remoteBlob.js"
import * as Manifest from "./Manifest.js"
import * as MediaType from "./MediaType.js"
import * as Reference from "./Reference.js"
import * as Registry from "./Registry.js"
import type { RegistryClient } from "./RegistryClient.js"
import { DigestMismatch, type RegistryError } from "./RegistryError.js"

/**
 * Input `append` or `mutate` cannot use. `reason` says why:
 *
 * - `NotATar`: a layer is not a tar archive (nor a gzip-compressed one).
 * - `UnsupportedCompression`: a layer is zstd-compressed (decompress it or gzip it first).
 * - `OneShotSource`: a layer's source can be read only once; its bytes are read twice (the
 *   `diff_id`, then the upload).
 * - `MissingTag`: the result needs a tag and none was given (a reference by digest alone).
 * - `UnknownPlatform`: the index has no image for the platform asked for.
 * - `Unsupported`: the change does not apply to this kind of manifest (annotations on a Docker
 *   schema 2 manifest, a base that is not an image).
 * - `BadValue`: a value is malformed (a creation time that is not a date, an empty env name).
 *
 * @since 0.1.0
 * @category errors
 */
export class ImageMutateError extends Schema.TaggedError<ImageMutateError>()("ImageMutateError", {
  reason: Schema.Literal(
    "NotATar",
    "UnsupportedCompression",
    "OneShotSource",
    "MissingTag",
    "UnknownPlatform",
    "Unsupported",
    "BadValue"
  ),
  detail: Schema.String
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `Cannot change the image: ${this.reason}: ${this.detail}`
  }
}

/**
 * The media type of an uncompressed Docker layer (moby, go-containerregistry and
 * containers/image read it; the Docker schema 2 text names only the gzip one).
 *
 * @since 0.1.0
 * @category constants
 */
export const dockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar" as const

// ---------------------------------------------------------------------------------------------
// layers
// ---------------------------------------------------------------------------------------------

/**
 * What a layer's bytes are: how they are compressed, the `diff_id` (sha256 of the uncompressed
 * tar) and the size of the uncompressed tar.
 *
 * @since 0.1.0
 * @category models
 */
export interface LayerInfo {
  readonly digest: Digest.Digest
  readonly size: number
  readonly compression: "gzip" | "none"
  readonly diffId: Digest.Digest
  readonly uncompressedSize: number
}

/**
 * A layer to append: its bytes (a re-readable source: they are read twice), and optionally the
 * media type to use (default: by content and the base's flavour) and its `history` entry.
 *
 * @since 0.1.0
 * @category models
 */
export interface LayerInput<E = never, R = never> {
  readonly source: BlobSource.BlobSource<E, R>
  /** What `measureLayer` found, when the caller measured the bytes already (skips a read). */
  readonly info?: LayerInfo | undefined
  readonly mediaType?: string | undefined
  readonly history?: {
    readonly created_by?: string | undefined
    readonly comment?: string | undefined
    readonly author?: string | undefined
  } | undefined
}

const startsWith = (bytes: Uint8Array, magic: ReadonlyArray<number>) =>
  bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b)

const gzipMagic = [0x1f, 0x8b]
const zstdMagic = [0x28, 0xb5, 0x2f, 0xfd]

/** The first `count` bytes of a stream (fewer when it is shorter), reading no more than needed. */
const head = <E, R>(stream: Stream.Stream<Uint8Array, E, R>, count: number) =>
  Stream.runFoldWhile(stream, new Uint8Array(0), (acc) => acc.length < count, (acc, bytes) => {
    const next = new Uint8Array(Math.min(count, acc.length + bytes.length))
    next.set(acc.subarray(0, next.length))
    next.set(bytes.subarray(0, next.length - acc.length), acc.length)
    return next
  })

/**
 * Whether a 512-byte block is a tar header: its checksum field (octal, at 148) equals the sum of
 * its bytes with that field read as spaces (POSIX ustar, also GNU and v7 tar). An all-zero
 * block is the end of an archive (an empty tar).
 */
const isTarHeader = (block: Uint8Array) => {
  if (block.length < 512) return false
  if (block.every((b) => b === 0)) return true
  let sum = 0
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!
  const field = new TextDecoder().decode(block.subarray(148, 156)).replace(/[\0 ]+/g, " ").trim()
  return /^[0-7]+$/.test(field) && parseInt(field, 8) === sum
}

/**
 * Decompress a gzip stream with the platform's `DecompressionStream` (WHATWG Compression
 * Streams: Node >= 18 and every current browser), chunk by chunk. A failure of the input stream
 * comes out as itself; a decompression failure as `NotATar`.
 */
const gunzip = <E, R>(
  stream: Stream.Stream<Uint8Array, E, R>,
  name: string
): Stream.Stream<Uint8Array, E | ImageMutateError, R> =>
  Stream.unwrap(Effect.map(Stream.toReadableStreamEffect(stream), (readable) =>
    Stream.fromReadableStream(
      () => readable.pipeThrough(new DecompressionStream("gzip") as ReadableWritablePair<Uint8Array, Uint8Array>),
      (cause): E | ImageMutateError =>
        Predicate.hasProperty(cause, "_tag")
          ? cause as E
          : new ImageMutateError({
            reason: "NotATar",
            detail: `${name} is not valid gzip (${cause instanceof Error ? cause.message : String(cause)})`
          })
    )))

/**
 * Measure a layer's bytes in one pass (after a peek at its first bytes): its digest and size,
 * whether it is gzip (by its magic bytes), and the `diff_id` and size of the uncompressed tar,
 * hashed as it streams (through `DecompressionStream` for gzip). Fails with `ImageMutateError`
 * (`NotATar`, `UnsupportedCompression`) when it is not a tar archive. `open` gives the bytes from
 * the start each time it is called (a file, bytes in memory).
 *
 * @since 0.1.0
 * @category layers
 */
export const measureLayer = <E, R>(
  open: () => Stream.Stream<Uint8Array, E, R>,
  name = "layer"
): Effect.Effect<LayerInfo, ImageMutateError | E, R> =>
  Effect.gen(function*() {
    const magic = yield* head(open(), 4)
    if (startsWith(magic, zstdMagic)) {
      return yield* new ImageMutateError({
        reason: "UnsupportedCompression",
        detail: `${name} is zstd-compressed; give it uncompressed or gzip-compressed`
      })
    }
    const compression = startsWith(magic, gzipMagic) ? "gzip" as const : "none" as const
    const hasher = yield* Digest.currentHasher
    const rawState = hasher.create("sha256")
    let rawSize = 0
    const raw = Stream.map(open(), (bytes) => {
      rawState.update(bytes)
      rawSize += bytes.length
      return bytes
    })
    const state = compression === "gzip" ? hasher.create("sha256") : rawState
    const tar: Stream.Stream<Uint8Array, E | ImageMutateError, R> = compression === "gzip" ? gunzip(raw, name) : raw
    const { first, size } = yield* Stream.runFold(tar, { first: new Uint8Array(0), size: 0 }, (acc, bytes) => {
      if (state !== rawState) state.update(bytes)
      const first = acc.first.length >= 512
        ? acc.first
        : new Uint8Array([...acc.first, ...bytes.subarray(0, 512 - acc.first.length)])
      return { first, size: acc.size + bytes.length }
    })
    if (!isTarHeader(first)) {
      return yield* new ImageMutateError({
        reason: "NotATar",
        detail: `${name} is not a tar archive${compression === "gzip" ? " (once gunzipped)" : ""}`
      })
    }
    const digest = `sha256:${rawState.hex()}` as Digest.Digest
    return {
      digest,
      size: rawSize,
      compression,
      diffId: compression === "gzip" ? `sha256:${state.hex()}` as Digest.Digest : digest,
      uncompressedSize: size
    } satisfies LayerInfo
  }).pipe(Effect.withSpan("ImageMutate.measureLayer", { attributes: { "layer.name": name } }))

/**
 * `measureLayer` for a `BlobSource`, checking that its bytes are the digest and size it claims
 * (`DigestMismatch` otherwise).
 *
 * @since 0.1.0
 * @category layers
 */
export const inspectLayer = <E, R>(
  source: BlobSource.BlobSource<E, R>
): Effect.Effect<LayerInfo, ImageMutateError | E | RegistryError, R> =>
  Effect.flatMap(
    measureLayer(() => source.open(0), `layer ${source.digest}`),
    (info) =>
      info.digest === source.digest && info.size === source.size
        ? Effect.succeed(info)
        : Effect.fail(
          new DigestMismatch({
            subject: "blob",
            expected: source.digest,
            actual: info.digest,
            expectedSize: source.size,
            actualSize: info.size
          })
        )
  )

const layerMediaType = (flavour: "oci" | "docker", compression: LayerInfo["compression"]) =>
  flavour === "docker"
    ? (compression === "gzip" ? MediaType.dockerLayer : dockerLayerTar)
    : (compression === "gzip" ? MediaType.ociLayerTarGzip : MediaType.ociLayerTar)

// ---------------------------------------------------------------------------------------------
// shared helpers
// ---------------------------------------------------------------------------------------------

type Json = Record<string, unknown>

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const parseJson = (bytes: Uint8Array, what: string) =>
  Effect.try({
    try: () => JSON.parse(new TextDecoder().decode(bytes)) as unknown,
    catch: () => new ImageMutateError({ reason: "Unsupported", detail: `${what} is not JSON` })
  }).pipe(Effect.filterOrFail(
    isObject,
    () => new ImageMutateError({ reason: "Unsupported", detail: `${what} is not a JSON object` })
  ))

const maxConfigSize = 16 * 1024 * 1024

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

/** The object under `key`, created (at the end) when absent or `null`. */
const objectAt = (parent: Json, key: string): Json => {
  const value = parent[key]
  if (isObject(value)) return value
  const created: Json = {}
  parent[key] = created
  return created
}

const at = (ref: Reference.Reference, digest: string) =>
  Reference.make({ registry: ref.registry, repository: ref.repository, digest })

const sameRepository = (a: Reference.Reference, b: Reference.Reference) =>
  a.registry === b.registry && a.repository === b.repository

/** Where the result goes: `target` (its tag, or the source's when it has none), refusing digest-only. */
const targetOf = (source: Reference.Reference, target: Registry.ReferenceInput | undefined) =>
  Effect.gen(function*() {
    const dst = target === undefined ? source : yield* toReference(target)
    // as `Image.copy`: the target's tag, else the source's (unless the target names a digest)
    const tag = dst.tag ?? (dst.digest === undefined ? source.tag : undefined)
    if (tag === undefined) {
      return yield* new ImageMutateError({
        reason: "MissingTag",
        detail: `${Reference.format(dst)} has no tag to put the result under; give one (-t REPO:TAG)`
      })
    }
    return yield* Reference.make({ registry: dst.registry, repository: dst.repository, tag })
  })

/** Make the blobs of `source`'s image available in `target`'s repository (mounted on one registry). */
const carryBlobs = <R>(
  source: Reference.Reference,
  target: Reference.Reference,
  descriptors: ReadonlyArray<Manifest.Descriptor>,
  options: Image.TransferOptions<R>
) =>
  sameRepository(source, target)
    ? Effect.void
    : Effect.forEach(
      descriptors.filter((d) => !d.urls?.length),
      (d) =>
        Image.transferBlob(
          target,
          remoteBlob(source, d),
          options,
          source.registry === target.registry ? source.repository : undefined
        ),
      { concurrency: Math.max(1, options.concurrency ?? 4), discard: true }
    )

const pushBlob = <R>(target: Reference.Reference, bytes: Uint8Array, options: Image.TransferOptions<R>) =>
  Effect.flatMap(BlobSource.fromBytes(bytes), (source) => Image.transferBlob(target, source, options))

const pushManifestBytes = (target: Reference.Reference, bytes: Uint8Array, mediaType: string) =>
  Effect.flatMap(
    Effect.flatMap(Digest.ofBytes(bytes), (digest) => at(target, digest)),
    (byDigest) => Registry.putManifest(byDigest, { bytes, mediaType })
  )

/**
 * What `append` or `mutate` pushed: the reference, the digest and media type of the manifest (or
 * index) it names, and each image written.
 *
 * @since 0.1.0
 * @category models
 */
export interface MutateResult {
  readonly reference: string
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  readonly images: ReadonlyArray<{
    readonly digest: Digest.Digest
    readonly config: Digest.Digest
    readonly platform: string | undefined
  }>
}

const platformOfConfig = (config: Json) =>
  [config.os, config.architecture, config.variant].filter((p) => typeof p === "string" && p !== "").join("/") ||
  undefined

// ---------------------------------------------------------------------------------------------
// append
// ---------------------------------------------------------------------------------------------

/**
 * Options of `append`.
 *
 * @since 0.1.0
 * @category models
 */
export interface AppendOptions<R = never> extends Image.TransferOptions<R> {
  /** Which image of an index the base names (default `linux/amd64`); for `scratch`, the config's platform. */
  readonly platform?: string | undefined
  /** The manifest flavour of an image made on `scratch` (default `oci`). */
  readonly scratchFormat?: "oci" | "docker" | undefined
  /** The `created` time of the history entries (RFC 3339; default now). */
  readonly created?: string | undefined
}

/**
 * The base of `append` that means "no image": the result has only the appended layers.
 *
 * @since 0.1.0
 * @category constants
 */
export const scratch = "scratch" as const

const scratchImage = (platform: string, flavour: "oci" | "docker") =>
  Effect.gen(function*() {
    const parsed = yield* Effect.mapError(
      Manifest.parsePlatform(platform),
      (e) => new ImageMutateError({ reason: "BadValue", detail: e.message })
    )
    const config: Json = {
      architecture: parsed.architecture,
      os: parsed.os,
      ...(parsed.variant !== undefined ? { variant: parsed.variant } : {}),
      config: {},
      rootfs: { type: "layers", diff_ids: [] },
      history: []
    }
    const manifest: Json = {
      schemaVersion: 2,
      mediaType: flavour === "docker" ? MediaType.dockerManifest : MediaType.ociManifest,
      config: { mediaType: flavour === "docker" ? MediaType.dockerConfig : MediaType.ociConfig, digest: "", size: 0 },
      layers: []
    }
    return { config, manifest, mediaType: manifest.mediaType as string }
  })

const baseImage = <R>(base: Registry.ReferenceInput, dst: Reference.Reference, options: AppendOptions<R>) =>
  Effect.gen(function*() {
    const src = yield* toReference(base)
    const resolved = yield* Effect.mapError(
      Image.resolve(src, { platform: options.platform }),
      (e): RegistryError | ImageMutateError =>
        e._tag === "InvalidManifest" && e.detail?.includes(" has no image for ")
          ? new ImageMutateError({ reason: "UnknownPlatform", detail: e.detail })
          : e
    )
    yield* carryBlobs(src, dst, resolved.layers, options)
    return {
      config: yield* parseJson(resolved.configBytes, "the base's config"),
      manifest: yield* parseJson(resolved.image.bytes, "the base's manifest"),
      mediaType: resolved.image.mediaType
    }
  })

// Go decodes `created` with time.Time's RFC 3339 parser: anything else makes docker and skopeo
// refuse the config, so only RFC 3339 date-times are written.
const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

const checkCreated = (created: string | undefined) =>
  created === undefined || (rfc3339.test(created) && !Number.isNaN(Date.parse(created)))
    ? Effect.void
    : Effect.fail(
      new ImageMutateError({ reason: "BadValue", detail: `created ${created} is not an RFC 3339 time` })
    )

/**
 * Add `layers` on top of the image `base` names (or of nothing, with `scratch`) and push the
 * result as `target`: each layer's bytes as a blob (media type by content, OCI or Docker after
 * the base's manifest), its `diff_id` appended to the config's `rootfs.diff_ids` and a `history`
 * entry per layer (when the base has history, or no layers), then the config and the manifest.
 * Every other field of the base's config and manifest is kept. An index as base gives the
 * `platform` image (default `linux/amd64`); the result is that one image.
 *
 * @example
 * import * as BlobSource from "@ocireg/core/BlobSource"
 * import * as ImageMutate from "@ocireg/core/ImageMutate"
 * import * as RegistryClient from "@ocireg/core/RegistryClient"
 * import * as RegistryTest from "@ocireg/core/RegistryTest"
 * import * as CredentialStore from "@ocireg/core/CredentialStore"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 *
 * // a tar archive with no entries: two zero blocks
 * const emptyTar = new Uint8Array(1024)
 *
 * const program = Effect.gen(function*() {
 *   const source = yield* BlobSource.fromBytes(emptyTar)
 *   const made = yield* ImageMutate.append(ImageMutate.scratch, "registry.test/app:v1", [{ source }])
 *   console.log(made.digest)
 * })
 *
 * const layer = RegistryClient.layer().pipe(
 *   Layer.provide(RegistryTest.layer()),
 *   Layer.provide(CredentialStore.layerAnonymous)
 * )
 * Effect.runPromise(Effect.provide(program, layer))
 *
 * @since 0.1.0
 * @category appending
 */
export const append = <E, R, R2 = never>(
  base: Registry.ReferenceInput,
  target: Registry.ReferenceInput,
  layers: ReadonlyArray<LayerInput<E, R>>,
  options: AppendOptions<R2> = {}
): Effect.Effect<MutateResult, RegistryError | ImageMutateError | E, RegistryClient | R | R2> =>
  Effect.gen(function*() {
    yield* checkCreated(options.created)
    const dst = yield* toReference(target)
    if (dst.tag === undefined) {
      return yield* new ImageMutateError({
        reason: "MissingTag",
        detail: `${Reference.format(dst)} has no tag to put the appended image under`
      })
    }
    for (const layer of layers) {
      if (!layer.source.rereadable) {
        return yield* new ImageMutateError({
          reason: "OneShotSource",
          detail: `layer ${layer.source.digest} can be read only once; its bytes are read twice`
        })
      }
    }
    // the layers are checked before anything is read from or written to a registry
    const infos = yield* Effect.forEach(
      layers,
      (layer) =>
        layer.info !== undefined && layer.info.digest === layer.source.digest && layer.info.size === layer.source.size
          ? Effect.succeed(layer.info)
          : inspectLayer(layer.source),
      { concurrency: 2 }
    )
    const start = base === scratch
      ? yield* scratchImage(options.platform ?? "linux/amd64", options.scratchFormat ?? "oci")
      : yield* baseImage(base, dst, options)
    const { config, manifest, mediaType } = start
    const flavour = mediaType === MediaType.dockerManifest ? "docker" as const : "oci" as const
    const slots = Math.max(1, options.concurrency ?? 4)
    yield* Effect.forEach(layers, (layer) => Image.transferBlob(dst, layer.source, options), {
      concurrency: slots,
      discard: true
    })

    const rootfs = objectAt(config, "rootfs")
    if (typeof rootfs.type !== "string") rootfs.type = "layers"
    const diffIds = Array.isArray(rootfs.diff_ids) ? rootfs.diff_ids as Array<unknown> : []
    const baseLayers = Array.isArray(manifest.layers) ? manifest.layers.length : diffIds.length
    rootfs.diff_ids = [...diffIds, ...infos.map((i) => i.diffId)]
    if (Array.isArray(config.history) || baseLayers === 0) {
      const created = options.created ?? new Date().toISOString()
      config.history = [
        ...(Array.isArray(config.history) ? config.history : []),
        ...layers.map((layer) => ({
          created,
          created_by: layer.history?.created_by ?? "ocireg append",
          ...(layer.history?.author !== undefined ? { author: layer.history.author } : {}),
          ...(layer.history?.comment !== undefined ? { comment: layer.history.comment } : {})
        }))
      ]
    }
    const configBytes = encode(config)
    yield* pushBlob(dst, configBytes, options)
    const configDigest = yield* Digest.ofBytes(configBytes)
    const configDescriptor = objectAt(manifest, "config")
    configDescriptor.digest = configDigest
    configDescriptor.size = configBytes.length
    delete configDescriptor.data
    manifest.layers = [
      ...(Array.isArray(manifest.layers) ? manifest.layers : []),
      ...layers.map((layer, i) => ({
        mediaType: layer.mediaType ?? layerMediaType(flavour, infos[i]!.compression),
        digest: infos[i]!.digest,
        size: infos[i]!.size
      }))
    ]
    const bytes = encode(manifest)
    const pushed = yield* Registry.putManifest(dst, { bytes, mediaType })
    return {
      reference: Reference.format(dst),
      digest: pushed.digest,
      mediaType,
      size: bytes.length,
      images: [{ digest: pushed.digest, config: configDigest, platform: platformOfConfig(config) }]
    } satisfies MutateResult
  }).pipe(Effect.withSpan("ImageMutate.append", {
    attributes: { "image.base": String(base), "image.target": String(target), "image.layers": layers.length }
  }))

// ---------------------------------------------------------------------------------------------
// mutate
// ---------------------------------------------------------------------------------------------

/**
 * The changes `mutate` makes. Labels, annotations and env are merged into what is there (a
 * `null` value removes the key); the others replace.
 *
 * @since 0.1.0
 * @category models
 */
export interface Changes {
  /** `config.Labels`. */
  readonly labels?: Readonly<Record<string, string | null>> | undefined
  /** The manifest's `annotations` (the index's, for an index without `platform`). */
  readonly annotations?: Readonly<Record<string, string | null>> | undefined
  /** `config.Env`: `NAME` → value; an entry of the same name is replaced in place. */
  readonly env?: Readonly<Record<string, string | null>> | undefined
  readonly entrypoint?: ReadonlyArray<string> | undefined
  readonly cmd?: ReadonlyArray<string> | undefined
  readonly user?: string | undefined
  readonly workdir?: string | undefined
  /** Added to `config.ExposedPorts`: `80`, `80/tcp`, `53/udp`. */
  readonly exposedPorts?: ReadonlyArray<string> | undefined
  /** The config's `created` (RFC 3339). */
  readonly created?: string | undefined
}

/**
 * Options of `mutate`.
 *
 * @since 0.1.0
 * @category models
 */
export interface MutateOptions<R = never> extends Image.TransferOptions<R> {
  /** Where to push the result (default: the reference itself, under its tag). */
  readonly target?: Registry.ReferenceInput | undefined
  /** Change only this platform's image of an index (the index is rewritten around it). Default: every image. */
  readonly platform?: string | undefined
}

const merge = (into: Json, changes: Readonly<Record<string, string | null>>) => {
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete into[key]
    else into[key] = value
  }
}

const configChanged = (changes: Changes) =>
  changes.labels !== undefined || changes.env !== undefined || changes.entrypoint !== undefined ||
  changes.cmd !== undefined || changes.user !== undefined || changes.workdir !== undefined ||
  changes.exposedPorts !== undefined || changes.created !== undefined

/**
 * Apply `changes` to a parsed image config, in place: only the fields named change, every other
 * key keeps its value and position.
 *
 * @since 0.1.0
 * @category mutating
 */
export const applyToConfig = (
  config: Record<string, unknown>,
  changes: Changes
): Effect.Effect<void, ImageMutateError> =>
  Effect.gen(function*() {
    yield* checkCreated(changes.created)
    if (changes.created !== undefined) config.created = changes.created
    const container = objectAt(config, "config")
    if (changes.labels !== undefined) merge(objectAt(container, "Labels"), changes.labels)
    if (changes.env !== undefined) {
      const env = Array.isArray(container.Env) ? [...container.Env as Array<string>] : []
      for (const [name, value] of Object.entries(changes.env)) {
        if (name === "" || name.includes("=")) {
          return yield* new ImageMutateError({ reason: "BadValue", detail: `env name ${JSON.stringify(name)}` })
        }
        const i = env.findIndex((e) => typeof e === "string" && e.split("=")[0] === name)
        if (value === null) {
          if (i >= 0) env.splice(i, 1)
        } else if (i >= 0) env[i] = `${name}=${value}`
        else env.push(`${name}=${value}`)
      }
      container.Env = env
    }
    if (changes.entrypoint !== undefined) container.Entrypoint = [...changes.entrypoint]
    if (changes.cmd !== undefined) container.Cmd = [...changes.cmd]
    if (changes.user !== undefined) container.User = changes.user
    if (changes.workdir !== undefined) container.WorkingDir = changes.workdir
    if (changes.exposedPorts !== undefined) {
      const ports = objectAt(container, "ExposedPorts")
      for (const port of changes.exposedPorts) {
        if (!/^\d{1,5}(\/(tcp|udp|sctp))?$/.test(port)) {
          return yield* new ImageMutateError({ reason: "BadValue", detail: `port ${port} (want 80, 80/tcp, 53/udp)` })
        }
        ports[port.includes("/") ? port : `${port}/tcp`] = {}
      }
    }
  })

/** Mutate one image manifest; push its config (when changed) and manifest by digest into `dst`. */
const mutateImage = <R>(
  src: Reference.Reference,
  dst: Reference.Reference,
  found: Registry.ManifestResult,
  changes: Changes,
  withAnnotations: boolean,
  options: Image.TransferOptions<R>
) =>
  Effect.gen(function*() {
    if (Manifest.isIndexLike(found.manifest)) {
      return yield* new ImageMutateError({ reason: "Unsupported", detail: "an index inside an index" })
    }
    const manifest = yield* parseJson(found.bytes, `manifest ${found.digest}`)
    const image = found.manifest.manifest
    yield* carryBlobs(src, dst, image.layers, options)
    let configDigest = image.config.digest
    let config: Json | undefined
    if (configChanged(changes)) {
      // a config is read whole: bounded like a manifest body would be (DESIGN: every body read whole has a limit)
      if (image.config.size > maxConfigSize) {
        return yield* new ImageMutateError({
          reason: "Unsupported",
          detail: `config ${image.config.digest} is ${image.config.size} bytes, over the ${maxConfigSize} byte limit`
        })
      }
      const bytes = yield* Registry.getBlobBytes(src, image.config, { maxSize: maxConfigSize })
      config = yield* parseJson(bytes, `config ${image.config.digest}`)
      yield* applyToConfig(config, changes)
      const configBytes = encode(config)
      yield* pushBlob(dst, configBytes, options)
      configDigest = yield* Digest.ofBytes(configBytes)
      const descriptor = objectAt(manifest, "config")
      descriptor.digest = configDigest
      descriptor.size = configBytes.length
      delete descriptor.data
    } else {
      yield* carryBlobs(src, dst, [image.config], options)
    }
    if (withAnnotations && changes.annotations !== undefined) {
      if (found.manifest._tag === "DockerManifest") {
        return yield* new ImageMutateError({
          reason: "Unsupported",
          detail: "Docker schema 2 manifests have no annotations (set labels, or use an OCI image)"
        })
      }
      merge(objectAt(manifest, "annotations"), changes.annotations)
    }
    return {
      bytes: encode(manifest),
      mediaType: found.mediaType,
      config: configDigest,
      platform: config !== undefined ? platformOfConfig(config) : undefined
    }
  })

/**
 * Change an image, or the images of an index, and push the result under the same tag (or
 * `options.target`): labels, env, entrypoint, cmd, user, working directory, exposed ports and
 * creation time in the config; annotations in the manifest. The config and manifest are edited
 * as parsed JSON, so every field not changed stays as it was. For an index, every image is
 * changed (attestations, which describe the old images, are dropped), or with `platform` only
 * that one; the index is rewritten around the new digests, keeping its other fields.
 *
 * @example
 * import * as ImageMutate from "@ocireg/core/ImageMutate"
 * import * as Effect from "effect/Effect"
 *
 * // needs a RegistryClient (NodeRegistry.layer, or RegistryClient.layer over RegistryTest.layer)
 * export const relabel = ImageMutate.mutate("registry.example/team/app:1.0", {
 *   labels: { "org.opencontainers.image.version": "1.0" },
 *   env: { LOG_LEVEL: "info" },
 *   cmd: ["serve", "--port", "8080"]
 * }).pipe(Effect.map((made) => made.digest))
 *
 * @since 0.1.0
 * @category mutating
 */
export const mutate = <R = never>(
  reference: Registry.ReferenceInput,
  changes: Changes,
  options: MutateOptions<R> = {}
): Effect.Effect<MutateResult, RegistryError | ImageMutateError, RegistryClient | R> =>
  Effect.gen(function*() {
    const src = yield* toReference(reference)
    const dst = yield* targetOf(src, options.target)
    const root = yield* Registry.getManifest(src)
    const rootSrc = yield* at(src, root.digest)
    if (!Manifest.isIndexLike(root.manifest)) {
      const made = yield* mutateImage(rootSrc, dst, root, changes, true, options)
      const pushed = yield* Registry.putManifest(dst, { bytes: made.bytes, mediaType: made.mediaType })
      return {
        reference: Reference.format(dst),
        digest: pushed.digest,
        mediaType: made.mediaType,
        size: made.bytes.length,
        images: [{ digest: pushed.digest, config: made.config, platform: made.platform }]
      } satisfies MutateResult
    }
    const index = yield* parseJson(root.bytes, `index ${root.digest}`)
    const children = root.manifest.manifest.manifests
    let chosen: Manifest.Descriptor | undefined
    if (options.platform !== undefined) {
      chosen = Option.getOrUndefined(Manifest.selectPlatform(root.manifest, options.platform))
      if (chosen === undefined) {
        return yield* new ImageMutateError({
          reason: "UnknownPlatform",
          detail: `${Reference.format(src)} has no image for ${options.platform} (it has ${
            children.flatMap((d) => Option.toArray(Manifest.platformOf(d))).join(", ") || "no platforms"
          })`
        })
      }
    }
    const changed = (d: Manifest.Descriptor) =>
      chosen !== undefined ? d.digest === chosen.digest : !Manifest.isAttestation(d) && d.platform !== undefined
    const replaced = new Map<
      string,
      { digest: Digest.Digest; size: number; config: Digest.Digest; platform?: string }
    >()
    const rawChildren = Array.isArray(index.manifests) ? index.manifests as Array<Json> : []
    const kept: Array<Json> = []
    for (const [i, child] of children.entries()) {
      const raw = rawChildren[i] ?? {}
      if (changed(child)) {
        const found = yield* Registry.getManifest(yield* at(src, child.digest))
        const made = yield* mutateImage(src, dst, found, changes, chosen !== undefined, options)
        const pushed = yield* pushManifestBytes(dst, made.bytes, made.mediaType)
        replaced.set(child.digest, {
          digest: pushed.digest,
          size: made.bytes.length,
          config: made.config,
          ...(Option.isSome(Manifest.platformOf(child))
            ? { platform: Option.getOrThrow(Manifest.platformOf(child)) }
            : {})
        })
        raw.digest = pushed.digest
        raw.size = made.bytes.length
        kept.push(raw)
      } else if (chosen === undefined && Manifest.isAttestation(child)) {
        // an attestation states facts about the image it names, which this index no longer holds
        continue
      } else {
        if (!sameRepository(src, dst)) {
          yield* Image.copy(yield* at(src, child.digest), yield* at(dst, child.digest), options)
        }
        kept.push(raw)
      }
    }
    index.manifests = kept
    if (chosen === undefined && changes.annotations !== undefined) {
      if (root.manifest._tag === "DockerManifestList") {
        return yield* new ImageMutateError({
          reason: "Unsupported",
          detail: "Docker manifest lists have no annotations (use an OCI index)"
        })
      }
      merge(objectAt(index, "annotations"), changes.annotations)
    }
    const bytes = encode(index)
    const pushed = yield* Registry.putManifest(dst, { bytes, mediaType: root.mediaType })
    return {
      reference: Reference.format(dst),
      digest: pushed.digest,
      mediaType: root.mediaType,
      size: bytes.length,
      images: [...replaced.values()].map((r) => ({ digest: r.digest, config: r.config, platform: r.platform }))
    } satisfies MutateResult
  }).pipe(Effect.withSpan("ImageMutate.mutate", {
    attributes: { "image.reference": String(reference), "image.target": String(options.target ?? reference) }
  }))
