/**
 * Whole-image work on top of the `Registry` operations: resolve a tag to a platform's image,
 * pull its config and layers as verified streams, push an image or an index, copy between
 * repositories and registries preserving every digest, tag, and inspect.
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as BlobSource from "./BlobSource.js"
import type * as Digest from "./Digest.js"
import { toReference } from "./internal/referenceInput.js"
import { remoteBlob } from "./internal/remoteBlob.js"
import * as Manifest from "./Manifest.js"
import * as Reference from "./Reference.js"
import * as Registry from "./Registry.js"
import type { RegistryClient } from "./RegistryClient.js"
import { InvalidManifest, type RegistryError } from "./RegistryError.js"

const at = (ref: Reference.Reference, digest: string) =>
  Reference.make({ registry: ref.registry, repository: ref.repository, digest })

// ---------------------------------------------------------------------------------------------
// resolve and pull
// ---------------------------------------------------------------------------------------------

/**
 * An image resolved to one platform: the manifest the reference named (`root`, an index or an
 * image manifest), the image manifest chosen from it, and the decoded config.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResolvedImage {
  readonly reference: Reference.Reference
  readonly root: Registry.ManifestResult
  readonly image: Registry.ManifestResult & { readonly manifest: Manifest.ImageLike }
  readonly config: Manifest.ImageConfig
  readonly configBytes: Uint8Array
  readonly layers: ReadonlyArray<Manifest.Descriptor>
}

/**
 * Options of `resolve` and `pull`.
 *
 * @since 0.1.0
 * @category models
 */
export interface PlatformOptions {
  /** Which platform of an index: `os/arch[/variant]` or a `Platform`. Default `linux/amd64`. */
  readonly platform?: Manifest.PlatformSpec | undefined
}

const noPlatform = (ref: Reference.Reference, platform: Manifest.PlatformSpec, index: Manifest.IndexLike) =>
  new InvalidManifest({
    reason: "SchemaViolation",
    mediaType: index.mediaType,
    detail: `${Reference.format(ref)} has no image for ${
      typeof platform === "string"
        ? platform
        : [platform.os, platform.architecture, platform.variant].filter(Boolean).join("/")
    } (it has ${
      index.manifest.manifests.flatMap((d) => Option.toArray(Manifest.platformOf(d))).join(", ") || "no platforms"
    })`
  })

/** Read and decode an image manifest's config blob (small: it is read whole, up to 16 MiB). */
const readConfig = (ref: Reference.Reference, descriptor: Manifest.Descriptor) =>
  Effect.gen(function*() {
    const bytes = yield* Registry.getBlobBytes(ref, descriptor)
    const config = yield* Manifest.decodeImageConfig(bytes, descriptor.mediaType)
    return { bytes, config }
  })

/**
 * Follow a reference to one platform's image: tag → digest → (index → platform manifest) →
 * config. Every manifest is verified against its digest on the way.
 *
 * @since 0.1.0
 * @category pulling
 */
export const resolve = (
  reference: Registry.ReferenceInput,
  options: PlatformOptions = {}
): Effect.Effect<ResolvedImage, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const ref = yield* toReference(reference)
    const root = yield* Registry.getManifest(ref)
    let image = root
    if (Manifest.isIndexLike(root.manifest)) {
      const platform = options.platform ?? "linux/amd64"
      const chosen = Manifest.selectPlatform(root.manifest, platform)
      if (Option.isNone(chosen)) return yield* Effect.fail(noPlatform(ref, platform, root.manifest))
      image = yield* Registry.getManifest(yield* at(ref, chosen.value.digest))
    }
    const manifest = image.manifest
    if (Manifest.isIndexLike(manifest)) {
      return yield* Effect.fail(
        new InvalidManifest({
          reason: "SchemaViolation",
          mediaType: image.mediaType,
          detail: "an index inside an index"
        })
      )
    }
    const { bytes, config } = yield* readConfig(ref, manifest.manifest.config)
    return {
      reference: ref,
      root,
      image: { ...image, manifest },
      config,
      configBytes: bytes,
      layers: manifest.manifest.layers
    }
  }).pipe(Effect.withSpan("Image.resolve", { attributes: { "image.reference": String(reference) } }))

