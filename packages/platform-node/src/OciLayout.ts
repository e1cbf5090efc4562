/**
 * OCI image layout directories on disk (the `oci:` transport of skopeo, `docker buildx --output
 * type=oci`, ...): the `oci-layout` marker, `index.json` (an OCI index whose entries are named by
 * `org.opencontainers.image.ref.name`) and content-addressed `blobs/<algorithm>/<hex>`.
 *
 * - open, create and list: `open`, `init`, `readIndex`, `refs`, `tags`, `resolve`;
 * - read: `readBlob` (a stream verified against digest and size), `readManifest`, `blobSource`
 *   (a re-readable upload source over the file);
 * - write: `writeBlob` (temporary file, hashed while written, `fsync`, `rename` only after the
 *   digest and size check), `writeIndex` / `setRef` (atomic replace of `index.json`);
 * - move images: `pullToLayout` (registry → layout) and `pushFromLayout` (layout → registry),
 *   both preserving every digest.
 *
 * Every digest is validated before it becomes a path, so a hostile manifest cannot name a file
 * outside `blobs/`. Errors of the file system are `OciLayoutError`s carrying the path and a
 * reason, never file contents.
 *
 * @since 0.1.0
 */
import * as BlobSource from "@ocireg/core/BlobSource"
import * as Digest from "@ocireg/core/Digest"
import * as Image from "@ocireg/core/Image"
import * as Manifest from "@ocireg/core/Manifest"
import * as Reference from "@ocireg/core/Reference"
import * as Registry from "@ocireg/core/Registry"
import type { RegistryClient } from "@ocireg/core/RegistryClient"
import { DigestMismatch, InvalidManifest, type InvalidResponse, type RegistryError } from "@ocireg/core/RegistryError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Path from "node:path"
import { writeVerified } from "./internal/ociLayoutBlobWrite.js"
import * as DefaultRef from "./internal/ociLayoutDefaultRef.js"
import {
  fileSize,
  type FsError,
  mkdirp,
  readLimited,
  readStream,
  removeStaleTemporaries,
  writeAtomic
} from "./internal/ociLayoutFs.js"
import * as IndexEdit from "./internal/ociLayoutIndex.js"
import * as Paths from "./internal/ociLayoutPaths.js"
import * as Walk from "./internal/ociLayoutWalk.js"
import * as NodeBlobSource from "./NodeBlobSource.js"

// ---------------------------------------------------------------------------------------------
// models and errors
// ---------------------------------------------------------------------------------------------

/**
 * The `imageLayoutVersion` this module reads and writes.
 *
 * @since 0.1.0
 * @category constants
 */
export const imageLayoutVersion = "1.0.0"

/**
 * The annotation that names an `index.json` entry (a tag, or any ref of the layout grammar).
 *
 * @since 0.1.0
 * @category constants
 */
export const refNameAnnotation: string = IndexEdit.refNameAnnotation

/**
 * Manifests (and `index.json`) are read whole up to this many bytes.
 *
 * @since 0.1.0
 * @category constants
 */
export const manifestSizeLimit = 4 * 1024 * 1024

const indexSizeLimit = 16 * 1024 * 1024
const layoutFileSizeLimit = 4096

/**
 * Why a layout operation failed.
 *
 * - `NotALayout`: no `oci-layout` (or no `index.json`) in the directory;
 * - `UnsupportedVersion`: `imageLayoutVersion` is not `1.0.0`;
 * - `MalformedLayoutFile`, `MalformedIndex`: `oci-layout` or `index.json` is not what the spec says;
 * - `InvalidDigest`: a digest that is not a valid `sha256`/`sha512` digest (never used as a path);
 * - `InvalidRefName`: a name that is not of the image-layout ref grammar;
 * - `RefNotFound`, `BlobNotFound`: nothing by that name or digest (or, with no ref, no image at all);
 * - `AmbiguousRef`: no ref given and the layout holds several images (`detail` lists their refs and digests);
 * - `TooLarge`: a file read whole is over its limit;
 * - `ReadFailed`, `WriteFailed`: the file system refused (`detail` is the system error code).
 *
 * @since 0.1.0
 * @category errors
 */
export const OciLayoutErrorReason = Schema.Literal(
  "NotALayout",
  "UnsupportedVersion",
  "MalformedLayoutFile",
  "MalformedIndex",
  "InvalidDigest",
  "InvalidRefName",
  "RefNotFound",
  "AmbiguousRef",
  "BlobNotFound",
  "TooLarge",
  "ReadFailed",
  "WriteFailed"
)

