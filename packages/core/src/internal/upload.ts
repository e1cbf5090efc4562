/**
 * Blob upload sessions: start (or mount), send chunks following each new `Location` exactly as
 * given, ask for the offset, complete with `?digest=`, cancel. `uploadSource` combines them:
 * one streamed `PUT` by default, chunks above a configured chunk size, and a chunk that fails
 * mid-way is resumed at the offset the registry reports, never replayed from zero.
 *
 * Size rules of real registries: `OCI-Chunk-Min-Length` from the `POST` (ECR: 5 MiB) is the
 * smallest chunk sent but the last; a body refused as too large (413, or GHCR's 416 "exceeds the
 * maximum permissible limit of 4.00MiB") makes a monolithic `PUT` start again in chunks, in a new
 * session, when the source can be read again, and a `PATCH` go again in halves down to 1 MiB; the
 * size that worked is remembered per registry for the client's later uploads. A refused mount
 * (401/403/404/405, or a registry that ignores `mount=` and opens a session) becomes a plain upload.
 *
 * @internal
 */
import * as HttpBody from "@effect/platform/HttpBody"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as BlobSource from "../BlobSource.js"
import * as Digest from "../Digest.js"
import { defaultBufferedChunkSize, RegistryClient } from "../RegistryClient.js"
import {
  DigestMismatch,
  ErrorDetail,
  InvalidResponse,
  type RegistryError,
  RegistryResponseError
} from "../RegistryError.js"
import { hasSeveralValues, parseContentLength, uploadOffset } from "./headers.js"
import { discard, displayUrl, endpointUrl, headerRecord, isBodyTooLarge } from "./http.js"

/** An open upload session. */
export interface UploadSession {
  readonly registry: string
  readonly repository: string
  /** The absolute URL of the session, as the registry last gave it. */
  readonly location: string
  /** Bytes the registry has taken so far. */
  readonly offset: number
  /** `OCI-Chunk-Min-Length`, when the registry sets one. */
  readonly minChunkLength: number | undefined
}

/** The token scopes an upload to `repository` needs. */
export const pushScopes = (repository: string, mountFrom?: string) => [
  `repository:${repository}:pull,push`,
  ...(mountFrom !== undefined && mountFrom !== repository ? [`repository:${mountFrom}:pull`] : [])
]

/**
 * The URL a response answered: the last hop of its redirects, so that a relative `Location` is
 * resolved against where the request ended, not where it started.
 */
const answeredUrl = (response: HttpClientResponse.HttpClientResponse, fallback: string) => {
  const url = response.request?.url
  return typeof url === "string" && /^https?:\/\//i.test(url) ? url : fallback
}

const location = (response: HttpClientResponse.HttpClientResponse, sentTo: string, method: string) => {
  const requestUrl = answeredUrl(response, sentTo)
  const value = headerRecord(response)["location"]
  if (value === undefined) {
    return Effect.fail(new InvalidResponse({ method, url: displayUrl(requestUrl), reason: "no Location header" }))
  }
  // several Location headers: refuse, do not guess
  if (hasSeveralValues(value)) {
    return Effect.fail(new InvalidResponse({ method, url: displayUrl(requestUrl), reason: "several Location headers" }))
  }
  return Effect.try({
    try: () => new URL(value, requestUrl).href,
    catch: () => new InvalidResponse({ method, url: displayUrl(requestUrl), reason: "malformed Location header" })
  })
}

const sessionFrom = (
  response: HttpClientResponse.HttpClientResponse,
  previous: { registry: string; repository: string; location: string; minChunkLength: number | undefined },
  method: string,
  sent: number
) =>
  Effect.map(location(response, previous.location, method), (next): UploadSession => {
    const headers = headerRecord(response)
    const min = parseContentLength(headers["oci-chunk-min-length"])
    return {
      registry: previous.registry,
      repository: previous.repository,
      location: next,
      offset: uploadOffset(headers["range"], sent) ?? sent,
      minChunkLength: min ?? previous.minChunkLength
    }
  })

/**
 * Whether a mount was refused in a way a plain upload may still get past: denied or not found
 * (the source repository, or a token without pull on it), or a registry without mounts.
 */