/**
 * A pulled image: what `resolve` found, and each layer as a verified stream (opened when run).
 *
 * @since 0.1.0
 * @category models
 */
export interface PulledImage extends ResolvedImage {
  readonly layerStreams: ReadonlyArray<{
    readonly descriptor: Manifest.Descriptor
    readonly stream: Stream.Stream<Uint8Array, RegistryError, RegistryClient>
  }>
}

/**
 * Resolve an image and give its layers as streams that verify digest and size as they pass.
 *
 * @since 0.1.0
 * @category pulling
 */
export const pull = (
  reference: Registry.ReferenceInput,
  options: PlatformOptions = {}
): Effect.Effect<PulledImage, RegistryError, RegistryClient> =>
  Effect.map(resolve(reference, options), (resolved) => ({
    ...resolved,
    layerStreams: resolved.layers.map((descriptor) => ({
      descriptor,
      stream: Registry.getBlob(resolved.reference, descriptor)
    }))
  }))

/**
 * Resolve every platform of an index (attestations skipped), or the one image a manifest names.
 *
 * @since 0.1.0
 * @category pulling
 */
export const resolveAll = (
  reference: Registry.ReferenceInput
): Effect.Effect<ReadonlyArray<ResolvedImage>, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const ref = yield* toReference(reference)
    const root = yield* Registry.getManifest(ref)
    if (!Manifest.isIndexLike(root.manifest)) return [yield* resolve(ref)]
    const children = root.manifest.manifest.manifests.filter((d) =>
      !Manifest.isAttestation(d) && Option.isSome(Manifest.platformOf(d))
    )
    return yield* Effect.forEach(children, (child) =>
      Effect.flatMap(at(ref, child.digest), (childRef) =>
        Effect.map(resolve(childRef), (resolved) => ({ ...resolved, root }))), { concurrency: 4 })
  })

// ---------------------------------------------------------------------------------------------
// push
// ---------------------------------------------------------------------------------------------

/**
 * An image to push: its blobs (config and layers) and its manifest bytes.
 *
 * @since 0.1.0
 * @category models
 */
export interface ImageToPush<E = never, R = never> {
  readonly blobs: ReadonlyArray<BlobSource.BlobSource<E, R>>
  readonly manifest: { readonly bytes: Uint8Array; readonly mediaType?: string | undefined }
}

/**
 * An index to push: its images, then its own bytes.
 *
 * @since 0.1.0
 * @category models
 */
export interface IndexToPush<E = never, R = never> {
  readonly images: ReadonlyArray<ImageToPush<E, R>>
  readonly index: { readonly bytes: Uint8Array; readonly mediaType?: string | undefined }
}

/**
 * Options of `push` and `copy`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TransferOptions<R = never> {
  /**
   * Blobs moved at the same time: one cap for the whole operation, shared by every image of an
   * index (and by every tag of `copyAllTags`). Default 4.
   */
  readonly concurrency?: number | undefined
  /**
   * Told when each blob starts (once it holds one of the `concurrency` slots), as its bytes move
   * (never backwards: a restarted transfer is told as `BlobRestarted`), and how it ended. It may
   * need services of its own (`R`).
   */
  readonly onEvent?: ((event: TransferEvent) => Effect.Effect<void, never, R>) | undefined
}

/**
 * What happens to one blob during a push or copy. `BlobProgress.sent` only grows; when a
 * transfer starts again from an earlier offset (a broken upload restarted), `BlobRestarted` says
 * from where, and progress resumes once the bytes pass the furthest point reached.
 *
 * @since 0.1.0
 * @category models
 */
export type TransferEvent =
  | { readonly _tag: "BlobStarted"; readonly digest: Digest.Digest; readonly size: number }
  | { readonly _tag: "BlobProgress"; readonly digest: Digest.Digest; readonly size: number; readonly sent: number }
  | { readonly _tag: "BlobRestarted"; readonly digest: Digest.Digest; readonly size: number; readonly from: number }
  | {
    readonly _tag: "BlobFinished"
    readonly digest: Digest.Digest
    readonly size: number
    /** How an upload went, or `downloaded` for a blob fetched (into an OCI layout, say). */
    readonly outcome: Registry.UploadResult["outcome"] | "downloaded"
  }