/**
 * Why an OCI layout operation failed, as decoded by the `OciLayoutErrorReason` schema.
 *
 * @since 0.1.0
 * @category errors
 */
export type OciLayoutErrorReason = typeof OciLayoutErrorReason.Type

/**
 * A failure of the layout on disk: the path concerned and why. `detail` holds a system error
 * code, a validation reason or the ref asked for; never the contents of a file.
 *
 * @since 0.1.0
 * @category errors
 */
export class OciLayoutError extends Schema.TaggedError<OciLayoutError>()("OciLayoutError", {
  path: Schema.String,
  reason: OciLayoutErrorReason,
  detail: Schema.optional(Schema.String)
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `OCI layout ${this.path}: ${this.reason}${this.detail ? ` (${this.detail})` : ""}`
  }
}

/**
 * An OCI image layout directory (an absolute path). Obtain one with `open` or `init`; every
 * operation reads the directory afresh, so several handles (or processes) see each other's writes.
 *
 * @since 0.1.0
 * @category models
 */
export interface OciLayout {
  readonly path: string
}

/**
 * A named entry of `index.json`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Ref {
  readonly name: string
  readonly descriptor: Manifest.Descriptor
}

const fromFs = (error: FsError, notFound?: OciLayoutErrorReason): OciLayoutError => {
  const writing = error.operation === "write" || error.operation === "rename" || error.operation === "mkdir" ||
    error.operation === "sync"
  const reason: OciLayoutErrorReason = error.reason === "TooLarge"
    ? "TooLarge"
    : error.reason === "NotFound" && notFound !== undefined
    ? notFound
    : writing
    ? "WriteFailed"
    : "ReadFailed"
  return new OciLayoutError({ path: error.path, reason, detail: error.code })
}

const locate = (layout: OciLayout, digest: string): Effect.Effect<Paths.BlobLocation, OciLayoutError> =>
  Either.match(Paths.blobLocation(layout.path, digest), {
    onLeft: (reason) => Effect.fail(new OciLayoutError({ path: layout.path, reason: "InvalidDigest", detail: reason })),
    onRight: Effect.succeed
  })

const issuePaths = (error: ParseResult.ParseError): string => {
  const paths = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) =>
    issue.path.length === 0 ? "<root>" : issue.path.map(String).join(".")
  )
  const unique = [...new Set(paths)]
  return `invalid at ${unique.slice(0, 5).join(", ")}${unique.length > 5 ? ", …" : ""}`
}

const utf8 = new TextDecoder("utf-8", { fatal: true })
const encoder = new TextEncoder()

const parseJsonFile = (path: string, bytes: Uint8Array, reason: OciLayoutErrorReason) =>
  Effect.try({
    try: () => JSON.parse(utf8.decode(bytes)) as unknown,
    catch: () => new OciLayoutError({ path, reason, detail: "not UTF-8 JSON" })
  })

// ---------------------------------------------------------------------------------------------
// open and init
// ---------------------------------------------------------------------------------------------

const LayoutFile = Schema.Struct({ imageLayoutVersion: Schema.String })

const checkLayoutFile = (root: string): Effect.Effect<void, OciLayoutError> =>
  Effect.gen(function*() {
    const file = Paths.layoutFile(root)
    const bytes = yield* Effect.mapError(readLimited(file, layoutFileSizeLimit), (e) =>
      e.reason === "TooLarge"
        ? new OciLayoutError({ path: file, reason: "MalformedLayoutFile", detail: "too large" })
        : fromFs(e, "NotALayout"))
    const json = yield* parseJsonFile(file, bytes, "MalformedLayoutFile")
    const decoded = Schema.decodeUnknownEither(LayoutFile)(json)
    if (Either.isLeft(decoded)) {
      return yield* new OciLayoutError({ path: file, reason: "MalformedLayoutFile", detail: issuePaths(decoded.left) })
    }
    if (decoded.right.imageLayoutVersion !== imageLayoutVersion) {
      return yield* new OciLayoutError({
        path: file,
        reason: "UnsupportedVersion",
        detail: `only imageLayoutVersion ${imageLayoutVersion} is supported`
      })
    }
  })

/**
 * Open an existing layout: the directory must hold an `oci-layout` of version `1.0.0` and a
 * readable `index.json`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const open = (dir: string): Effect.Effect<OciLayout, OciLayoutError> =>
  Effect.gen(function*() {
    const layout: OciLayout = { path: Path.resolve(dir) }
    yield* checkLayoutFile(layout.path)
    yield* readIndex(layout)
    return layout
  }).pipe(Effect.withSpan("OciLayout.open", { attributes: { "layout.path": dir } }))

/**
 * Open a layout, creating what is missing: the directory, `oci-layout`, an empty `index.json`
 * and `blobs/sha256`. A directory whose `oci-layout` names another version is refused.
 *
 * @since 0.1.0
 * @category constructors
 */