const isMountRefusal = (error: RegistryError) =>
  error._tag === "AuthorizationError" || error._tag === "NotFound" ||
  (error._tag === "RegistryResponseError" && [400, 401, 403, 404, 405, 501].includes(error.status))

/** What starting an upload gives: an open session, or the blob mounted from another repository. */
type Started =
  | { readonly _tag: "Session"; readonly session: UploadSession }
  | { readonly _tag: "Mounted"; readonly digest: Digest.Digest }

/**
 * `POST /v2/<name>/blobs/uploads/`, optionally asking to mount `digest` from `from`. A refused
 * mount falls back to opening a plain session; a registry that ignores `mount=` opens one itself.
 */
export const start = (
  registry: string,
  repository: string,
  mount?: { readonly digest: Digest.Digest; readonly from: string }
): Effect.Effect<Started, RegistryError, RegistryClient> =>
  mount === undefined
    ? open(registry, repository, undefined)
    : open(registry, repository, mount).pipe(
      Effect.catchIf(isMountRefusal, (error) =>
        Effect.zipRight(
          Effect.logDebug(`mount of ${mount.digest} from ${mount.from} refused (${error.message}): uploading instead`),
          open(registry, repository, undefined)
        ))
    )

const open = (
  registry: string,
  repository: string,
  mount?: { readonly digest: Digest.Digest; readonly from: string }
): Effect.Effect<Started, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const client = yield* RegistryClient
    const query = mount ? `?mount=${encodeURIComponent(mount.digest)}&from=${encodeURIComponent(mount.from)}` : ""
    const path = `/v2/${repository}/blobs/uploads/${query}`
    const url = endpointUrl(client.baseUrl(registry), path).href
    const response = yield* client.execute({
      registry,
      method: "POST",
      path,
      scopes: pushScopes(repository, mount?.from),
      notFound: "repository",
      repository,
      idempotent: false
    })
    yield* discard(response)
    if (mount && response.status === 201) return { _tag: "Mounted", digest: mount.digest } as const
    const session = yield* sessionFrom(
      response,
      { registry, repository, location: url, minChunkLength: undefined },
      "POST",
      0
    )
    return { _tag: "Session", session } as const
  })

const octetStream = "application/octet-stream"

/** `PATCH` one chunk at the session's offset. */
export const sendChunk = (
  session: UploadSession,
  bytes: Uint8Array
): Effect.Effect<UploadSession, RegistryError, RegistryClient> =>
  sendBody(session, HttpBody.uint8Array(bytes, octetStream), bytes.length)

/** `PATCH` `length` bytes given as any body at the session's offset. */
const sendBody = (
  session: UploadSession,
  body: HttpBody.HttpBody,
  length: number
): Effect.Effect<UploadSession, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const client = yield* RegistryClient
    const end = session.offset + length
    const response = yield* client.execute({
      registry: session.registry,
      method: "PATCH",
      path: session.location,
      headers: { "content-range": `${session.offset}-${end - 1}` },
      body,
      scopes: pushScopes(session.repository),
      notFound: "upload",
      repository: session.repository,
      idempotent: false
    })
    yield* discard(response)
    return yield* sessionFrom(response, session, "PATCH", end)
  })

/** `GET` the session: where the registry is. */
export const status = (session: UploadSession): Effect.Effect<UploadSession, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const client = yield* RegistryClient
    const response = yield* client.execute({
      registry: session.registry,
      method: "GET",
      path: session.location,
      scopes: pushScopes(session.repository),
      notFound: "upload",
      repository: session.repository
    })
    yield* discard(response)
    const headers = headerRecord(response)
    const offset = uploadOffset(headers["range"], session.offset)
    if (offset === undefined) {
      return yield* Effect.fail(
        new InvalidResponse({ method: "GET", url: displayUrl(session.location), reason: "no valid Range header" })
      )
    }
    const next = headers["location"] === undefined
      ? session.location
      : yield* location(response, session.location, "GET")
    return { ...session, location: next, offset }
  })

/** The session URL with `digest=` appended, keeping its query exactly as the registry wrote it. */
const withDigest = (url: string, digest: Digest.Digest) =>
  `${url}${url.includes("?") ? "&" : "?"}digest=${encodeURIComponent(digest)}`