/**
 * `Registry.uploadBlob`, telling `options.onEvent` when the blob starts, as its bytes are sent,
 * and how it ended. `mountFrom` is tried when given.
 *
 * @since 0.1.0
 * @category pushing
 */
export const transferBlob = <E, R, R2 = never>(
  ref: Reference.Reference,
  source: BlobSource.BlobSource<E, R>,
  options: TransferOptions<R2>,
  mountFrom?: string
): Effect.Effect<Registry.UploadResult, RegistryError | E, RegistryClient | R | R2> => {
  const onEvent = options.onEvent
  if (onEvent === undefined) return Registry.uploadBlob(ref, source, { mountFrom })
  const { digest, size } = source
  let furthest = 0
  let opened = false
  const counted: BlobSource.BlobSource<E, R | R2> = {
    ...source,
    nativeBody: undefined, // progress is counted on the byte stream
    whole: undefined,
    open: (offset) =>
      Stream.suspend(() => {
        let sent = offset
        const restarted = opened && offset < furthest
        opened = true
        const progress = Stream.tap(source.open(offset), (bytes) => {
          sent += bytes.length
          if (sent <= furthest) return Effect.void
          furthest = sent
          return onEvent({ _tag: "BlobProgress", digest, size, sent })
        })
        return restarted
          ? Stream.concat(
            Stream.drain(Stream.fromEffect(onEvent({ _tag: "BlobRestarted", digest, size, from: offset }))),
            progress
          )
          : progress
      })
  }
  return onEvent({ _tag: "BlobStarted", digest, size }).pipe(
    Effect.zipRight(Registry.uploadBlob(ref, counted, { mountFrom })),
    Effect.tap((result) => onEvent({ _tag: "BlobFinished", digest, size, outcome: result.outcome }))
  )
}

/**
 * Report a blob download to `onEvent`: started when the stream is opened, progress as its bytes
 * pass, finished (`downloaded`) when it ends.
 *
 * @since 0.1.0
 * @category pulling
 */
export const reportDownload = <R2 = never>(
  descriptor: { readonly digest: Digest.Digest; readonly size: number },
  onEvent: ((event: TransferEvent) => Effect.Effect<void, never, R2>) | undefined
) =>
<E, R>(stream: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R | R2> => {
  if (onEvent === undefined) return stream
  const { digest, size } = descriptor
  return Stream.suspend(() => {
    let sent = 0
    return Stream.fromEffect(onEvent({ _tag: "BlobStarted", digest, size })).pipe(
      Stream.drain,
      Stream.concat(Stream.tap(stream, (bytes) => {
        sent += bytes.length
        return onEvent({ _tag: "BlobProgress", digest, size, sent })
      })),
      Stream.concat(
        Stream.drain(Stream.fromEffect(onEvent({ _tag: "BlobFinished", digest, size, outcome: "downloaded" })))
      )
    )
  })
}

const pushBlobs = <E, R, R2>(
  ref: Reference.Reference,
  blobs: ReadonlyArray<BlobSource.BlobSource<E, R>>,
  options: TransferOptions<R2>,
  slots: Effect.Semaphore
) =>
  Effect.forEach(blobs, (blob) => slots.withPermits(1)(transferBlob(ref, blob, options)), {
    concurrency: "unbounded",
    discard: true
  })

const pushImage = <E, R, R2>(
  ref: Reference.Reference,
  image: ImageToPush<E, R>,
  options: TransferOptions<R2>,
  slots: Effect.Semaphore
) =>
  Effect.gen(function*() {
    yield* pushBlobs(ref, image.blobs, options, slots)
    const digest = yield* Effect.map(BlobSource.fromBytes(image.manifest.bytes), (s) => s.digest)
    return yield* Registry.putManifest(yield* at(ref, digest), image.manifest)
  })

const slotsOf = (options: { readonly concurrency?: number | undefined }) =>
  Effect.makeSemaphore(Math.max(1, options.concurrency ?? 4))

/**
 * Push an image (blobs concurrently, then the manifest) or an index (its images concurrently,
 * then the index) and tag it with the reference's tag. Blobs the repository has are skipped. At
 * most `concurrency` blobs move at once, across all the images of an index.
 *
 * @since 0.1.0
 * @category pushing
 */
export const push = <E, R, R2 = never>(
  reference: Registry.ReferenceInput,
  content: ImageToPush<E, R> | IndexToPush<E, R>,
  options: TransferOptions<R2> = {}
): Effect.Effect<Registry.PutManifestResult, RegistryError | E, RegistryClient | R | R2> =>
  Effect.gen(function*() {
    const ref = yield* toReference(reference)
    const slots = yield* slotsOf(options)
    if ("images" in content) {
      yield* Effect.forEach(content.images, (image) => pushImage(ref, image, options, slots), {
        concurrency: Math.max(1, options.concurrency ?? 4),
        discard: true
      })
      return yield* Registry.putManifest(ref, content.index)
    }
    yield* pushBlobs(ref, content.blobs, options, slots)
    return yield* Registry.putManifest(ref, content.manifest)
  }).pipe(Effect.withSpan("Image.push", { attributes: { "image.reference": String(reference) } }))

// ---------------------------------------------------------------------------------------------
// copy
// ---------------------------------------------------------------------------------------------

/**
 * What `copy` did.
 *
 * @since 0.1.0
 * @category models
 */
export interface CopyResult {
  readonly digest: Digest.Digest
  readonly manifests: number
  readonly blobs: { readonly uploaded: number; readonly mounted: number; readonly existed: number }
  readonly bytesUploaded: number
}

/**
 * Options of `copy`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CopyOptions<R = never> extends TransferOptions<R> {
  /** Copy only this platform's image of an index (its manifest keeps its digest). */
  readonly platform?: Manifest.PlatformSpec | undefined
  /** Also copy the manifests that refer to what is copied (signatures, SBOMs). */
  readonly referrers?: boolean | undefined
}

