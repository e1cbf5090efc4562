/**
 * Blob downloads that survive broken connections: when a body fails or ends short, the rest is
 * asked for with `Range: bytes=<received>-`. A `206` must continue exactly at that offset; a
 * server that answers `200` with the whole blob has its first `received` bytes skipped (they
 * were hashed already), so the digest check still covers the whole blob, once. A body that makes
 * no progress for the client's idle timeout fails with a `Timeout`, and is resumed the same way.
 *
 * @internal
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Digest from "../Digest.js"
import type * as Reference from "../Reference.js"
import { RegistryClient } from "../RegistryClient.js"
import { DigestMismatch, InvalidResponse, type RegistryError, TransportError } from "../RegistryError.js"
import { parseContentLength, parseContentRange } from "./headers.js"
import {
  cancel,
  collectBytes,
  displayUrl,
  endpointUrl,
  headerRecord,
  readLimited,
  retryBrokenBody,
  transportError
} from "./http.js"

/** How many times one download may be resumed. */
export const maxResumes = 3

/** Drop the first `count` bytes of a stream. */
export const dropBytes = <E, R>(stream: Stream.Stream<Uint8Array, E, R>, count: number) =>
  count === 0 ? stream : stream.pipe(
    Stream.mapAccum(count, (left, bytes) =>
      left >= bytes.length
        ? [left - bytes.length, bytes.subarray(bytes.length)] as const
        : [0, bytes.subarray(left)] as const),
    Stream.filter((bytes) => bytes.length > 0)
  )

/** One open request of a download: its body's pull and the scope that holds it. */
interface OpenBody {
  readonly pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<HttpClientError.ResponseError>>
  readonly scope: Scope.CloseableScope
  /** Set by the idle watchdog before it aborts the request. */
  readonly stalled: () => boolean
}

/**
 * A blob's bytes, resumed after failures, verified against its digest (and size when known):
 * made in the caller's scope (which holds the download slot and every request), run as a stream.
 *
 * One stream stage does everything: a pull loop over the current response's body that counts,
 * skips, hashes and resumes in plain Effects (the nested stream combinators it replaces cost
 * ~1.5 ms of CPU per small blob, more than the request itself).
 */
export const blobStream = (
  ref: Reference.Reference,
  digest: Digest.Digest,
  size: number | undefined,
  hasher: Digest.Hasher["Type"]
): Effect.Effect<Stream.Stream<Uint8Array, RegistryError>, never, RegistryClient | Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* RegistryClient
    yield* client.transferPermit(ref.registry, "download")
    const outer = yield* Effect.scope
    const path = `/v2/${ref.repository}/blobs/${digest}`
    const url = endpointUrl(client.baseUrl(ref.registry), path).href
    const idle = client.options.idleTimeout
    const idleMillis = Duration.toMillis(idle)
    let received = 0
    let total = size
    // bytes a 200 answer repeats before the resume offset (hashed already) are skipped
    let skip = 0
    let resumes = 0
    let finished = false
    let current: OpenBody | undefined
    let last = Date.now()
    const state = hasher.create(Digest.algorithm(digest))
    const mismatch = (actual?: string) =>
      new DigestMismatch({ subject: "blob", expected: digest, actual, expectedSize: size, actualSize: received })
    const runtime = yield* Effect.runtime<never>()

    /**
     * One request for the bytes from `offset` on, in its own scope. A watchdog (one plain timer
     * per request, not a timer per chunk) aborts the request when no bytes arrive for the idle
     * timeout; the body then fails with a `Timeout`, which is resumed like any broken body.
     */
    const open = (offset: number): Effect.Effect<OpenBody, RegistryError> =>
      Effect.gen(function*() {
        const scope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
        const abort = yield* Scope.make()
        yield* Scope.addFinalizer(scope, Scope.close(abort, Exit.void))
        let stalled = false
        const opened = Effect.gen(function*() {
          const response = yield* client.execute({
            registry: ref.registry,
            method: "GET",
            path,
            headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
            scopes: [`repository:${ref.repository}:pull`],
            notFound: "blob",
            repository: ref.repository,
            reference: digest,
            abortScope: abort
          })
          const headers = headerRecord(response)
          last = Date.now()
          if (Number.isFinite(idleMillis) && idleMillis > 0) {
            const timer = setInterval(() => {
              if (Date.now() - last <= idleMillis) return
              stalled = true
              clearInterval(timer)
              Runtime.runFork(runtime)(Scope.close(abort, Exit.void))
            }, Math.max(10, idleMillis / 4))
            yield* Scope.addFinalizer(scope, Effect.sync(() => clearInterval(timer)))
          }
          if (offset > 0 && response.status === 206) {
            const range = parseContentRange(headers["content-range"])
            if (
              range === undefined || range.start !== offset ||
              (total !== undefined && range.total !== undefined && range.total !== total)
            ) {
              yield* cancel(response)
              return yield* Effect.fail(
                new InvalidResponse({
                  method: "GET",
                  url: displayUrl(url),
                  reason: `the Range answer does not continue at byte ${offset}`
                })
              )
            }
            skip = 0
          } else {
            const declared = parseContentLength(headers["content-length"])
            if (declared !== undefined && total !== undefined && declared !== total) {
              yield* cancel(response)
              return yield* Effect.fail(
                new DigestMismatch({ subject: "blob", expected: digest, expectedSize: total, actualSize: declared })
              )
            }
            total ??= declared
            skip = offset
          }
          const pull = yield* Scope.extend(Stream.toPull(response.stream), scope)
          return { pull, scope, stalled: () => stalled }
        })
        return yield* Effect.onError(opened, () => Scope.close(scope, Exit.void))
      })

    /** Close the current request's scope (its body, its watchdog, its abort scope). */
    const closeCurrent = Effect.suspend(() => {
      const body = current
      current = undefined
      return body === undefined ? Effect.void : Scope.close(body.scope, Exit.void)
    })

    /** The end of the blob: the digest (and size) check, as the stream's end or its failure. */
    const finish = Effect.suspend(() => {
      finished = true
      const actual = `${Digest.algorithm(digest)}:${state.hex()}`
      return actual === digest && (size === undefined || received === size)
        ? Effect.fail(Option.none())
        : Effect.fail(Option.some<RegistryError>(mismatch(actual)))
    })
    const resume = (why: string) =>
      Effect.zipRight(
        Effect.logDebug(`blob ${digest} resumed at ${received} after: ${why}`),
        Effect.suspend(() => {
          resumes++
          return pull
        })
      )
    /** A request or body failed: resume a transport failure from `received`, fail on anything else. */
    const failed = (error: RegistryError) =>
      Effect.zipRight(
        closeCurrent,
        // a body that breaks after its last byte has nothing left to resume (a Range from the end
        // answers 416): the digest check decides
        error._tag === "TransportError" && total !== undefined && received >= total
          ? finish
          : error._tag === "TransportError" && resumes < maxResumes
          ? resume(error.message)
          : Effect.fail(Option.some(error))
      )
    /** A body ended: resume when it ended short, else finish. */
    const ended = Effect.zipRight(
      closeCurrent,
      Effect.suspend(() =>
        total !== undefined && received < total && resumes < maxResumes
          ? resume(`the body ended after ${received} of ${total} bytes`)
          : finish
      )
    )
    const bodyError = (body: OpenBody) => (error: HttpClientError.ResponseError): RegistryError =>
      body.stalled()
        ? new TransportError({
          method: "GET",
          url: displayUrl(url),
          reason: "Timeout",
          detail: `no bytes for ${Duration.format(idle)}`
        })
        : transportError("GET", url)(error)

    /** Count, skip and hash one piece of the body. */
    const take = (
      chunk: Chunk.Chunk<Uint8Array>
    ): Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<RegistryError>> => {
      last = Date.now()
      let out = chunk
      if (skip > 0) {
        const kept: Array<Uint8Array> = []
        for (const bytes of chunk) {
          if (skip >= bytes.length) skip -= bytes.length
          else {
            kept.push(skip > 0 ? bytes.subarray(skip) : bytes)
            skip = 0
          }
        }
        out = Chunk.unsafeFromArray(kept)
      }
      for (const bytes of out) {
        received += bytes.length
        state.update(bytes)
      }
      return size !== undefined && received > size ? Effect.fail(Option.some(mismatch())) : Effect.succeed(out)
    }

    const pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<RegistryError>> = Effect.suspend(() => {
      if (finished) return Effect.fail(Option.none())
      const body = current
      if (body === undefined) {
        return Effect.matchEffect(open(received), {
          onFailure: failed,
          onSuccess: (opened) => {
            current = opened
            return pull
          }
        })
      }
      return Effect.matchEffect(body.pull, {
        onFailure: Option.match({ onNone: () => ended, onSome: (error) => failed(bodyError(body)(error)) }),
        onSuccess: take
      })
    })
    return Stream.repeatEffectChunkOption(pull)
  })

