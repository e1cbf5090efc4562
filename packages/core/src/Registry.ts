/**
 * The registry operations, one function per endpoint of the OCI Distribution API. Each is an
 * `Effect` (or a `Stream` for paged lists and blob bodies) that needs a `RegistryClient`, and
 * fails with a typed `RegistryError`.
 *
 * @since 0.1.0
 */
import * as HttpBody from "@effect/platform/HttpBody"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import type * as Predicate from "effect/Predicate"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as BlobSource from "./BlobSource.js"
import * as Digest from "./Digest.js"
import * as Download from "./internal/download.js"
import { normalizeContentType, parseContentLength, parseRateLimit } from "./internal/headers.js"
import { headerRecord, retryBrokenBody } from "./internal/http.js"
import { displayUrl, readLimited } from "./internal/http.js"
import * as Paging from "./internal/paging.js"
import { toReference } from "./internal/referenceInput.js"
import * as ReferrersFallback from "./internal/referrersFallback.js"
import * as Upload from "./internal/upload.js"
import * as Manifest from "./Manifest.js"
import * as MediaType from "./MediaType.js"
import * as Reference from "./Reference.js"
import { defaultRetrySchedule, honourRetryAfter, isRetryable, RegistryClient } from "./RegistryClient.js"
import {
  DigestMismatch,
  InvalidManifest,
  InvalidReference,
  InvalidResponse,
  type RegistryError,
  TransportError
} from "./RegistryError.js"

/**
 * A reference given as a parsed `Reference` or as a string to parse.
 *
 * @since 0.1.0
 * @category models
 */
export type ReferenceInput = Reference.Reference | string

const pull = (ref: Reference.Reference) => [`repository:${ref.repository}:pull`]

const manifestPath = (ref: Reference.Reference, identifier: string) => `/v2/${ref.repository}/manifests/${identifier}`

// Digests are verified with a `Hasher` in the context, else with the one the client was built
// with (the platform's, or the pure-JavaScript default): operations need only `RegistryClient`.
const clientHasher = Effect.flatMap(
  Effect.serviceOption(Digest.Hasher),
  (found) => Option.isSome(found) ? Effect.succeed(found.value) : Effect.map(RegistryClient, (c) => c.hasher)
)
const withHasher = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.provideServiceEffect(self, Digest.Hasher, clientHasher)

// ---------------------------------------------------------------------------------------------
// ping
// ---------------------------------------------------------------------------------------------

/**
 * What `ping` learned about a registry.
 *
 * @since 0.1.0
 * @category models
 */
export interface PingResult {
  readonly registry: string
  /** `Docker-Distribution-API-Version`, usually `registry/2.0`. */
  readonly apiVersion: Option.Option<string>
}

/**
 * `GET /v2/`: check that a host speaks the registry API (authenticating if it asks).
 *
 * @since 0.1.0
 * @category operations
 */
export const ping = (registry: string): Effect.Effect<PingResult, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const client = yield* RegistryClient
    const response = yield* client.execute({ registry, method: "GET", path: "/v2/", scopes: [] })
    yield* Effect.ignore(response.text)
    return {
      registry,
      apiVersion: Option.fromNullable(headerRecord(response)["docker-distribution-api-version"])
    }
  }).pipe(Effect.withSpan("Registry.ping", { attributes: { "registry.host": registry } }))

// ---------------------------------------------------------------------------------------------
// listing
// ---------------------------------------------------------------------------------------------

/**
 * Paging options for the list endpoints.
 *
 * @since 0.1.0
 * @category models
 */
export interface PageOptions {
  /** `n`: how many entries per page to ask for. */
  readonly pageSize?: number | undefined
  /** `last`: start after this entry. */
  readonly last?: string | undefined
}

/**
 * One page of `GET /v2/<name>/tags/list`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TagsPage {
  readonly name: string
  readonly tags: ReadonlyArray<string>
}

/**
 * `GET /v2/<name>/tags/list`, page by page, following `Link: <…>; rel="next"` as given.
 *
 * @since 0.1.0
 * @category operations
 */
export const listTags = (
  repository: ReferenceInput,
  options: PageOptions = {}
): Stream.Stream<TagsPage, RegistryError, RegistryClient> =>
  Stream.unwrap(Effect.map(toReference(repository), (ref) =>
    Paging.pages({
      registry: ref.registry,
      firstPath: `/v2/${ref.repository}/tags/list${Paging.query(options)}`,
      scopes: pull(ref),
      notFound: "repository",
      repository: ref.repository,
      decode: Paging.decodeTags
    }).pipe(Stream.map((page) => ({ name: page.name, tags: page.tags ?? [] })))))

/**
 * Every tag of a repository, all pages collected.
 *
 * @since 0.1.0
 * @category operations
 */
export const listAllTags = (
  repository: ReferenceInput,
  options: PageOptions = {}
): Effect.Effect<ReadonlyArray<string>, RegistryError, RegistryClient> =>
  listTags(repository, options).pipe(
    Stream.runFold([] as Array<string>, (all, page) => {
      all.push(...page.tags)
      return all
    }),
    Effect.withSpan("Registry.listAllTags")
  )

