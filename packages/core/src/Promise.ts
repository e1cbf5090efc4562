/**
 * A Promise facade over ocireg for programs that do not use Effect: `createClient(layer)` gives
 * an object of `async` methods (one per registry operation, plus whole-image `copy`, `tag` and
 * `inspect`) that run on a `ManagedRuntime` built from the layer.
 *
 * - **Errors**: a rejected call rejects with the ocireg error itself (`NotFound`,
 *   `AuthenticationError`, `DigestMismatch`, …): an `Error` with a `_tag` and a `message`, never a
 *   wrapper. `isRegistryError(e, "NotFound")` narrows it.
 * - **Cancellation**: every method takes `{ signal }` last. Aborting the signal interrupts the
 *   running Effect (open requests are closed, blob streams released) and the call rejects with the
 *   signal's `reason` (an `AbortError` `DOMException` when aborted without one).
 * - **Blobs** come as web `ReadableStream<Uint8Array>`s whose bytes are verified against the digest
 *   as they pass; the stream errors with `DigestMismatch` when they do not match.
 * - **Lifetime**: `dispose()` (or `await using`) interrupts what is in flight and releases the
 *   runtime (connections, caches).
 *
 * @example
 * ```ts
 * import { createClient } from "@ocireg/platform-node/NodePromise"
 *
 * async function printTags(repository: string) {
 *   const client = createClient()
 *   try {
 *     const tags = await client.listTags(repository)
 *     console.log(tags)
 *   } catch (error) {
 *     if (client.isRegistryError(error, "NotFound")) console.log("no such repository")
 *     else throw error
 *   } finally {
 *     await client.dispose()
 *   }
 * }
 * ```
 *
 * @since 0.1.0
 */
/// <reference lib="esnext.disposable" preserve="true" />
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as BlobSource from "./BlobSource.js"
import * as Digest from "./Digest.js"
import * as Image from "./Image.js"
import * as Internal from "./internal/promise.js"
import type * as Manifest from "./Manifest.js"
import * as Reference from "./Reference.js"
import * as Registry from "./Registry.js"
import type { RegistryClient } from "./RegistryClient.js"
import * as RegistryError from "./RegistryError.js"

// ---------------------------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------------------------

/**
 * The last argument of every method.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallOptions {
  /** Aborting it interrupts the operation; the call rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined
}

/**
 * Options of `createClient`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClientOptions {
  /** Share layer instances (an HTTP agent, a credential store) with other runtimes built from the same map. */
  readonly memoMap?: Layer.MemoMap | undefined
}

/**
 * A reference: `registry/repository[:tag][@digest]` as a string, or a parsed `Reference`.
 *
 * @since 0.1.0
 * @category models
 */
export type ReferenceInput = Registry.ReferenceInput

/**
 * A blob to fetch: its digest, or a descriptor (`{ digest, size }`, the size is then checked too).
 *
 * @since 0.1.0
 * @category models
 */
export type BlobInput = Registry.BlobInput

/**
 * Any error an operation rejects with (besides an abort reason).
 *
 * @since 0.1.0
 * @category models
 */
export type AnyRegistryError = RegistryError.RegistryError

/**
 * What `ping` learned.
 *
 * @since 0.1.0
 * @category models
 */
export interface PingResult {
  readonly registry: string
  /** `Docker-Distribution-API-Version`, usually `registry/2.0`. */
  readonly apiVersion: string | undefined
}

/**
 * Paging options of `listTags` and `listRepositories` (every page is fetched).
 *
 * @since 0.1.0
 * @category models
 */
export interface ListOptions extends CallOptions {
  /** `n`: entries per page to ask for. */
  readonly pageSize?: number | undefined
  /** `last`: start after this entry. */
  readonly last?: string | undefined
}

/**
 * Options of `getManifest` and `headManifest`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ManifestOptions extends CallOptions {
  /** The `Accept` header. Default: every manifest and index type ocireg understands. */
  readonly accept?: string | undefined
}

/**
 * A fetched manifest: its exact bytes, their digest, and the decoded document with its kind.
 *
 * @since 0.1.0
 * @category models
 */