interface Tally {
  manifests: number
  uploaded: number
  mounted: number
  existed: number
  bytesUploaded: number
}

/**
 * What one copy (or one `copyAllTags`) shares: the `concurrency` slots every blob transfer takes,
 * and the blobs in flight, so a blob two images or two tags share moves once.
 */
interface CopyRun {
  readonly slots: Effect.Semaphore
  readonly inflight: Map<string, Deferred.Deferred<Registry.UploadResult, RegistryError>>
}

const makeRun = (options: TransferOptions<unknown>) =>
  Effect.map(slotsOf(options), (slots): CopyRun => ({ slots, inflight: new Map() }))

/** Run `transfer` once per key among concurrent callers; the others wait and see `exists`. */
const once = <R>(
  run: CopyRun,
  key: string,
  transfer: Effect.Effect<Registry.UploadResult, RegistryError, R>
): Effect.Effect<Registry.UploadResult, RegistryError, R> =>
  Effect.suspend(() => {
    const pending = run.inflight.get(key)
    if (pending !== undefined) {
      return Effect.map(Deferred.await(pending), (result) => ({ ...result, outcome: "exists" as const }))
    }
    const deferred = Deferred.unsafeMake<Registry.UploadResult, RegistryError>(FiberId.none)
    run.inflight.set(key, deferred)
    return Effect.onExit(transfer, (exit) => {
      // a failed transfer is forgotten, so a later copy of the blob tries again
      if (Exit.isFailure(exit)) run.inflight.delete(key)
      return Deferred.done(deferred, exit)
    })
  })

const copyBlob = <R>(
  src: Reference.Reference,
  dst: Reference.Reference,
  descriptor: Manifest.Descriptor,
  tally: Tally,
  options: TransferOptions<R>,
  run: CopyRun
) =>
  once(
    run,
    `${dst.registry}/${dst.repository}@${descriptor.digest}`,
    run.slots.withPermits(1)(
      transferBlob(
        dst,
        remoteBlob(src, descriptor),
        options,
        src.registry === dst.registry ? src.repository : undefined
      )
    )
  ).pipe(Effect.tap((result) =>
    Effect.sync(() => {
      if (result.outcome === "uploaded") {
        tally.uploaded++
        tally.bytesUploaded += result.size
      } else if (result.outcome === "mounted") tally.mounted++
      else tally.existed++
    })
  ))