/**
 * `GET /v2/_catalog`, page by page. Needs the `registry:catalog:*` scope, which registries
 * usually grant only to administrators.
 *
 * @since 0.1.0
 * @category operations
 */
export const listRepositories = (
  registry: string,
  options: PageOptions = {}
): Stream.Stream<ReadonlyArray<string>, RegistryError, RegistryClient> =>
  Paging.pages({
    registry,
    firstPath: `/v2/_catalog${Paging.query(options)}`,
    scopes: ["registry:catalog:*"],
    notFound: "repository",
    repository: undefined,
    decode: Paging.decodeCatalog
  }).pipe(Stream.map((page) => page.repositories ?? []))

/**
 * Every repository of a registry, all pages collected.
 *
 * @since 0.1.0
 * @category operations
 */
export const listAllRepositories = (
  registry: string,
  options: PageOptions = {}
): Effect.Effect<ReadonlyArray<string>, RegistryError, RegistryClient> =>
  listRepositories(registry, options).pipe(
    Stream.runFold([] as Array<string>, (all, page) => {
      all.push(...page)
      return all
    }),
    Effect.withSpan("Registry.listAllRepositories")
  )

// ---------------------------------------------------------------------------------------------
// manifests
// ---------------------------------------------------------------------------------------------

/**
 * A manifest as fetched: its exact bytes, their digest, and the decoded document.
 *
 * @since 0.1.0
 * @category models
 */
export interface ManifestResult {
  readonly reference: Reference.Reference
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  readonly bytes: Uint8Array
  readonly manifest: Manifest.Manifest
  /** Docker Hub's pull allowance, when the registry sent `RateLimit-*` headers. */
  readonly rateLimit: Option.Option<RateLimit>
}

/**
 * The headers of a manifest (`HEAD`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ManifestHead {
  readonly reference: Reference.Reference
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  /** Docker Hub's pull allowance, when the registry sent `RateLimit-*` headers. */
  readonly rateLimit: Option.Option<RateLimit>
}

/**
 * A registry's pull allowance (Docker Hub's \`RateLimit-Limit: 100;w=21600\`,
 * \`RateLimit-Remaining: 76;w=21600\`).
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimit {
  readonly limit?: number | undefined
  readonly remaining?: number | undefined
  readonly windowSeconds?: number | undefined
}

const rateLimitOf = (response: HttpClientResponse.HttpClientResponse): Option.Option<RateLimit> =>
  Option.fromNullable(parseRateLimit(headerRecord(response)))

/**
 * Options of `getManifest` and `headManifest`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ManifestOptions {
  /** The `Accept` header. Default: every manifest and index type ocireg understands. */
  readonly accept?: string | undefined
}

const headerDigest = (response: HttpClientResponse.HttpClientResponse, method: string, url: string) => {
  const value = headerRecord(response)["docker-content-digest"]
  if (value === undefined) return Effect.succeed(Option.none<Digest.Digest>())
  return Either.match(Digest.parse(value.trim()), {
    onLeft: () =>
      Effect.fail(
        new InvalidResponse({ method, url: displayUrl(url), reason: "malformed Docker-Content-Digest header" })
      ),
    onRight: (digest) => Effect.succeed(Option.some(digest))
  })
}

/**
 * Answers to a manifest `HEAD` that `headManifest` checks with a `GET`: no `HEAD` at all (400,
 * 405, 501), and 404, which older Nexus and Harbor and GAR (for some indexes) send to a `HEAD` of
 * a manifest that a `GET` finds (crossplane/crossplane#3223, nicholas-fedor/watchtower#669). A
 * `HEAD` carries no error body, so the `GET` also says what is really missing.
 */
const headUnsupported = [400, 404, 405, 501]

/** Send a GET or HEAD for a manifest with the Accept header of every manifest type. */
const requestManifest = (reference: ReferenceInput, method: "GET" | "HEAD", options: ManifestOptions) =>
  Effect.gen(function*() {
    const ref = yield* toReference(reference)
    const client = yield* RegistryClient
    const identifier = Reference.identifier(ref)
    const path = manifestPath(ref, identifier)
    const response = yield* client.execute({
      registry: ref.registry,
      method,
      path,
      headers: { accept: options.accept ?? MediaType.manifestAccept },
      scopes: pull(ref),
      notFound: ref.digest ? "manifest" : "tag",
      repository: ref.repository,
      reference: identifier,
      acceptStatus: method === "HEAD" ? headUnsupported : undefined
    })
    return { client, ref, response, url: client.baseUrl(ref.registry).href + path.slice(1) }
  })

/**
 * `GET /v2/<name>/manifests/<reference>`: fetch a manifest or index by tag or digest.
 *
 * The bytes are read up to the client's size limit and hashed; the digest must match the one
 * asked for, and the registry's `Docker-Content-Digest`. The body must be a manifest of the kind
 * its `Content-Type` says. Schema 1 manifests are refused with `InvalidManifest`.
 *
 * @since 0.1.0
 * @category operations
 */