/** `PUT ?digest=`, with the last bytes (or a whole stream) as the body. */
export const complete = <E = never, R = never>(
  session: UploadSession,
  digest: Digest.Digest,
  body?:
    | { readonly stream: Stream.Stream<Uint8Array, E, R>; readonly length: number }
    | { readonly native: HttpBody.HttpBody }
    | Uint8Array
): Effect.Effect<Digest.Digest, RegistryError | E, RegistryClient | R> =>
  Effect.gen(function*() {
    const client = yield* RegistryClient
    const context = yield* Effect.context<R>()
    // A streamed body that fails (a file that does not verify, a source that breaks) surfaces to
    // the HTTP client as a transport error; remember the real cause so it is reported, not retried.
    let bodyFailure: Option.Option<E> = Option.none()
    const httpBody = body === undefined
      ? HttpBody.uint8Array(new Uint8Array(0), octetStream)
      : body instanceof Uint8Array
      ? HttpBody.uint8Array(body, octetStream)
      : "native" in body
      ? body.native
      : HttpBody.stream(
        body.stream.pipe(
          Stream.tapError((error) => Effect.sync(() => (bodyFailure = Option.some(error)))),
          Stream.provideContext(context)
        ),
        octetStream,
        body.length
      )
    const url = withDigest(session.location, digest)
    const response = yield* client.execute({
      registry: session.registry,
      method: "PUT",
      path: url,
      body: httpBody,
      scopes: pushScopes(session.repository),
      notFound: "upload",
      repository: session.repository,
      idempotent: false
    }).pipe(
      Effect.catchAll((error): Effect.Effect<never, RegistryError | E> =>
        Option.match(bodyFailure, { onNone: () => Effect.fail(error), onSome: (cause) => Effect.fail(cause) })
      )
    )
    yield* discard(response)
    const announced = headerRecord(response)["docker-content-digest"]
    if (announced !== undefined && Either.isRight(Digest.parse(announced.trim())) && announced.trim() !== digest) {
      return yield* Effect.fail(new DigestMismatch({ subject: "blob", expected: digest, actual: announced.trim() }))
    }
    return digest
  })

/** `DELETE` the session. */
export const cancel = (session: UploadSession): Effect.Effect<void, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const client = yield* RegistryClient
    const response = yield* client.execute({
      registry: session.registry,
      method: "DELETE",
      path: session.location,
      scopes: pushScopes(session.repository),
      notFound: "upload",
      repository: session.repository
    })
    yield* discard(response)
  })

/** Failures worth another try: the connection, or a registry that was briefly unwell. */
export const isTransient = (error: RegistryError) =>
  error._tag === "TransportError" ||
  (error._tag === "RegistryResponseError" && [408, 429, 500, 502, 503, 504].includes(error.status))

/** An upload session the registry no longer knows (404 `BLOB_UPLOAD_UNKNOWN` / `BLOB_UPLOAD_INVALID`). */
export const isLostSession = (error: RegistryError) => error._tag === "NotFound" && error.kind === "upload"

/** How many times one chunk may be resumed after failures before the upload gives up. */
const maxResumes = 3

/** A body refused as too large is sent again in halves, down to this size. */
export const chunkFloor = 1024 * 1024

/**
 * The largest request body each registry took, learned from its refusals, per client (a
 * `WeakMap` so a client that is dropped takes its knowledge with it).
 */
const learnedLimits = new WeakMap<object, Map<string, number>>()

const learnedLimit = (client: object, registry: string): number | undefined => learnedLimits.get(client)?.get(registry)

const learnLimit = (client: object, registry: string, size: number) => {
  let limits = learnedLimits.get(client)
  if (limits === undefined) {
    limits = new Map()
    learnedLimits.set(client, limits)
  }
  limits.set(registry, Math.min(size, limits.get(registry) ?? Infinity))
}

/** One chunk of an upload: where it starts, how long it is, and any range of its bytes. */
interface ChunkSpec {
  readonly start: number
  readonly length: number
  readonly body: (offset: number, length: number) => HttpBody.HttpBody
}

/** A chunk held in memory. */
const bufferedChunk = (bytes: Uint8Array, start: number): ChunkSpec => ({
  start,
  length: bytes.length,
  body: (offset, length) => HttpBody.uint8Array(bytes.subarray(offset - start, offset - start + length), octetStream)
})