/** Copy one manifest (recursively for an index) by digest. */
const copyManifest = <R>(
  src: Reference.Reference,
  dst: Reference.Reference,
  root: Registry.ManifestResult,
  tally: Tally,
  options: TransferOptions<R>,
  run: CopyRun
): Effect.Effect<void, RegistryError, RegistryClient | R> =>
  Effect.gen(function*() {
    const manifest = root.manifest
    if (Manifest.isIndexLike(manifest)) {
      // children run side by side; their blobs share the copy's slots, so `concurrency` is the cap
      yield* Effect.forEach(manifest.manifest.manifests, (child) =>
        Effect.gen(function*() {
          const childResult = yield* Registry.getManifest(yield* at(src, child.digest))
          yield* copyManifest(src, dst, childResult, tally, options, run)
        }), { concurrency: Math.max(1, options.concurrency ?? 4), discard: true })
    } else {
      yield* Effect.forEach(
        Manifest.descriptors(manifest).filter((d) => !d.urls?.length),
        (descriptor) => copyBlob(src, dst, descriptor, tally, options, run),
        { concurrency: "unbounded", discard: true }
      )
    }
    yield* Registry.putManifest(yield* at(dst, root.digest), { bytes: root.bytes, mediaType: root.mediaType })
    tally.manifests++
  })

const copyWith = <R>(
  source: Registry.ReferenceInput,
  target: Registry.ReferenceInput,
  options: CopyOptions<R>,
  run: CopyRun
): Effect.Effect<CopyResult, RegistryError, RegistryClient | R> =>
  Effect.gen(function*() {
    const src = yield* toReference(source)
    const dstInput = yield* toReference(target)
    const tally: Tally = { manifests: 0, uploaded: 0, mounted: 0, existed: 0, bytesUploaded: 0 }
    let root = yield* Registry.getManifest(src)
    if (options.platform !== undefined && Manifest.isIndexLike(root.manifest)) {
      const chosen = Manifest.selectPlatform(root.manifest, options.platform)
      if (Option.isNone(chosen)) return yield* Effect.fail(noPlatform(src, options.platform, root.manifest))
      root = yield* Registry.getManifest(yield* at(src, chosen.value.digest))
    }
    yield* copyManifest(src, dstInput, root, tally, options, run)
    const tag = dstInput.tag ?? (dstInput.digest === undefined ? src.tag : undefined)
    if (tag !== undefined) {
      yield* Registry.putManifest(yield* Reference.make({ ...dstInput, tag, digest: undefined }), {
        bytes: root.bytes,
        mediaType: root.mediaType
      })
    }
    if (options.referrers) {
      const referrers = yield* Registry.getReferrers(yield* at(src, root.digest))
      for (const referrer of referrers) {
        const found = yield* Registry.getManifest(yield* at(src, referrer.digest))
        yield* copyManifest(src, dstInput, found, tally, options, run)
      }
    }
    return {
      digest: root.digest,
      manifests: tally.manifests,
      blobs: { uploaded: tally.uploaded, mounted: tally.mounted, existed: tally.existed },
      bytesUploaded: tally.bytesUploaded
    }
  }).pipe(Effect.withSpan("Image.copy", {
    attributes: { "image.source": String(source), "image.target": String(target) }
  }))

/**
 * Copy an image or index from one repository to another, on the same registry (blobs mounted) or
 * another (blobs streamed through, verified, concurrently), preserving every digest. Blobs the
 * target has are skipped. The target reference's tag (or else the source's) names the result.
 * At most `concurrency` blobs move at once for the whole copy, whatever the nesting of indexes.
 *
 * @since 0.1.0
 * @category copying
 */
export const copy = <R = never>(
  source: Registry.ReferenceInput,
  target: Registry.ReferenceInput,
  options: CopyOptions<R> = {}
): Effect.Effect<CopyResult, RegistryError, RegistryClient | R> =>
  Effect.flatMap(makeRun(options), (run) => copyWith(source, target, options, run))

/**
 * Options of `copyAllTags`.
 *
 * @since 0.2.0
 * @category models
 */