export const getManifest = (
  reference: ReferenceInput,
  options: ManifestOptions = {}
): Effect.Effect<ManifestResult, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    // a body that breaks on the way is fetched again (the request is idempotent)
    const { bytes, ref, response, url } = yield* retryBrokenBody(
      Effect.gen(function*() {
        const sent = yield* requestManifest(reference, "GET", options)
        const limit = sent.client.options.manifestSizeLimit
        const idle = sent.client.options.idleTimeout
        const bytes = yield* readLimited(sent.response, limit, "manifest", "GET", sent.url, idle).pipe(
          Effect.catchTag("InvalidResponse", (e) =>
            Effect.fail(new InvalidManifest({ reason: "TooLarge", detail: `${e.reason}` })))
        )
        return { ...sent, bytes }
      })
    )
    const announced = yield* headerDigest(response, "GET", url)
    const expected = ref.digest ?? Option.getOrUndefined(announced)
    const digest = yield* Digest.ofBytes(bytes, expected ? Digest.algorithm(expected) : "sha256")
    if (expected !== undefined && digest !== expected) {
      return yield* Effect.fail(
        new DigestMismatch({ subject: "manifest", expected, actual: digest, actualSize: bytes.length })
      )
    }
    if (
      Option.isSome(announced) && ref.digest !== undefined && announced.value !== ref.digest &&
      Digest.algorithm(announced.value) === Digest.algorithm(ref.digest)
    ) {
      return yield* Effect.fail(
        new DigestMismatch({ subject: "manifest", expected: ref.digest, actual: announced.value })
      )
    }
    const manifest = yield* Manifest.decode(bytes, headerRecord(response)["content-type"])
    return {
      reference: ref,
      digest,
      mediaType: manifest.mediaType,
      size: bytes.length,
      bytes,
      manifest,
      rateLimit: rateLimitOf(response)
    } satisfies ManifestResult
  }).pipe(withHasher, Effect.withSpan("Registry.getManifest", { attributes: spanAttributes(reference) }))

/**
 * `HEAD /v2/<name>/manifests/<reference>`: the digest, media type and size of a manifest without
 * its body (a `HEAD` does not count against Docker Hub's pull limit). When the registry sends no
 * `Docker-Content-Digest` for a tag, or answers the `HEAD` with 400, 404, 405 or 501, the manifest
 * is fetched and hashed instead (a `GET` that fails says why).
 *
 * @since 0.1.0
 * @category operations
 */
export const headManifest = (
  reference: ReferenceInput,
  options: ManifestOptions = {}
): Effect.Effect<ManifestHead, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const { ref, response, url } = yield* requestManifest(reference, "HEAD", options)
    const headers = headerRecord(response)
    const announced = yield* headerDigest(response, "HEAD", url)
    const size = parseContentLength(headers["content-length"])
    const digest = ref.digest ?? Option.getOrUndefined(announced)
    if (
      headUnsupported.includes(response.status) || digest === undefined || size === undefined ||
      headers["content-type"] === undefined
    ) {
      const full = yield* getManifest(ref, options)
      return {
        reference: ref,
        digest: full.digest,
        mediaType: full.mediaType,
        size: full.size,
        rateLimit: full.rateLimit
      }
    }
    if (
      Option.isSome(announced) && announced.value !== digest &&
      Digest.algorithm(announced.value) === Digest.algorithm(digest)
    ) {
      return yield* Effect.fail(new DigestMismatch({ subject: "manifest", expected: digest, actual: announced.value }))
    }
    const mediaType = normalizeContentType(headers["content-type"]) ?? headers["content-type"]
    return { reference: ref, digest, mediaType, size, rateLimit: rateLimitOf(response) }
  }).pipe(Effect.withSpan("Registry.headManifest", { attributes: spanAttributes(reference) }))

/**
 * Ask how many pulls are left: a `HEAD` of the manifest (which Docker Hub does not count as a
 * pull) read for `RateLimit-Limit` / `RateLimit-Remaining`. `None` when the registry sends no
 * such headers. Callers can pause before they hit the wall.
 *
 * @since 0.1.0
 * @category operations
 */
export const rateLimit = (
  reference: ReferenceInput
): Effect.Effect<Option.Option<RateLimit>, RegistryError, RegistryClient> =>
  Effect.map(headManifest(reference), (head) => head.rateLimit).pipe(
    Effect.withSpan("Registry.rateLimit", { attributes: spanAttributes(reference) })
  )

// ---------------------------------------------------------------------------------------------
// blobs
// ---------------------------------------------------------------------------------------------

/**
 * A blob to fetch: its digest, or a descriptor (digest and size, as found in manifests).
 *
 * @since 0.1.0
 * @category models
 */
export type BlobInput = Digest.Digest | string | { readonly digest: string; readonly size?: number | undefined }

const toBlob = (input: BlobInput) => {
  const raw = typeof input === "string" ? input : input.digest
  const size = typeof input === "string" ? undefined : input.size
  return Effect.map(Digest.parse(raw), (digest) => ({ digest, size }))
}