export const init = (dir: string): Effect.Effect<OciLayout, OciLayoutError> =>
  Effect.gen(function*() {
    const layout: OciLayout = { path: Path.resolve(dir) }
    const root = layout.path
    yield* Effect.mapError(mkdirp(Paths.blobsDir(root)), (e) => fromFs(e))
    const marker = yield* Effect.mapError(fileSize(Paths.layoutFile(root)), (e) => fromFs(e))
    if (Option.isSome(marker)) yield* checkLayoutFile(root)
    else {
      yield* Effect.mapError(
        writeAtomic(Paths.layoutFile(root), encoder.encode(JSON.stringify({ imageLayoutVersion }))),
        (e) => fromFs(e)
      )
    }
    yield* Effect.mapError(mkdirp(Path.join(Paths.blobsDir(root), "sha256")), (e) => fromFs(e))
    yield* IndexEdit.withIndexLock(root)(Effect.gen(function*() {
      const index = yield* Effect.mapError(fileSize(Paths.indexFile(root)), (e) => fromFs(e))
      if (Option.isNone(index)) yield* writeIndexUnlocked(layout, IndexEdit.empty)
    }))
    yield* readIndex(layout)
    return layout
  }).pipe(Effect.withSpan("OciLayout.init", { attributes: { "layout.path": dir } }))

// ---------------------------------------------------------------------------------------------
// index.json
// ---------------------------------------------------------------------------------------------

const decodeIndex = Schema.decodeUnknownEither(Manifest.ImageIndex, { errors: "all" })

/**
 * Read and validate `index.json` (the OCI image index schema: every entry's digest is checked).
 *
 * @since 0.1.0
 * @category index
 */
export const readIndex = (layout: OciLayout): Effect.Effect<Manifest.ImageIndex, OciLayoutError> =>
  Effect.gen(function*() {
    const file = Paths.indexFile(layout.path)
    const bytes = yield* Effect.mapError(readLimited(file, indexSizeLimit), (e) => fromFs(e, "NotALayout"))
    const json = yield* parseJsonFile(file, bytes, "MalformedIndex")
    const decoded = decodeIndex(json)
    if (Either.isLeft(decoded)) {
      return yield* new OciLayoutError({ path: file, reason: "MalformedIndex", detail: issuePaths(decoded.left) })
    }
    return decoded.right
  })

const writeIndexUnlocked = (layout: OciLayout, index: Manifest.ImageIndex) =>
  Effect.mapError(
    writeAtomic(Paths.indexFile(layout.path), encoder.encode(JSON.stringify(index))),
    (e) => fromFs(e)
  )

/**
 * Replace `index.json` atomically (temporary file, `fsync`, `rename`): readers see the old or
 * the new index, never a part.
 *
 * @since 0.1.0
 * @category index
 */
export const writeIndex = (layout: OciLayout, index: Manifest.ImageIndex): Effect.Effect<void, OciLayoutError> =>
  IndexEdit.withIndexLock(layout.path)(writeIndexUnlocked(layout, index))

/**
 * Read, change and atomically write back `index.json`. Updates of one process are serialised
 * per directory, so concurrent `setRef`s keep each other's entries (other processes writing the
 * same layout at the same time are not coordinated).
 *
 * @since 0.1.0
 * @category index
 */
export const updateIndex = (
  layout: OciLayout,
  f: (index: Manifest.ImageIndex) => Manifest.ImageIndex
): Effect.Effect<Manifest.ImageIndex, OciLayoutError> =>
  IndexEdit.withIndexLock(layout.path)(Effect.gen(function*() {
    const current = yield* readIndex(layout)
    const next = f(current)
    if (next !== current) yield* writeIndexUnlocked(layout, next)
    return next
  }))

const validRefName = (layout: OciLayout, name: string) => {
  const reason = IndexEdit.validateRefName(name)
  return reason === undefined
    ? Effect.void
    : Effect.fail(new OciLayoutError({ path: layout.path, reason: "InvalidRefName", detail: reason }))
}

/**
 * Name `descriptor` `name` in `index.json`: the entry of that name is replaced (where it stands),
 * or a new one is appended; every other entry is kept.
 *
 * @since 0.1.0
 * @category index
 */