export interface ManifestResult {
  /** The reference as fetched, in canonical form. */
  readonly reference: string
  readonly digest: string
  readonly mediaType: string
  readonly size: number
  /** The bytes as served (their sha256 is `digest`); push these, never a re-encoding. */
  readonly bytes: Uint8Array
  /** `ImageManifest`, `ImageIndex`, `DockerManifest` or `DockerManifestList`. */
  readonly kind: Manifest.Kind
  /** The decoded document (only the fields the schemas name). */
  readonly manifest: Manifest.Document
}

/**
 * What `headManifest` reports.
 *
 * @since 0.1.0
 * @category models
 */
export interface ManifestHead {
  readonly reference: string
  readonly digest: string
  readonly mediaType: string
  readonly size: number
}

/**
 * What `putManifest` and `tag` stored.
 *
 * @since 0.1.0
 * @category models
 */
export interface PutManifestResult {
  readonly reference: string
  readonly digest: string
  readonly mediaType: string
  readonly size: number
  /** `OCI-Subject`: the registry indexed the manifest's subject for the referrers API itself. */
  readonly subject: string | undefined
}

/**
 * What `headBlob` reports.
 *
 * @since 0.1.0
 * @category models
 */
export interface BlobHead {
  readonly digest: string
  readonly size: number
}

/**
 * Options of `getBlobBytes`.
 *
 * @since 0.1.0
 * @category models
 */
export interface BlobBytesOptions extends CallOptions {
  /** Refuse a blob larger than this many bytes with `InvalidResponse` (checked before and while reading). */
  readonly maxSize?: number | undefined
}

/**
 * A blob to upload from a stream: its digest and size must be known in advance (the registry
 * checks them). The stream is read once.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamSource {
  readonly digest: string
  readonly size: number
  readonly stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>
}

/**
 * Options of `uploadBlob`.
 *
 * @since 0.1.0
 * @category models
 */
export interface UploadOptions extends CallOptions {
  /** A repository of the same registry that has the blob: a cross-repository mount is tried first. */
  readonly mountFrom?: string | undefined
  /** Blobs above this size go in chunks of this size. Default: the client's `chunkSize`. */
  readonly chunkSize?: number | undefined
}

/**
 * How `uploadBlob` got the blob into the repository.
 *
 * @since 0.1.0
 * @category models
 */
export interface UploadResult {
  readonly digest: string
  readonly size: number
  readonly outcome: "exists" | "mounted" | "uploaded"
}

/**
 * What `mountBlob` did. When the registry refuses the mount it opens an upload session instead;
 * the facade cancels that session and reports `mounted: false` (use `uploadBlob` with
 * `mountFrom` to mount or else upload).
 *
 * @since 0.1.0
 * @category models
 */
export interface MountResult {
  readonly mounted: boolean
  readonly digest: string
}

/**
 * Options of `getReferrers`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReferrersOptions extends CallOptions {
  /** Only referrers of this artifact type. */
  readonly artifactType?: string | undefined
}

/**
 * Options of `copy`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CopyOptions extends CallOptions {
  /** Copy only this platform's image of an index (`"linux/arm64"` or a platform object). */
  readonly platform?: Manifest.PlatformSpec | undefined
  /** Also copy the manifests that refer to what is copied (signatures, SBOMs). */
  readonly referrers?: boolean | undefined
  /** Blobs moved at the same time. Default 4. */
  readonly concurrency?: number | undefined
  /** Told when each blob starts, as its bytes move, and how it ended. */
  readonly onEvent?: ((event: Image.TransferEvent) => void) | undefined
}

/**
 * What `copy` did.
 *
 * @since 0.1.0
 * @category models
 */
export type CopyResult = Image.CopyResult

/**
 * Options of `inspect`.
 *
 * @since 0.1.0
 * @category models
 */
export interface InspectOptions extends CallOptions {
  /** Which platform of an index to describe. Default `linux/amd64`. */
  readonly platform?: Manifest.PlatformSpec | undefined
}

/**
 * A summary of an image or index.
 *
 * @since 0.1.0
 * @category models
 */
export type Inspection = Image.Inspection