/**
 * `GET /v2/<name>/blobs/<digest>`: the blob's bytes as a stream. The bytes are hashed as they
 * pass and the stream fails with `DigestMismatch` if they do not match the digest (or the size,
 * when given); nothing is buffered. Redirects to blob storage are followed without credentials.
 * A body that breaks, stalls or ends short is resumed with a `Range` request where it stopped.
 * Holds one of the registry's download slots while it runs.
 *
 * @since 0.1.0
 * @category operations
 */
export const getBlob = (
  repository: ReferenceInput,
  blob: BlobInput
): Stream.Stream<Uint8Array, RegistryError, RegistryClient> =>
  // one stage (the scoped set-up, then a single pull loop): every extra stream stage costs CPU per blob
  Stream.unwrapScoped(Effect.gen(function*() {
    const ref = yield* toReference(repository)
    const { digest, size } = yield* toBlob(blob)
    return yield* Download.blobStream(ref, digest, size, yield* clientHasher)
  })).pipe(
    Stream.withSpan("Registry.getBlob", {
      attributes: { ...spanAttributes(repository), "blob.digest": blobDigestOf(blob) }
    })
  )

/**
 * Options of `getBlobBytes`.
 *
 * @since 0.2.0
 * @category models
 */
export interface BlobBytesOptions {
  /** The most bytes read whole; a larger blob fails with `InvalidResponse`. Default 16 MiB. */
  readonly maxSize?: number | undefined
}

/**
 * `GET /v2/<name>/blobs/<digest>`, read whole: a small blob's bytes (an image config, an
 * artifact's payload), returned only once they match the digest (and the size, when given).
 * Cheaper than collecting `getBlob`'s stream (one read, no stream stages: about half the CPU of a
 * small streamed blob); a body that breaks is fetched again. Blobs over `maxSize` fail with
 * `InvalidResponse` before their bytes are read: stream those with `getBlob`.
 *
 * @example
 * ```ts
 * import * as Registry from "@ocireg/core/Registry"
 * import * as Effect from "effect/Effect"
 *
 * // an image's config, verified, as JSON
 * export const config = (image: { readonly config: { readonly digest: string; readonly size: number } }) =>
 *   Effect.map(
 *     Registry.getBlobBytes("ghcr.io/owner/app", image.config),
 *     (bytes) => JSON.parse(new TextDecoder().decode(bytes)) as unknown
 *   )
 * ```
 *
 * @since 0.2.0
 * @category operations
 */
export const getBlobBytes = (
  repository: ReferenceInput,
  blob: BlobInput,
  options: BlobBytesOptions = {}
): Effect.Effect<Uint8Array, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const ref = yield* toReference(repository)
    const { digest, size } = yield* toBlob(blob)
    const limit = options.maxSize ?? defaultBlobBytesLimit
    return yield* Download.blobBytes(ref, digest, size, limit, yield* clientHasher)
  }).pipe(
    Effect.withSpan("Registry.getBlobBytes", {
      attributes: { ...spanAttributes(repository), "blob.digest": blobDigestOf(blob) }
    })
  )

const defaultBlobBytesLimit = 16 * 1024 * 1024

/**
 * What `headBlob` reports.
 *
 * @since 0.1.0
 * @category models
 */
export interface BlobHead {
  readonly digest: Digest.Digest
  readonly size: number
}

/**
 * `HEAD /v2/<name>/blobs/<digest>`: whether a blob exists, and its size.
 *
 * @since 0.1.0
 * @category operations
 */
export const headBlob = (
  repository: ReferenceInput,
  blob: BlobInput
): Effect.Effect<BlobHead, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const ref = yield* toReference(repository)
    const { digest } = yield* toBlob(blob)
    const client = yield* RegistryClient
    const path = `/v2/${ref.repository}/blobs/${digest}`
    const response = yield* client.execute({
      registry: ref.registry,
      method: "HEAD",
      path,
      scopes: pull(ref),
      notFound: "blob",
      repository: ref.repository,
      reference: digest
    })
    const url = client.baseUrl(ref.registry).href + path.slice(1)
    const size = parseContentLength(headerRecord(response)["content-length"])
    if (size === undefined) {
      return yield* Effect.fail(
        new InvalidResponse({ method: "HEAD", url: displayUrl(url), reason: "no Content-Length" })
      )
    }
    const announced = yield* headerDigest(response, "HEAD", url)
    if (
      Option.isSome(announced) && announced.value !== digest &&
      Digest.algorithm(announced.value) === Digest.algorithm(digest)
    ) {
      return yield* Effect.fail(new DigestMismatch({ subject: "blob", expected: digest, actual: announced.value }))
    }
    return { digest, size }
  }).pipe(
    Effect.withSpan("Registry.headBlob", {
      attributes: { ...spanAttributes(repository), "blob.digest": blobDigestOf(blob) }
    })
  )

// ---------------------------------------------------------------------------------------------
// referrers
// ---------------------------------------------------------------------------------------------