export const setRef = (
  layout: OciLayout,
  name: string,
  descriptor: Manifest.Descriptor
): Effect.Effect<void, OciLayoutError> =>
  validRefName(layout, name).pipe(
    Effect.zipRight(locate(layout, descriptor.digest)),
    Effect.zipRight(updateIndex(layout, (index) => IndexEdit.withRef(index, name, descriptor))),
    Effect.asVoid
  )

/**
 * Remove the entries named `name` from `index.json` (the blobs stay). Answers whether there was one.
 *
 * @since 0.1.0
 * @category index
 */
export const removeRef = (layout: OciLayout, name: string): Effect.Effect<boolean, OciLayoutError> =>
  Effect.suspend(() => {
    let removed = false
    return Effect.map(
      updateIndex(layout, (index) => {
        const next = IndexEdit.withoutRef(index, name)
        removed = next.manifests.length !== index.manifests.length
        return removed ? next : index
      }),
      () => removed
    )
  })

/**
 * The named entries of `index.json`, in order.
 *
 * @since 0.1.0
 * @category index
 */
export const refs = (layout: OciLayout): Effect.Effect<ReadonlyArray<Ref>, OciLayoutError> =>
  Effect.map(readIndex(layout), (index) =>
    index.manifests.flatMap((descriptor) => {
      const name = IndexEdit.refNameOf(descriptor)
      return name === undefined ? [] : [{ name, descriptor }]
    }))

/**
 * The names of `index.json`'s entries (tags), in order.
 *
 * @since 0.1.0
 * @category index
 */
export const tags = (layout: OciLayout): Effect.Effect<ReadonlyArray<string>, OciLayoutError> =>
  Effect.map(refs(layout), (all) => all.map((ref) => ref.name))

/**
 * Find an `index.json` entry by name (`org.opencontainers.image.ref.name`) or by digest. With no
 * `ref`, the layout's only image (entries naming one digest are one image), as skopeo's `oci:DIR`
 * reads it; `AmbiguousRef` when the layout holds several, `RefNotFound` when it holds none.
 *
 * @since 0.1.0
 * @category index
 */
export const resolve = (
  layout: OciLayout,
  ref?: string | undefined
): Effect.Effect<Manifest.Descriptor, OciLayoutError> =>
  Effect.flatMap(readIndex(layout), (index) => {
    if (ref === undefined) return soleEntry(layout, index)
    const found = Digest.isDigest(ref)
      ? index.manifests.find((d) => d.digest === ref)
      : index.manifests.find((d) => IndexEdit.refNameOf(d) === ref)
    return found === undefined
      ? Effect.fail(
        new OciLayoutError({ path: Paths.indexFile(layout.path), reason: "RefNotFound", detail: ref.slice(0, 300) })
      )
      : Effect.succeed(found)
  })

const soleEntry = (layout: OciLayout, index: Manifest.ImageIndex) => {
  const entry = DefaultRef.defaultEntry(index)
  const path = Paths.indexFile(layout.path)
  return entry._tag === "Sole"
    ? Effect.succeed(entry.descriptor)
    : entry._tag === "Empty"
    ? Effect.fail(new OciLayoutError({ path, reason: "RefNotFound", detail: "no image in the layout" }))
    : Effect.fail(
      new OciLayoutError({
        path,
        reason: "AmbiguousRef",
        detail: `${entry.entries.length} images and no ref given: ${DefaultRef.describeEntries(entry.entries)}`
          .slice(0, 4000)
      })
    )
}

// ---------------------------------------------------------------------------------------------
// blobs
// ---------------------------------------------------------------------------------------------

/**
 * A blob given by digest, or by descriptor (digest and size).
 *
 * @since 0.1.0
 * @category models
 */
export type BlobInput = string | { readonly digest: string; readonly size?: number | undefined }

const blobParts = (blob: BlobInput) =>
  typeof blob === "string" ? { digest: blob, size: undefined } : { digest: blob.digest, size: blob.size }

/**
 * The path of a blob's file (whether or not it exists), after validating the digest.
 *
 * @since 0.1.0
 * @category blobs
 */
export const blobPath = (layout: OciLayout, digest: string): Effect.Effect<string, OciLayoutError> =>
  Effect.map(locate(layout, digest), (location) => location.file)

/**
 * Whether the layout holds a blob (of `size` bytes, when given). The content is not hashed.
 *
 * @since 0.1.0
 * @category blobs
 */