/**
 * The facade: one `async` method per operation. Create it with `createClient` (or
 * `NodePromise.createClient`), dispose it when done.
 *
 * @since 0.1.0
 * @category models
 */
export interface RegistryClientPromise extends AsyncDisposable {
  /** `GET /v2/`: check that a host speaks the registry API (authenticating if it asks). */
  readonly ping: (registry: string, options?: CallOptions) => Promise<PingResult>
  /** Every tag of a repository (`GET /v2/<name>/tags/list`, all pages). */
  readonly listTags: (repository: ReferenceInput, options?: ListOptions) => Promise<Array<string>>
  /** Every repository of a registry (`GET /v2/_catalog`, all pages; usually needs admin rights). */
  readonly listRepositories: (registry: string, options?: ListOptions) => Promise<Array<string>>
  /** `GET /v2/<name>/manifests/<ref>`: a manifest or index, verified against its digest. */
  readonly getManifest: (reference: ReferenceInput, options?: ManifestOptions) => Promise<ManifestResult>
  /** `HEAD /v2/<name>/manifests/<ref>`: digest, media type and size without the body. */
  readonly headManifest: (reference: ReferenceInput, options?: ManifestOptions) => Promise<ManifestHead>
  /**
   * `PUT /v2/<name>/manifests/<tag|digest>`: store manifest bytes exactly as given (a string is
   * sent as UTF-8). The media type defaults to the document's `mediaType`.
   */
  readonly putManifest: (
    reference: ReferenceInput,
    bytes: Uint8Array | string,
    mediaType?: string | undefined,
    options?: CallOptions
  ) => Promise<PutManifestResult>
  /** `DELETE` a manifest (a tag is resolved to its digest first); resolves to the digest deleted. */
  readonly deleteManifest: (reference: ReferenceInput, options?: CallOptions) => Promise<string>
  /** `DELETE /v2/<name>/manifests/<tag>`: remove a tag, keep the manifest (not every registry allows it). */
  readonly deleteTag: (reference: ReferenceInput, options?: CallOptions) => Promise<void>
  /**
   * `GET /v2/<name>/blobs/<digest>` as a web stream, verified against the digest (and size) as
   * it is read. Resolves once the registry answered with the first bytes (a missing blob
   * rejects here); later failures, `DigestMismatch` included, error the stream. `cancel()` it to
   * stop early.
   */
  readonly getBlob: (
    repository: ReferenceInput,
    blob: BlobInput,
    options?: CallOptions
  ) => Promise<ReadableStream<Uint8Array>>
  /** A whole blob in memory, verified. */
  readonly getBlobBytes: (
    repository: ReferenceInput,
    blob: BlobInput,
    options?: BlobBytesOptions
  ) => Promise<Uint8Array>
  /** `HEAD /v2/<name>/blobs/<digest>`: whether a blob exists (else `NotFound`), and its size. */
  readonly headBlob: (repository: ReferenceInput, blob: BlobInput, options?: CallOptions) => Promise<BlobHead>
  /**
   * Put a blob into a repository the cheapest way: nothing when it exists, a mount when
   * `mountFrom` has it, else an upload (monolithic, or in chunks above the chunk size).
   */
  readonly uploadBlob: (
    repository: ReferenceInput,
    data: Uint8Array | StreamSource,
    options?: UploadOptions
  ) => Promise<UploadResult>
  /** `POST ?mount=<digest>&from=<repository>`: link a blob from another repository of the same registry. */
  readonly mountBlob: (
    repository: ReferenceInput,
    digest: string,
    from: string,
    options?: CallOptions
  ) => Promise<MountResult>
  /** `DELETE /v2/<name>/blobs/<digest>`. */
  readonly deleteBlob: (repository: ReferenceInput, digest: string, options?: CallOptions) => Promise<void>
  /** The manifests whose `subject` is the given digest (referrers API, or the fallback tag). */
  readonly getReferrers: (
    subject: ReferenceInput,
    options?: ReferrersOptions
  ) => Promise<ReadonlyArray<Manifest.Descriptor>>
  /** Copy an image or index between repositories or registries, preserving every digest. */
  readonly copy: (source: ReferenceInput, target: ReferenceInput, options?: CopyOptions) => Promise<CopyResult>
  /** Put an existing manifest under another tag of the same repository. */
  readonly tag: (reference: ReferenceInput, newTag: string, options?: CallOptions) => Promise<PutManifestResult>
  /** Digest, media type, platforms, and the chosen platform's config and layers. */
  readonly inspect: (reference: ReferenceInput, options?: InspectOptions) => Promise<Inspection>
  /**
   * Run any ocireg Effect (for operations the facade does not wrap: `Image.pull`, the upload
   * steps, …) with the same error and abort behaviour as the methods.
   */
  readonly run: <A, E>(
    effect: Effect.Effect<A, E, RegistryClient>,
    options?: CallOptions
  ) => Promise<A>
  /** The same as the module's `isRegistryError`, at hand on the client. */
  readonly isRegistryError: typeof isRegistryError
  /**
   * Interrupt every operation in flight (they reject with an `AbortError`), then release the
   * runtime. Later calls reject. Idempotent.
   */
  readonly dispose: () => Promise<void>
}