/**
 * Options of `getReferrers`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReferrersOptions {
  /** Only referrers of this artifact type. Filtered here when the registry does not. */
  readonly artifactType?: string | undefined
}

/**
 * The tag under which registries without the referrers API keep a subject's referrers index
 * (`sha256-<hex>`).
 *
 * @since 0.1.0
 * @category utils
 */
export const referrersTag = (digest: Digest.Digest): string => `${Digest.algorithm(digest)}-${Digest.encoded(digest)}`

/**
 * `GET /v2/<name>/referrers/<digest>`: the manifests that name `digest` as their `subject`,
 * following `Link` pages. Registries without the API answer 404; then the fallback index tagged
 * `sha256-<hex>` is read (and must be an index), and an absent one means no referrers.
 *
 * @since 0.1.0
 * @category operations
 */
export const getReferrers = (
  subject: ReferenceInput,
  options: ReferrersOptions = {}
): Effect.Effect<ReadonlyArray<Manifest.Descriptor>, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const ref = yield* toReference(subject)
    const digest = ref.digest
    if (digest === undefined) {
      return yield* Effect.fail(
        new InvalidReference({ input: Reference.format(ref), reason: "referrers need a subject digest, not a tag" })
      )
    }
    const query = options.artifactType ? `?artifactType=${encodeURIComponent(options.artifactType)}` : ""
    const found = yield* Paging.referrerPages({
      registry: ref.registry,
      firstPath: `/v2/${ref.repository}/referrers/${digest}${query}`,
      scopes: pull(ref),
      repository: ref.repository,
      reference: digest
    })
    const descriptors = Option.isSome(found)
      ? found.value
      : yield* fallbackReferrers(ref, digest)
    const artifactType = options.artifactType
    return artifactType === undefined
      ? descriptors
      : descriptors.filter((d) => d.artifactType === artifactType)
  }).pipe(Effect.withSpan("Registry.getReferrers", { attributes: spanAttributes(subject) }))

const fallbackReferrers = (ref: Reference.Reference, digest: Digest.Digest) =>
  Reference.make({ registry: ref.registry, repository: ref.repository, tag: referrersTag(digest) }).pipe(
    Effect.flatMap((tagged) => getManifest(tagged, { accept: MediaType.ociIndex })),
    Effect.flatMap((result) =>
      Manifest.isIndexLike(result.manifest)
        ? Effect.succeed(Manifest.descriptors(result.manifest))
        : Effect.fail(
          new InvalidManifest({
            reason: "UnsupportedMediaType",
            mediaType: result.mediaType,
            detail: `the referrers tag ${referrersTag(digest)} is not an index`
          })
        )
    ),
    Effect.catchTag("NotFound", () => Effect.succeed([] as ReadonlyArray<Manifest.Descriptor>))
  )

// ---------------------------------------------------------------------------------------------

const spanAttributes = (input: ReferenceInput): Record<string, string> =>
  typeof input === "string"
    ? { "image.reference": input }
    : {
      "registry.host": input.registry,
      "image.repository": input.repository,
      ...(input.tag ? { "image.tag": input.tag } : {}),
      ...(input.digest ? { "image.digest": input.digest } : {})
    }

const blobDigestOf = (blob: BlobInput) => (typeof blob === "string" ? blob : blob.digest)

// ---------------------------------------------------------------------------------------------
// uploads
// ---------------------------------------------------------------------------------------------

/**
 * An open blob upload session: where it is (its `Location`, followed exactly as given) and how
 * many bytes the registry holds.
 *
 * @since 0.1.0
 * @category models
 */
export type UploadSession = Upload.UploadSession

/**
 * `POST /v2/<name>/blobs/uploads/`: open an upload session. Honours `OCI-Chunk-Min-Length`.
 *
 * @since 0.1.0
 * @category uploads
 */
export const startUpload = (repository: ReferenceInput): Effect.Effect<UploadSession, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const ref = yield* toReference(repository)
    const started = yield* Upload.start(ref.registry, ref.repository)
    if (started._tag === "Mounted") {
      return yield* Effect.fail(
        new InvalidResponse({
          method: "POST",
          url: ref.registry,
          reason: "the registry mounted a blob nobody asked for"
        })
      )
    }
    return started.session
  }).pipe(Effect.withSpan("Registry.startUpload", { attributes: spanAttributes(repository) }))

/**
 * `PATCH` a chunk into a session at its current offset (`Content-Range`, `Content-Length`); the
 * returned session carries the registry's new `Location` and offset.
 *
 * @since 0.1.0
 * @category uploads
 */
export const uploadChunk = (
  session: UploadSession,
  chunk: Uint8Array
): Effect.Effect<UploadSession, RegistryError, RegistryClient> =>
  Upload.sendChunk(session, chunk).pipe(
    Effect.withSpan("Registry.uploadChunk", {
      attributes: { "image.repository": session.repository, "upload.offset": session.offset }
    })
  )

/**
 * `GET` an upload session: the registry's offset (from `Range`) and current `Location`.
 *
 * @since 0.1.0
 * @category uploads
 */