export const hasBlob = (layout: OciLayout, blob: BlobInput): Effect.Effect<boolean, OciLayoutError> =>
  Effect.gen(function*() {
    const { digest, size } = blobParts(blob)
    const location = yield* locate(layout, digest)
    const actual = yield* Effect.mapError(fileSize(location.file), (e) => fromFs(e))
    return Option.isSome(actual) && (size === undefined || actual.value === size)
  })

const existingSize = (location: Paths.BlobLocation, size: number | undefined) =>
  Effect.gen(function*() {
    const actual = yield* Effect.mapError(fileSize(location.file), (e) => fromFs(e))
    if (Option.isNone(actual)) {
      return yield* new OciLayoutError({ path: location.file, reason: "BlobNotFound" })
    }
    if (size !== undefined && actual.value !== size) {
      return yield* new DigestMismatch({
        subject: "blob",
        expected: location.digest,
        expectedSize: size,
        actualSize: actual.value
      })
    }
    return actual.value
  })

/**
 * A blob's bytes as a stream that is hashed as it passes and fails with `DigestMismatch` when the
 * file does not match its digest (or the size, when given): a corrupted layout is never read as
 * good data.
 *
 * @since 0.1.0
 * @category blobs
 */
export const readBlob = (
  layout: OciLayout,
  blob: BlobInput
): Stream.Stream<Uint8Array, OciLayoutError | DigestMismatch, Digest.Hasher> =>
  Stream.unwrap(Effect.gen(function*() {
    const { digest, size } = blobParts(blob)
    const location = yield* locate(layout, digest)
    const actualSize = yield* existingSize(location, size)
    return readStream(location.file).pipe(
      Stream.mapError((e) => fromFs(e, "BlobNotFound")),
      Digest.verify({ digest: location.digest, size: actualSize, subject: "blob" })
    )
  }))

/**
 * A manifest read from the layout: exact bytes (verified against the digest), digest, media type
 * and the decoded document.
 *
 * @since 0.1.0
 * @category models
 */
export interface LayoutManifest {
  readonly descriptor: Manifest.Descriptor
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  readonly bytes: Uint8Array
  readonly manifest: Manifest.Manifest
}

/**
 * Read a manifest or index blob whole (up to `manifestSizeLimit`), verify it against its digest
 * (and the descriptor's size), and decode it. `ref` is a name or digest of `index.json`, any
 * digest of the layout, or a descriptor (whose media type must agree with the bytes).
 *
 * @since 0.1.0
 * @category blobs
 */
export const readManifest = (
  layout: OciLayout,
  ref: string | Manifest.Descriptor
): Effect.Effect<LayoutManifest, OciLayoutError | DigestMismatch | InvalidManifest, Digest.Hasher> =>
  Effect.gen(function*() {
    const descriptor: Manifest.Descriptor | undefined = typeof ref !== "string"
      ? ref
      : Digest.isDigest(ref)
      ? yield* Effect.orElseSucceed(resolve(layout, ref), () => undefined)
      : yield* resolve(layout, ref)
    const digest = descriptor?.digest ?? (ref as string)
    const location = yield* locate(layout, digest)
    if (descriptor !== undefined && descriptor.size > manifestSizeLimit) {
      return yield* new OciLayoutError({ path: location.file, reason: "TooLarge" })
    }
    const bytes = yield* Effect.mapError(
      readLimited(location.file, manifestSizeLimit),
      (e) => fromFs(e, "BlobNotFound")
    )
    const actual = yield* Digest.ofBytes(bytes, Digest.algorithm(location.digest))
    if (actual !== location.digest || (descriptor !== undefined && bytes.length !== descriptor.size)) {
      return yield* new DigestMismatch({
        subject: "manifest",
        expected: location.digest,
        actual,
        expectedSize: descriptor?.size,
        actualSize: bytes.length
      })
    }
    const manifest = yield* Manifest.decode(bytes, descriptor?.mediaType)
    return {
      descriptor: descriptor ?? { mediaType: manifest.mediaType, digest: location.digest, size: bytes.length },
      digest: location.digest,
      mediaType: manifest.mediaType,
      size: bytes.length,
      bytes,
      manifest
    } satisfies LayoutManifest
  })

/**
 * A re-readable upload source over a blob's file (`NodeBlobSource`): an interrupted upload
 * resumes from the registry's offset. Reading from the start verifies digest and size, so a
 * corrupted file fails the upload with `DigestMismatch` (the registry checks the digest too).
 * The file must exist with the descriptor's size.
 *
 * @since 0.1.0
 * @category blobs
 */