/** Blobs up to this size (when their size is known) are read in one piece, not streamed. */
export const wholeReadLimit = 4 * 1024 * 1024

/**
 * A blob's bytes in memory, verified, refused over `limit` bytes. A blob of known size up to
 * 4 MiB (a config, an artifact's payload) is read whole: one `GET`, one hash update, no stream
 * stages (a body that breaks is fetched again, like a manifest's). Larger or unsized ones are
 * collected from `blobStream`, so they keep its per-chunk idle timeout and resumption.
 */
export const blobBytes = (
  ref: Reference.Reference,
  digest: Digest.Digest,
  size: number | undefined,
  limit: number,
  hasher: Digest.Hasher["Type"]
): Effect.Effect<Uint8Array, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const client = yield* RegistryClient
    const path = `/v2/${ref.repository}/blobs/${digest}`
    const url = endpointUrl(client.baseUrl(ref.registry), path).href
    const tooLarge = (bytes: number) =>
      new InvalidResponse({
        method: "GET",
        url: displayUrl(url),
        reason: `blob of ${bytes} bytes exceeds the ${limit} byte limit (stream it with getBlob)`
      })
    if (size !== undefined && size > limit) return yield* Effect.fail(tooLarge(size))
    if (size === undefined || size > wholeReadLimit) {
      let total = 0
      return yield* Effect.scoped(Effect.flatMap(blobStream(ref, digest, size, hasher), (stream) =>
        collectBytes(Stream.mapChunksEffect(stream, (chunk) => {
          for (const bytes of chunk) {
            total += bytes.length
          }
          return total > limit ? Effect.fail(tooLarge(total)) : Effect.succeed(chunk)
        }))))
    }
    const bytes = yield* retryBrokenBody(Effect.flatMap(
      client.execute({
        registry: ref.registry,
        method: "GET",
        path,
        headers: {},
        scopes: [`repository:${ref.repository}:pull`],
        notFound: "blob",
        repository: ref.repository,
        reference: digest
      }),
      (response) =>
        readLimited(response, limit, "blob", "GET", url, client.options.idleTimeout)
    ))
    const state = hasher.create(Digest.algorithm(digest))
    state.update(bytes)
    const actual = `${Digest.algorithm(digest)}:${state.hex()}`
    if (actual !== digest || bytes.length !== size) {
      return yield* Effect.fail(
        new DigestMismatch({ subject: "blob", expected: digest, actual, expectedSize: size, actualSize: bytes.length })
      )
    }
    return bytes
  })