export const getUploadStatus = (session: UploadSession): Effect.Effect<UploadSession, RegistryError, RegistryClient> =>
  Upload.status(session).pipe(
    Effect.withSpan("Registry.getUploadStatus", { attributes: { "image.repository": session.repository } })
  )

/**
 * `PUT ?digest=`: complete an upload, optionally with its last chunk. The registry checks the
 * digest of everything it received.
 *
 * @since 0.1.0
 * @category uploads
 */
export const completeUpload = (
  session: UploadSession,
  digest: Digest.Digest | string,
  lastChunk?: Uint8Array
): Effect.Effect<Digest.Digest, RegistryError, RegistryClient> =>
  Effect.flatMap(Digest.parse(digest), (valid) => Upload.complete(session, valid, lastChunk)).pipe(
    Effect.withSpan("Registry.completeUpload", {
      attributes: { "image.repository": session.repository, "blob.digest": digest }
    })
  )

/**
 * `DELETE` an upload session, releasing what the registry holds for it.
 *
 * @since 0.1.0
 * @category uploads
 */
export const cancelUpload = (session: UploadSession): Effect.Effect<void, RegistryError, RegistryClient> =>
  Upload.cancel(session).pipe(
    Effect.withSpan("Registry.cancelUpload", { attributes: { "image.repository": session.repository } })
  )

/**
 * What `mountBlob` did: mounted the blob, or (when the registry refused) opened a session to
 * upload it into instead.
 *
 * @since 0.1.0
 * @category models
 */
export type MountResult =
  | { readonly _tag: "Mounted"; readonly digest: Digest.Digest }
  | { readonly _tag: "Session"; readonly session: UploadSession }

/**
 * `POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<repository>`: link a blob that exists in
 * another repository of the same registry, without moving its bytes.
 *
 * @since 0.1.0
 * @category uploads
 */
export const mountBlob = (
  repository: ReferenceInput,
  digest: Digest.Digest | string,
  from: string
): Effect.Effect<MountResult, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const ref = yield* toReference(repository)
    const valid = yield* Digest.parse(digest)
    return yield* Upload.start(ref.registry, ref.repository, { digest: valid, from })
  }).pipe(
    Effect.withSpan("Registry.mountBlob", { attributes: { ...spanAttributes(repository), "blob.digest": digest } })
  )

/**
 * How `uploadBlob` got the blob into the repository.
 *
 * @since 0.1.0
 * @category models
 */
export interface UploadResult {
  readonly digest: Digest.Digest
  readonly size: number
  readonly outcome: "exists" | "mounted" | "uploaded"
}

/**
 * Options of `uploadBlob`.
 *
 * @since 0.1.0
 * @category models
 */
export interface UploadOptions {
  /** A repository of the same registry that has the blob: try a cross-repository mount first. */
  readonly mountFrom?: string | undefined
  /** Blobs above this size go in chunks of this size. Default: the client's `chunkSize`. */
  readonly chunkSize?: number | undefined
}

/**
 * Put a blob into a repository the cheapest way: nothing when `HEAD` finds it, a mount when a
 * source repository is known, otherwise an upload (by default one `PUT` with the streamed body;
 * chunks when a chunk size is set, or without streaming bodies). A chunk that fails mid-way is resumed at the registry's offset; a whole
 * failed upload is retried from a new session only when the source is re-readable.
 *
 * @since 0.1.0
 * @category uploads
 */
export const uploadBlob = <E, R>(
  repository: ReferenceInput,
  source: BlobSource.BlobSource<E, R>,
  options: UploadOptions = {}
): Effect.Effect<UploadResult, RegistryError | E, RegistryClient | R> =>
  Effect.gen(function*() {
    const ref = yield* toReference(repository)
    const client = yield* RegistryClient
    const result = (outcome: UploadResult["outcome"]): UploadResult => ({
      digest: source.digest,
      size: source.size,
      outcome
    })
    if (yield* Upload.exists(ref.registry, ref.repository, source.digest, source.size)) return result("exists")
    const mount = options.mountFrom !== undefined && options.mountFrom !== ref.repository
      ? { digest: source.digest, from: options.mountFrom }
      : undefined
    const attempt = Effect.gen(function*() {
      yield* client.transferPermit(ref.registry, "upload")
      const started = yield* Upload.start(ref.registry, ref.repository, mount)
      if (started._tag === "Mounted") return result("mounted")
      const sending = source.whole === undefined ? source : Upload.inMemory(source, yield* source.whole)
      yield* Upload.uploadSource(started.session, sending, {
        chunkSize: options.chunkSize ?? client.options.chunkSize,
        streaming: client.options.streamingUploads
      })
      return result("uploaded")
    }).pipe(Effect.scoped)
    return yield* source.rereadable
      ? Effect.retry(attempt, {
        times: 2,
        // a transient failure, or a session the registry lost: start again from the source
        while: (e) => Upload.isTransient(e as RegistryError) || Upload.isLostSession(e as RegistryError)
      })
      : attempt
  }).pipe(
    Effect.withSpan("Registry.uploadBlob", {
      attributes: { ...spanAttributes(repository), "blob.digest": source.digest, "blob.size": source.size }
    })
  )