export const blobSource = (
  layout: OciLayout,
  descriptor: { readonly digest: string; readonly size: number }
): Effect.Effect<
  BlobSource.BlobSource<InvalidResponse | DigestMismatch, Digest.Hasher>,
  OciLayoutError | DigestMismatch
> =>
  Effect.gen(function*() {
    const location = yield* locate(layout, descriptor.digest)
    const size = yield* existingSize(location, descriptor.size)
    return BlobSource.make({
      digest: location.digest,
      size,
      open: (offset) =>
        offset === 0
          ? Digest.verify({ digest: location.digest, size, subject: "blob" })(NodeBlobSource.readFile(location.file))
          : NodeBlobSource.readFile(location.file, offset)
    })
  })

/**
 * What `writeBlob` did.
 *
 * @since 0.1.0
 * @category models
 */
export interface WriteBlobResult {
  readonly digest: Digest.Digest
  readonly size: number
  /** `false` when the blob was there already (with the right size) and the stream was not run. */
  readonly written: boolean
}

/**
 * Write a blob from a stream. The digest is validated before it becomes a path. A blob that
 * exists with the right size is skipped (the stream is not run). Otherwise the bytes go to
 * `blobs/<algorithm>/.tmp-<random>`, hashed while written (more bytes than `size` stop the
 * write at once), the file is `fsync`ed and renamed to `blobs/<algorithm>/<hex>` only when digest
 * and size match; on a mismatch, a failure or an interruption the temporary file is removed and
 * nothing appears under the digest.
 *
 * @since 0.1.0
 * @category blobs
 */
export const writeBlob = <E, R>(
  layout: OciLayout,
  digest: string,
  size: number,
  stream: Stream.Stream<Uint8Array, E, R>
): Effect.Effect<WriteBlobResult, OciLayoutError | DigestMismatch | E, R | Digest.Hasher> =>
  writeBlobFrom(layout, digest, size, stream, false)

/** `writeBlob`, told whether the stream verifies its own bytes (then they are not hashed again). */
const writeBlobFrom = <E, R>(
  layout: OciLayout,
  digest: string,
  size: number,
  stream: Stream.Stream<Uint8Array, E, R>,
  sourceVerified: boolean
): Effect.Effect<WriteBlobResult, OciLayoutError | DigestMismatch | E, R | Digest.Hasher> =>
  Effect.gen(function*() {
    const location = yield* locate(layout, digest)
    if (!Number.isSafeInteger(size) || size < 0) {
      return yield* new DigestMismatch({ subject: "blob", expected: location.digest, expectedSize: size })
    }
    const existing = yield* Effect.mapError(fileSize(location.file), (e) => fromFs(e))
    if (Option.isSome(existing) && existing.value === size) {
      return { digest: location.digest, size, written: false }
    }
    yield* writeVerified(location, size, stream, (e) => fromFs(e), sourceVerified)
    return { digest: location.digest, size, written: true }
  }).pipe(Effect.withSpan("OciLayout.writeBlob", { attributes: { "blob.digest": digest, "blob.size": size } }))

// ---------------------------------------------------------------------------------------------
// registry ⇄ layout
// ---------------------------------------------------------------------------------------------

type Env = RegistryClient | Digest.Hasher

const toReference = (input: Registry.ReferenceInput) =>
  typeof input === "string" ? Reference.parseEffect(input) : Effect.succeed(input)

const at = (ref: Reference.Reference, digest: string) =>
  Reference.make({ registry: ref.registry, repository: ref.repository, digest })

const platformName = (platform: Manifest.PlatformSpec) =>
  typeof platform === "string"
    ? platform
    : [platform.os, platform.architecture, platform.variant].filter(Boolean).join("/")

/** Removes stale temporaries (`removeStaleTemporaries`) of blob writes and of `index.json`/`oci-layout` writes. */
const removeStaleTemporariesOf = (layout: OciLayout) =>
  Effect.zipRight(
    Effect.forEach(
      ["sha256", "sha512"],
      (algorithm) => removeStaleTemporaries(Path.join(Paths.blobsDir(layout.path), algorithm), [undefined]),
      { discard: true }
    ),
    removeStaleTemporaries(layout.path, ["index.json", "oci-layout"])
  )

/**
 * Options of `pullToLayout`.
 *
 * @since 0.1.0
 * @category models
 */