/** `source` with its bytes already in memory: sent as they are (`nativeBody`), or re-read as a stream. */
export const inMemory = <E, R>(source: BlobSource.BlobSource<E, R>, bytes: Uint8Array): BlobSource.BlobSource => ({
  digest: source.digest,
  size: source.size,
  rereadable: true,
  open: (offset) => Stream.succeed(bytes.subarray(offset)),
  nativeBody: (offset, length) =>
    HttpBody.uint8Array(bytes.subarray(offset, length === undefined ? undefined : offset + length), octetStream)
})

/**
 * Send one chunk, in one `PATCH` or in pieces no larger than `limit.max`. A piece refused as too
 * large is sent again in halves (never below `chunkFloor` or the registry's minimum), and the
 * smaller size is kept for the rest of the upload and learned for the registry. When a `PATCH`
 * fails on the way, the session is asked where it is and only the bytes it lacks are sent.
 */
const sendChunkResuming = (
  session: UploadSession,
  chunk: ChunkSpec,
  limit: { max: number }
): Effect.Effect<UploadSession, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const client = yield* RegistryClient
    const chunkEnd = chunk.start + chunk.length
    let current = session
    let resumes = 0
    // the transport failure a resume started from: distribution 2.x invalidates a session after a
    // broken PATCH, sometimes only after it answered the status GET, so the resumed PATCH then
    // finds no session. That 404 is a consequence; the caller is told the cause.
    let resumedAfter: RegistryError | undefined
    while (current.offset < chunkEnd) {
      const remaining = chunkEnd - current.offset
      const length = Math.min(remaining, Math.max(limit.max, current.minChunkLength ?? 0))
      const sent = yield* Effect.either(sendBody(current, chunk.body(current.offset, length), length))
      if (Either.isRight(sent)) {
        current = sent.right
        continue
      }
      const error = sent.left
      if (resumedAfter !== undefined && isLostSession(error)) return yield* Effect.fail(resumedAfter)
      const smaller = Math.max(chunkFloor, current.minChunkLength ?? 0, Math.floor(length / 2))
      if (isBodyTooLarge(error) && smaller < length) {
        limit.max = smaller
        learnLimit(client, current.registry, smaller)
        yield* Effect.logDebug(`a ${length} byte PATCH was refused as too large: sending ${smaller} bytes at a time`)
        // the refusal may have come from a proxy before the registry saw anything: ask the session
        const now = yield* status(current).pipe(Effect.orElseSucceed(() => current))
        if (now.offset < chunk.start || now.offset > chunkEnd) return yield* Effect.fail(error)
        current = now
        continue
      }
      if (isTransient(error) && resumes < maxResumes) {
        resumes++
        // A registry that lost the session (distribution 2.x invalidates it after a broken PATCH)
        // cannot be resumed: the original failure goes up, where a re-readable source restarts.
        const now = yield* status(current).pipe(Effect.catchAll(() => Effect.fail(error)))
        if (now.offset < chunk.start || now.offset > chunkEnd) return yield* Effect.fail(error)
        yield* Effect.logDebug(`upload resumed at offset ${now.offset} after: ${error.message}`)
        resumedAfter = error
        current = now
        continue
      }
      return yield* Effect.fail(error)
    }
    return current
  })

/** How `uploadSource` sends the bytes. */
export interface UploadPlan {
  readonly chunkSize: number
  /** When false, even a monolithic upload is collected into one byte array before it is sent. */
  readonly streaming: boolean
}

/**
 * Upload a source into an open session and complete it: one `PUT` with the whole stream when it
 * fits in a chunk, otherwise chunk by chunk (one chunk buffered at a time). A monolithic `PUT`
 * refused as too large starts again in chunks in a new session (a re-readable source only; a
 * one-shot stream fails with a `RegistryResponseError` that says so).
 */