/**
 * `DELETE /v2/<name>/blobs/<digest>`. Registries usually need deletion enabled.
 *
 * @since 0.1.0
 * @category operations
 */
export const deleteBlob = (
  repository: ReferenceInput,
  digest: Digest.Digest | string
): Effect.Effect<void, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const ref = yield* toReference(repository)
    const valid = yield* Digest.parse(digest)
    const client = yield* RegistryClient
    const response = yield* client.execute({
      registry: ref.registry,
      method: "DELETE",
      path: `/v2/${ref.repository}/blobs/${valid}`,
      scopes: [`repository:${ref.repository}:delete`],
      notFound: "blob",
      repository: ref.repository,
      reference: valid
    })
    yield* Effect.ignore(response.text)
  }).pipe(
    Effect.withSpan("Registry.deleteBlob", { attributes: { ...spanAttributes(repository), "blob.digest": digest } })
  )

// ---------------------------------------------------------------------------------------------
// manifest writes and deletes
// ---------------------------------------------------------------------------------------------

/**
 * What `putManifest` stored.
 *
 * @since 0.1.0
 * @category models
 */
export interface PutManifestResult {
  readonly reference: Reference.Reference
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  /** `OCI-Subject`: the registry indexed the manifest's subject for the referrers API itself. */
  readonly subject: Option.Option<Digest.Digest>
}

/**
 * `PUT /v2/<name>/manifests/<tag|digest>`: store manifest bytes exactly as given, with their
 * media type as `Content-Type`. The bytes are validated first (schema 1 and malformed documents
 * are refused), pushing by digest checks the digest before sending, and the registry's
 * `Docker-Content-Digest` must match. A manifest with a `subject` pushed to a registry that does
 * not answer `OCI-Subject` is added to the subject's fallback referrers index.
 *
 * @since 0.1.0
 * @category operations
 */
export const putManifest = (
  reference: ReferenceInput,
  manifest: { readonly bytes: Uint8Array; readonly mediaType?: string | undefined }
): Effect.Effect<PutManifestResult, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const ref = yield* toReference(reference)
    const client = yield* RegistryClient
    const decoded = yield* Manifest.decode(manifest.bytes, manifest.mediaType)
    const digest = yield* Digest.ofBytes(manifest.bytes, ref.digest ? Digest.algorithm(ref.digest) : "sha256")
    if (ref.digest !== undefined && ref.digest !== digest) {
      return yield* Effect.fail(new DigestMismatch({ subject: "manifest", expected: ref.digest, actual: digest }))
    }
    const identifier = ref.digest ?? ref.tag ?? digest
    const path = manifestPath(ref, identifier)
    const response = yield* client.execute({
      registry: ref.registry,
      method: "PUT",
      path,
      body: HttpBody.uint8Array(manifest.bytes, decoded.mediaType),
      scopes: [`repository:${ref.repository}:pull,push`],
      notFound: "repository",
      repository: ref.repository,
      reference: identifier,
      idempotent: true
    })
    yield* Effect.ignore(response.text)
    const url = client.baseUrl(ref.registry).href + path.slice(1)
    const announced = yield* headerDigest(response, "PUT", url)
    if (
      Option.isSome(announced) && Digest.algorithm(announced.value) === Digest.algorithm(digest) &&
      announced.value !== digest
    ) {
      return yield* Effect.fail(new DigestMismatch({ subject: "manifest", expected: digest, actual: announced.value }))
    }
    const ociSubject = Option.flatMap(
      Option.fromNullable(headerRecord(response)["oci-subject"]),
      (value) => Option.getRight(Digest.parse(value.trim()))
    )
    const subject = ReferrersFallback.subjectOf(decoded)
    if (subject !== undefined && Option.isNone(ociSubject)) {
      const entry = ReferrersFallback.descriptorOf(decoded, digest, manifest.bytes.length)
      yield* ReferrersFallback.addReferrer(ref.registry, ref.repository, subject.digest, entry)
    }
    return {
      reference: ref,
      digest,
      mediaType: decoded.mediaType,
      size: manifest.bytes.length,
      subject: ociSubject
    } satisfies PutManifestResult
  }).pipe(withHasher, Effect.withSpan("Registry.putManifest", { attributes: spanAttributes(reference) }))

/**
 * `DELETE /v2/<name>/manifests/<digest>`: delete a manifest (and so every tag pointing at it). A
 * reference by tag is resolved to its digest first.
 *
 * @since 0.1.0
 * @category operations
 */