export interface PullOptions {
  /**
   * `"all"` (the default): an index is stored whole, every child including attestation manifests,
   * so every digest stays valid. A platform (`os/arch[/variant]` or a `Platform`): only that
   * platform's image, and the `index.json` entry names its manifest.
   */
  readonly platform?: Manifest.PlatformSpec | "all" | undefined
  /** Blobs downloaded at the same time. Default 4. */
  readonly concurrency?: number | undefined
  /** The name of the `index.json` entry. Default: the reference's tag (`latest` without tag or digest). */
  readonly tag?: string | undefined
  /** Told when each blob starts downloading, as its bytes arrive, and when it is written. */
  readonly onEvent?: ((event: Image.TransferEvent) => Effect.Effect<void>) | undefined
}

/**
 * What `pullToLayout` did.
 *
 * @since 0.1.0
 * @category models
 */
export interface PullResult {
  /** The digest of the manifest `index.json` now names (the index, or the chosen platform's image). */
  readonly digest: Digest.Digest
  readonly descriptor: Manifest.Descriptor
  /** The `org.opencontainers.image.ref.name` of the entry (none for a digest-only reference). */
  readonly tag: string | undefined
  /** Manifests stored (indexes and images). */
  readonly manifests: number
  /** Config and layer blobs downloaded. */
  readonly blobs: number
  /** Config and layer blobs the layout had already. */
  readonly existed: number
  /** Bytes written (blobs and manifests). */
  readonly bytes: number
}

/**
 * Pull an image or index from a registry into an OCI layout directory (created if missing):
 * every blob streamed from the registry into a temporary file (verified once, by the registry
 * stream, before the file is renamed to its digest), concurrently, skipping blobs the layout has; then the manifests,
 * children before parents, as their exact bytes; then the `index.json` entry, named by the tag
 * (other entries are kept). The result reads back with `skopeo copy oci:<dir>:<tag>` with the
 * same digests.
 *
 * @since 0.1.0
 * @category transfer
 */
export const pullToLayout = (
  reference: Registry.ReferenceInput,
  dir: string,
  options: PullOptions = {}
): Effect.Effect<PullResult, RegistryError | OciLayoutError, Env> =>
  Effect.gen(function*() {
    const ref = yield* toReference(reference)
    const concurrency = options.concurrency ?? 4
    const tag = options.tag ?? ref.tag ?? (ref.digest === undefined ? Reference.latestTag : undefined)
    const layout = yield* init(dir)
    if (tag !== undefined) yield* validRefName(layout, tag)
    // what a killed pull left under our temporary names (its verified blobs stay and are reused)
    yield* removeStaleTemporariesOf(layout)
    let root = yield* Registry.getManifest(ref)
    let descriptor: Manifest.Descriptor = { mediaType: root.mediaType, digest: root.digest, size: root.size }
    const platform = options.platform ?? "all"
    if (platform !== "all" && Manifest.isIndexLike(root.manifest)) {
      const chosen = Manifest.selectPlatform(root.manifest, platform)
      if (Option.isNone(chosen)) {
        return yield* new InvalidManifest({
          reason: "SchemaViolation",
          mediaType: root.mediaType,
          detail: `${Reference.format(ref)} has no image for ${platformName(platform)}`
        })
      }
      root = yield* Registry.getManifest(yield* at(ref, chosen.value.digest))
      descriptor = {
        mediaType: root.mediaType,
        digest: root.digest,
        size: root.size,
        ...(chosen.value.platform !== undefined ? { platform: chosen.value.platform } : {})
      }
    }
    const graph = yield* Walk.walk(
      root,
      (child) => Effect.flatMap(at(ref, child.digest), (childRef) => Registry.getManifest(childRef)),
      concurrency
    )
    let blobs = 0
    let existed = 0
    let bytes = 0
    yield* Effect.forEach(graph.blobs, (blob) =>
      writeBlobFrom(
        layout,
        blob.digest,
        blob.size,
        Registry.getBlob(ref, blob).pipe(Image.reportDownload(blob, options.onEvent)),
        true
      ).pipe(
        Effect.tap((result) =>
          Effect.sync(() => {
            if (result.written) {
              blobs++
              bytes += result.size
            } else existed++
          })
        )
      ), { concurrency, discard: true })
    for (const manifest of graph.manifests) {
      const result = yield* writeBlob(layout, manifest.digest, manifest.size, Stream.succeed(manifest.bytes))
      if (result.written) {
        bytes += result.size
      }
    }
    yield* tag !== undefined
      ? setRef(layout, tag, descriptor)
      : Effect.asVoid(updateIndex(layout, (index) => IndexEdit.withEntry(index, descriptor)))
    return { digest: root.digest, descriptor, tag, manifests: graph.manifests.length, blobs, existed, bytes }
  }).pipe(Effect.withSpan("OciLayout.pullToLayout", {
    attributes: { "image.reference": String(reference), "layout.path": dir }
  }))