export const uploadSource = <E, R>(
  session: UploadSession,
  source: BlobSource.BlobSource<E, R>,
  plan: UploadPlan
): Effect.Effect<Digest.Digest, RegistryError | E, RegistryClient | R> =>
  Effect.gen(function*() {
    const client = yield* RegistryClient
    const learned = learnedLimit(client, session.registry) ?? Infinity
    const chunkSize = Math.max(Math.min(plan.chunkSize, learned), session.minChunkLength ?? 0)
    if (source.size > chunkSize) return yield* uploadChunked(session, source, plan, chunkSize)
    const monolithic = plan.streaming
      ? complete<E | InvalidResponse, R>(
        session,
        source.digest,
        source.nativeBody ? { native: source.nativeBody(0) } : { stream: source.open(0), length: source.size }
      )
      : Effect.flatMap(
        Stream.runCollect(source.open(0).pipe(BlobSource.rechunkBytes(Math.max(1, source.size)))),
        (chunks) => complete(session, source.digest, Chunk.head(chunks).pipe(Option.getOrElse(() => new Uint8Array(0))))
      )
    return yield* monolithic.pipe(
      Effect.catchIf(
        (error): error is RegistryResponseError =>
          typeof error === "object" && error !== null && "_tag" in error &&
          isBodyTooLarge(error as RegistryError),
        (error) =>
          Effect.gen(function*() {
            if (!source.rereadable) {
              return yield* Effect.fail(
                new RegistryResponseError({
                  method: error.method,
                  url: error.url,
                  status: error.status,
                  errors: [
                    ...error.errors,
                    new ErrorDetail({
                      code: "BODY_TOO_LARGE",
                      message: "the registry refuses a body this large, and a one-shot source cannot be sent " +
                        "again in chunks: give a re-readable source, or a chunkSize"
                    })
                  ]
                })
              )
            }
            const size = Math.max(chunkFloor, Math.min(defaultBufferedChunkSize, Math.floor(source.size / 2)))
            learnLimit(client, session.registry, size)
            yield* Effect.logDebug(
              `a ${source.size} byte PUT was refused as too large: uploading in ${size} byte chunks`
            )
            yield* Effect.ignore(cancel(session))
            const fresh = yield* open(session.registry, session.repository, undefined)
            if (fresh._tag === "Mounted") return source.digest
            const next = fresh.session
            return yield* uploadChunked(next, source, plan, Math.max(size, next.minChunkLength ?? 0))
          })
      )
    )
  })

const uploadChunked = <E, R>(
  session: UploadSession,
  source: BlobSource.BlobSource<E, R>,
  plan: UploadPlan,
  chunkSize: number
): Effect.Effect<Digest.Digest, RegistryError | E, RegistryClient | R> => {
  const limit = { max: chunkSize }
  const nativeBody = plan.streaming ? source.nativeBody : undefined
  const sent: Effect.Effect<UploadSession, RegistryError | E | InvalidResponse, RegistryClient | R> =
    nativeBody !== undefined
      // the platform reads each chunk itself (a file range on Node): nothing is buffered here
      ? Effect.iterate(session, {
        while: (current) => current.offset < source.size,
        body: (current) => {
          const length = Math.min(chunkSize, source.size - current.offset)
          return sendChunkResuming(current, {
            start: current.offset,
            length,
            body: (offset, length) => nativeBody(offset, length)
          }, limit)
        }
      })
      : source.open(session.offset).pipe(
        BlobSource.rechunkBytes(chunkSize),
        Stream.runFoldEffect(
          session,
          (current, chunk) => sendChunkResuming(current, bufferedChunk(chunk, current.offset), limit)
        )
      )
  return sent.pipe(
    Effect.flatMap((last) => {
      if (last.offset !== source.size) {
        return Effect.fail(
          new InvalidResponse({
            method: "PATCH",
            url: displayUrl(last.location),
            reason: `the registry holds ${last.offset} bytes of ${source.size}`
          })
        )
      }
      return complete(last, source.digest)
    })
  )
}

/** Whether `HEAD` finds the blob with the expected size. */
export const exists = (registry: string, repository: string, digest: Digest.Digest, size: number) =>
  Effect.gen(function*() {
    const client = yield* RegistryClient
    const response = yield* client.execute({
      registry,
      method: "HEAD",
      path: `/v2/${repository}/blobs/${digest}`,
      scopes: pushScopes(repository),
      notFound: "blob",
      repository,
      reference: digest,
      acceptStatus: [404]
    })
    if (response.status === 404) return false
    const length = parseContentLength(headerRecord(response)["content-length"])
    return length === undefined || length === size
  })