// ---------------------------------------------------------------------------------------------
// refinements
// ---------------------------------------------------------------------------------------------

/**
 * Whether a value is one of ocireg's errors, optionally of a given `_tag`:
 *
 * ```ts
 * catch (error) { if (isRegistryError(error, "NotFound")) … }
 * ```
 *
 * @since 0.1.0
 * @category refinements
 */
export const isRegistryError: {
  (u: unknown): u is RegistryError.RegistryError
  <Tag extends RegistryError.RegistryError["_tag"]>(
    u: unknown,
    tag: Tag
  ): u is Extract<RegistryError.RegistryError, { readonly _tag: Tag }>
} = (u: unknown, tag?: string): u is any => RegistryError.isRegistryError(u) && (tag === undefined || u._tag === tag)

/**
 * Whether a rejection is an abort (an `AbortError`, as thrown for an aborted signal without a
 * reason of its own, or for an operation interrupted by `dispose`).
 *
 * @since 0.1.0
 * @category refinements
 */
export const isAbortError = (u: unknown): boolean =>
  typeof u === "object" && u !== null && (u as { readonly name?: unknown }).name === "AbortError"

// ---------------------------------------------------------------------------------------------
// constructor
// ---------------------------------------------------------------------------------------------

const refString = (ref: Reference.Reference) => Reference.format(ref)

const encoder = new TextEncoder()

// `Symbol.asyncDispose` where the platform has it, else `Symbol.for("Symbol.asyncDispose")`, the
// key esbuild's lowering of `await using` looks for on such platforms.
const asyncDispose: typeof Symbol.asyncDispose = ((Symbol as { readonly asyncDispose?: symbol }).asyncDispose ??
  Symbol.for("Symbol.asyncDispose")) as typeof Symbol.asyncDispose

const toSource = (
  data: Uint8Array | StreamSource
): Effect.Effect<BlobSource.BlobSource<RegistryError.InvalidResponse>, RegistryError.InvalidReference> =>
  data instanceof Uint8Array
    ? BlobSource.fromBytes(data)
    : Effect.map(
      Digest.parse(data.digest),
      (digest) => BlobSource.fromStream({ digest, size: data.size, stream: Internal.fromBytesSource(data.stream) })
    )

/** A refused mount opened a session nobody will use: cancel it (best effort) and say so. */
const mountOutcome = (
  result: Registry.MountResult,
  digest: string
): Effect.Effect<MountResult, never, RegistryClient> =>
  result._tag === "Mounted"
    ? Effect.succeed({ mounted: true, digest: result.digest })
    : Effect.as(Effect.ignore(Registry.cancelUpload(result.session)), { mounted: false, digest })