export const deleteManifest = (
  reference: ReferenceInput
): Effect.Effect<Digest.Digest, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const ref = yield* toReference(reference)
    const client = yield* RegistryClient
    const digest = ref.digest ?? (yield* headManifest(ref)).digest
    const response = yield* client.execute({
      registry: ref.registry,
      method: "DELETE",
      path: manifestPath(ref, digest),
      scopes: [`repository:${ref.repository}:delete`],
      notFound: "manifest",
      repository: ref.repository,
      reference: digest
    })
    yield* Effect.ignore(response.text)
    return digest
  }).pipe(Effect.withSpan("Registry.deleteManifest", { attributes: spanAttributes(reference) }))

/**
 * `DELETE /v2/<name>/manifests/<tag>`: remove a tag and leave the manifest. Registries without
 * tag deletion (distribution 2.x) answer with an `UNSUPPORTED` `RegistryResponseError`.
 *
 * @since 0.1.0
 * @category operations
 */
export const deleteTag = (reference: ReferenceInput): Effect.Effect<void, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const ref = yield* toReference(reference)
    if (ref.tag === undefined || ref.digest !== undefined) {
      return yield* Effect.fail(
        new InvalidReference({ input: Reference.format(ref), reason: "deleteTag needs a tag and no digest" })
      )
    }
    const client = yield* RegistryClient
    const response = yield* client.execute({
      registry: ref.registry,
      method: "DELETE",
      path: manifestPath(ref, ref.tag),
      scopes: [`repository:${ref.repository}:delete`],
      notFound: "tag",
      repository: ref.repository,
      reference: ref.tag
    })
    yield* Effect.ignore(response.text)
  }).pipe(Effect.withSpan("Registry.deleteTag", { attributes: spanAttributes(reference) }))

// ---------------------------------------------------------------------------------------------
// retries and deadlines around operations
// ---------------------------------------------------------------------------------------------

/**
 * Options of `retryTransient`.
 *
 * @since 0.2.0
 * @category models
 */
export interface RetryTransientOptions<E, B, R1> {
  /** Other errors to count as transient (added to `RegistryClient.isRetryable`). */
  readonly while?: Predicate.Predicate<NoInfer<E>> | undefined
  /** The schedule between attempts. Default `RegistryClient.defaultRetrySchedule`. */
  readonly schedule?: Schedule.Schedule<B, NoInfer<E>, R1> | undefined
  /** The most retries (intersected with the schedule). */
  readonly times?: number | undefined
}

/**
 * Retry a whole operation on transient failures, in the manner of `HttpClient.retryTransient`:
 * the errors `RegistryClient.isRetryable` accepts (connection failures, timeouts, including an
 * `Effect.timeout`'s `TimeoutException`, 408/429/5xx), plus those `while` accepts. Waits at least
 * as long as a `Retry-After` (up to 60 s). Works whatever else the effect can fail with.
 *
 * These retries come on top of the client's own retries of each request (see
 * `RegistryClient.withRetrySchedule` and `RegistryClient.withoutRetries`): for a deadline that
 * holds, turn the client's off or put an `Effect.timeout` around the whole.
 *
 * @since 0.2.0
 * @category retries
 */
export const retryTransient: {
  <E, B = unknown, R1 = never>(
    options: RetryTransientOptions<E, B, R1> | Schedule.Schedule<B, NoInfer<E>, R1>
  ): <A, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R | R1>
  <A, E, R, B = unknown, R1 = never>(
    self: Effect.Effect<A, E, R>,
    options: RetryTransientOptions<E, B, R1> | Schedule.Schedule<B, NoInfer<E>, R1>
  ): Effect.Effect<A, E, R | R1>
} = dual(2, <A, E, R, B, R1>(
  self: Effect.Effect<A, E, R>,
  options: RetryTransientOptions<E, B, R1> | Schedule.Schedule<B, E, R1>
): Effect.Effect<A, E, R | R1> => {
  const isSchedule = Schedule.isSchedule(options)
  const given = isSchedule ? options : options.schedule
  const times = isSchedule ? undefined : options.times
  const extra = isSchedule ? undefined : options.while
  const base: Schedule.Schedule<unknown, E, R1> = given ?? defaultRetrySchedule
  const counted = times === undefined ? base : Schedule.intersect(base, Schedule.recurs(times))
  return Effect.retry(self, {
    schedule: honourRetryAfter(counted, "60 seconds"),
    while: (error: E) => isRetryable(error) || (extra !== undefined && extra(error))
  })
})

/**
 * Fail an operation that takes longer than `duration` with the client's own timeout shape,
 * `TransportError` with reason `Timeout` (instead of `Effect.timeout`'s `TimeoutException`), so a
 * timeout is one typed error whoever raised it. The operation is interrupted.
 *
 * @since 0.2.0
 * @category retries
 */
export const timeout: {
  (duration: Duration.DurationInput): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | TransportError, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, duration: Duration.DurationInput): Effect.Effect<A, E | TransportError, R>
} = dual(2, <A, E, R>(self: Effect.Effect<A, E, R>, duration: Duration.DurationInput) =>
  Effect.timeoutFail(self, {
    duration,
    onTimeout: () =>
      new TransportError({
        method: "*",
        url: "",
        reason: "Timeout",
        detail: `the operation took longer than ${Duration.format(Duration.decode(duration))}`
      })
  }))