/**
 * Options of `pushFromLayout`.
 *
 * @since 0.1.0
 * @category models
 */
export interface PushOptions {
  /** Blobs uploaded at the same time. Default 4. */
  readonly concurrency?: number | undefined
  /** Told when each blob starts uploading, as its bytes are sent, and how it ended. */
  readonly onEvent?: ((event: Image.TransferEvent) => Effect.Effect<void>) | undefined
}

/**
 * What `pushFromLayout` did.
 *
 * @since 0.1.0
 * @category models
 */
export interface PushResult {
  /** Where the root manifest went (the target's tag, or its digest). */
  readonly reference: Reference.Reference
  readonly digest: Digest.Digest
  /** Manifests pushed (indexes and images). */
  readonly manifests: number
  readonly blobs: { readonly uploaded: number; readonly mounted: number; readonly existed: number }
  readonly bytesUploaded: number
}

/**
 * Push an image or index from an OCI layout directory to a registry, preserving every digest:
 * the entry `ref` names (a ref name of `index.json`, or a digest) is read and verified, indexes
 * are followed to every child, all blobs are checked to be present with their sizes, then
 * uploaded concurrently from their files (re-readable, so interrupted uploads resume; read from
 * the start they are verified, and the registry checks each digest: a corrupted file fails with
 * `DigestMismatch` and is never stored), then the manifests are put
 * as their stored bytes, children by digest, the root last under the target's tag. A target
 * with neither tag nor digest gets `ref` as its tag when `ref` is a valid tag, else `latest`.
 * With `ref` `undefined` the layout's only image is pushed (see `resolve`; several images fail
 * with `AmbiguousRef`), and its entry's ref name, if it has one, is the default tag.
 *
 * @since 0.1.0
 * @category transfer
 */
export const pushFromLayout = (
  dir: string,
  ref: string | undefined,
  target: Registry.ReferenceInput,
  options: PushOptions = {}
): Effect.Effect<PushResult, RegistryError | OciLayoutError, Env> =>
  Effect.gen(function*() {
    const dst = yield* toReference(target)
    const concurrency = options.concurrency ?? 4
    const layout = yield* open(dir)
    const sole = ref === undefined ? yield* resolve(layout) : undefined
    const root = yield* readManifest(layout, sole ?? ref!)
    if (dst.digest !== undefined && dst.digest !== root.digest) {
      return yield* new DigestMismatch({ subject: "manifest", expected: dst.digest, actual: root.digest })
    }
    const graph = yield* Walk.walk(root, (child) => readManifest(layout, child), concurrency)
    const sources = yield* Effect.forEach(graph.blobs, (blob) =>
      Effect.map(blobSource(layout, blob), (source) => ({ blob, source })))
    let uploaded = 0
    let mounted = 0
    let existed = 0
    let bytesUploaded = 0
    yield* Effect.forEach(sources, ({ source }) =>
      Image.transferBlob(dst, source, { onEvent: options.onEvent }).pipe(
        Effect.tap((result) =>
          Effect.sync(() => {
            if (result.outcome === "uploaded") {
              uploaded++
              bytesUploaded += result.size
            } else if (result.outcome === "mounted") {
              mounted++
            } else existed++
          })
        )
      ), { concurrency, discard: true })
    for (const manifest of graph.manifests) {
      if (manifest.digest === root.digest) {
        continue
      }
      yield* Registry.putManifest(yield* at(dst, manifest.digest), {
        bytes: manifest.bytes,
        mediaType: manifest.mediaType
      })
    }
    const name = sole !== undefined ? IndexEdit.refNameOf(sole) : ref
    const tag = dst.tag ?? (dst.digest !== undefined
      ? undefined
      : name !== undefined && !Digest.isDigest(name) && Either.isRight(Reference.make({ ...dst, tag: name }))
      ? name
      : Reference.latestTag)
    const destination = tag !== undefined
      ? yield* Reference.make({ registry: dst.registry, repository: dst.repository, tag })
      : yield* at(dst, root.digest)
    yield* Registry.putManifest(destination, { bytes: root.bytes, mediaType: root.mediaType })
    return {
      reference: destination,
      digest: root.digest,
      manifests: graph.manifests.length,
      blobs: { uploaded, mounted, existed },
      bytesUploaded
    }
  }).pipe(Effect.withSpan("OciLayout.pushFromLayout", {
    attributes: { "layout.path": dir, "layout.ref": ref ?? "", "image.target": String(target) }
  }))