export interface CopyAllTagsOptions<R = never> extends CopyOptions<R> {
  /** Tags copied at the same time (their blobs still share the one `concurrency` cap). Default 2. */
  readonly tagConcurrency?: number | undefined
}

/**
 * Copy every tag of a repository to another repository, `tagConcurrency` tags at a time, with
 * one `concurrency` cap on the blobs in flight for the whole run. A blob several tags share is
 * moved once (the other tags count it as `existed`).
 *
 * @since 0.1.0
 * @category copying
 */
export const copyAllTags = <R = never>(
  source: Registry.ReferenceInput,
  target: Registry.ReferenceInput,
  options: CopyAllTagsOptions<R> = {}
): Effect.Effect<
  ReadonlyArray<{ readonly tag: string; readonly result: CopyResult }>,
  RegistryError,
  RegistryClient | R
> =>
  Effect.gen(function*() {
    const src = yield* toReference(source)
    const dst = yield* toReference(target)
    const tags = yield* Registry.listAllTags(src)
    const run = yield* makeRun(options)
    return yield* Effect.forEach(tags, (tag) =>
      Effect.gen(function*() {
        const from = yield* Reference.make({ registry: src.registry, repository: src.repository, tag })
        const to = yield* Reference.make({ registry: dst.registry, repository: dst.repository, tag })
        return { tag, result: yield* copyWith(from, to, options, run) }
      }), { concurrency: Math.max(1, options.tagConcurrency ?? 2) })
  })

// ---------------------------------------------------------------------------------------------
// tag and inspect
// ---------------------------------------------------------------------------------------------

/**
 * Put an existing manifest under another tag of the same repository; no blob moves.
 *
 * @since 0.1.0
 * @category tagging
 */
export const tag = (
  reference: Registry.ReferenceInput,
  newTag: string
): Effect.Effect<Registry.PutManifestResult, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const ref = yield* toReference(reference)
    const found = yield* Registry.getManifest(ref)
    const target = yield* Reference.make({ registry: ref.registry, repository: ref.repository, tag: newTag })
    return yield* Registry.putManifest(target, { bytes: found.bytes, mediaType: found.mediaType })
  }).pipe(Effect.withSpan("Image.tag", { attributes: { "image.reference": String(reference), "image.tag": newTag } }))

/**
 * A summary of an image or index.
 *
 * @since 0.1.0
 * @category models
 */
export interface Inspection {
  readonly reference: string
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  readonly platforms: ReadonlyArray<
    { readonly platform: string; readonly digest: Digest.Digest; readonly size: number }
  >
  readonly image?: {
    readonly digest: Digest.Digest
    readonly platform: string
    readonly created?: string | undefined
    readonly config: Manifest.Descriptor
    readonly layers: ReadonlyArray<Manifest.Descriptor>
    readonly totalSize: number
  }
}

/**
 * Inspect a reference: its digest and media type, the platforms of an index, and for the chosen
 * platform (or the single image) the config and layer sizes.
 *
 * @since 0.1.0
 * @category inspecting
 */
export const inspect = (
  reference: Registry.ReferenceInput,
  options: PlatformOptions = {}
): Effect.Effect<Inspection, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const resolved = yield* resolve(reference, options)
    const root = resolved.root
    const platforms = Manifest.isIndexLike(root.manifest)
      ? root.manifest.manifest.manifests.flatMap((d) =>
        Option.toArray(Option.map(Manifest.platformOf(d), (platform) => ({ platform, digest: d.digest, size: d.size })))
      )
      : []
    const config = resolved.config
    const platform = [config.os, config.architecture, config.variant].filter(Boolean).join("/")
    return {
      reference: Reference.format(resolved.reference),
      digest: root.digest,
      mediaType: root.mediaType,
      size: root.size,
      platforms,
      image: {
        digest: resolved.image.digest,
        platform,
        created: config.created,
        config: resolved.image.manifest.manifest.config,
        layers: resolved.layers,
        totalSize: resolved.layers.reduce((sum, d) => sum + d.size, resolved.image.manifest.manifest.config.size)
      }
    } satisfies Inspection
  }).pipe(Effect.withSpan("Image.inspect", { attributes: { "image.reference": String(reference) } }))