/**
 * Build the facade on a layer that provides `RegistryClient`: `NodeRegistry.layer`
 * (with a credential store), `BrowserRegistry.layer`, or a test layer. The runtime is built on
 * the first call; a layer that fails to build rejects every call with its error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const createClient = <E>(
  layer: Layer.Layer<RegistryClient, E>,
  options: ClientOptions = {}
): RegistryClientPromise => {
  const runtime = ManagedRuntime.make(layer, options.memoMap)
  const runner = Internal.makeRunner(runtime)
  const run = <A, Err>(effect: Effect.Effect<A, Err, RegistryClient>, call: CallOptions = {}) =>
    runner.run(effect, call.signal)

  const putResult = (result: Registry.PutManifestResult): PutManifestResult => ({
    reference: refString(result.reference),
    digest: result.digest,
    mediaType: result.mediaType,
    size: result.size,
    subject: Option.getOrUndefined(result.subject)
  })

  const client: RegistryClientPromise = {
    ping: (registry, call) =>
      run(
        Effect.map(Registry.ping(registry), (r) => ({
          registry: r.registry,
          apiVersion: Option.getOrUndefined(r.apiVersion)
        })),
        call
      ),

    listTags: (repository, call = {}) =>
      run(
        Effect.map(
          Registry.listAllTags(repository, { pageSize: call.pageSize, last: call.last }),
          (tags) => Array.from(tags)
        ),
        call
      ),

    listRepositories: (registry, call = {}) =>
      run(
        Effect.map(
          Registry.listAllRepositories(registry, { pageSize: call.pageSize, last: call.last }),
          (repositories) => Array.from(repositories)
        ),
        call
      ),

    getManifest: (reference, call = {}) =>
      run(
        Effect.map(Registry.getManifest(reference, { accept: call.accept }), (r) => ({
          reference: refString(r.reference),
          digest: r.digest,
          mediaType: r.mediaType,
          size: r.size,
          bytes: r.bytes,
          kind: r.manifest._tag,
          manifest: r.manifest.manifest
        })),
        call
      ),

    headManifest: (reference, call = {}) =>
      run(
        Effect.map(Registry.headManifest(reference, { accept: call.accept }), (r) => ({
          reference: refString(r.reference),
          digest: r.digest,
          mediaType: r.mediaType,
          size: r.size
        })),
        call
      ),

    putManifest: (reference, bytes, mediaType, call) =>
      run(
        Effect.map(
          Registry.putManifest(reference, {
            bytes: typeof bytes === "string" ? encoder.encode(bytes) : bytes,
            mediaType
          }),
          putResult
        ),
        call
      ),

    deleteManifest: (reference, call) => run(Registry.deleteManifest(reference), call),

    deleteTag: (reference, call) => run(Registry.deleteTag(reference), call),

    getBlob: (repository, blob, call = {}) => runner.openStream(Registry.getBlob(repository, blob), call.signal),

    getBlobBytes: (repository, blob, call = {}) =>
      run(Registry.getBlobBytes(repository, blob, { maxSize: call.maxSize ?? Number.MAX_SAFE_INTEGER }), call),

    headBlob: (repository, blob, call) =>
      run(Effect.map(Registry.headBlob(repository, blob), (r) => ({ digest: r.digest, size: r.size })), call),

    uploadBlob: (repository, data, call = {}) =>
      run(
        Effect.flatMap(toSource(data), (source) =>
          Registry.uploadBlob(repository, source, { mountFrom: call.mountFrom, chunkSize: call.chunkSize })),
        call
      ),

    mountBlob: (repository, digest, from, call) =>
      run(Effect.flatMap(Registry.mountBlob(repository, digest, from), (result) => mountOutcome(result, digest)), call),

    deleteBlob: (repository, digest, call) => run(Registry.deleteBlob(repository, digest), call),

    getReferrers: (subject, call = {}) =>
      run(Registry.getReferrers(subject, { artifactType: call.artifactType }), call),

    copy: (source, target, call = {}) => {
      const onEvent = call.onEvent
      return run(
        Image.copy(source, target, {
          platform: call.platform,
          referrers: call.referrers,
          concurrency: call.concurrency,
          onEvent: onEvent === undefined ? undefined : (event) => Effect.sync(() => onEvent(event))
        }),
        call
      )
    },

    tag: (reference, newTag, call) => run(Effect.map(Image.tag(reference, newTag), putResult), call),

    inspect: (reference, call = {}) => run(Image.inspect(reference, { platform: call.platform }), call),

    run: (effect, call) => run(effect, call),

    isRegistryError,

    dispose: () => runner.dispose(),

    [asyncDispose]: () => runner.dispose()
  }
  return client
}
