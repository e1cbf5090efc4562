/**
 * Where the bytes of a blob to upload come from. A `BlobSource` knows its digest and size and can
 * open its bytes, from the start or from an offset when it is re-readable (bytes in memory, a
 * file), so an interrupted upload resumes where the registry stopped instead of from zero. A
 * one-shot stream can be opened once; a retry that would need its bytes again fails with a clear
 * error instead of sending wrong bytes.
 *
 * @since 0.1.0
 */
import type * as HttpBody from "@effect/platform/HttpBody"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Digest from "./Digest.js"
import { InvalidResponse } from "./RegistryError.js"

/**
 * A blob to upload.
 *
 * @since 0.1.0
 * @category models
 */
export interface BlobSource<E = never, R = never> {
  readonly digest: Digest.Digest
  readonly size: number
  /** Whether `open` may be called more than once, and with an offset. */
  readonly rereadable: boolean
  /** The bytes from `offset` to the end. */
  readonly open: (offset: number) => Stream.Stream<Uint8Array, E | InvalidResponse, R>
  /**
   * The same bytes (from `offset`, `length` of them or to the end) as a body the platform's HTTP
   * client sends directly (a file stream on Node), used for streamed uploads and chunks: it skips
   * the per-chunk work of `open` and buffers nothing. The registry still checks the digest.
   */
  readonly nativeBody?: ((offset: number, length?: number) => HttpBody.HttpBody) | undefined
  /**
   * The whole blob in memory, for a source that is cheaper read in one piece than streamed (a
   * small blob of another registry, read with one `GET`): `Registry.uploadBlob` reads it only once
   * it knows the blob must be sent (not there, not mounted) and sends the bytes as they are, with
   * no stream between the two requests.
   */
  readonly whole?: Effect.Effect<Uint8Array, E | InvalidResponse, R> | undefined
}

/**
 * A source over bytes in memory (re-readable). The digest is computed with the context's `Hasher`
 * (or the pure-JavaScript default).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromBytes = (bytes: Uint8Array): Effect.Effect<BlobSource> =>
  Effect.map(Digest.ofBytes(bytes), (digest) => ({
    digest,
    size: bytes.length,
    rereadable: true,
    open: (offset) => Stream.succeed(bytes.subarray(offset))
  }))

/**
 * A re-readable source: `open(offset)` must give the bytes from `offset` every time it is called
 * (a file read from a position, an HTTP range request).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <E, R>(options: {
  readonly digest: Digest.Digest
  readonly size: number
  readonly open: (offset: number) => Stream.Stream<Uint8Array, E, R>
}): BlobSource<E, R> => ({ ...options, rereadable: true })

/**
 * A one-shot source over a stream whose digest and size are known in advance (the upload checks
 * them: the registry refuses bytes that do not match).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromStream = <E, R>(options: {
  readonly digest: Digest.Digest
  readonly size: number
  readonly stream: Stream.Stream<Uint8Array, E, R>
}): BlobSource<E, R> => {
  let opened = false
  return {
    digest: options.digest,
    size: options.size,
    rereadable: false,
    open: (offset) =>
      Stream.suspend((): Stream.Stream<Uint8Array, E | InvalidResponse, R> => {
        if (opened || offset !== 0) {
          return Stream.fail(
            new InvalidResponse({
              method: "PUT",
              url: options.digest,
              reason: "the upload needs the blob's bytes again but its source is a one-shot stream; " +
                "use BlobSource.make with a re-readable source to allow resuming"
            })
          )
        }
        opened = true
        return options.stream
      })
  }
}

/**
 * Regroup a byte stream into arrays of exactly `size` bytes (the last may be shorter). Used for
 * chunked uploads: one chunk is held in memory at a time.
 *
 * @since 0.1.0
 * @category combinators
 */
export const rechunkBytes =
  (size: number) => <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R> =>
    Stream.suspend(() => {
      let buffer = new Uint8Array(size)
      let filled = 0
      const full = self.pipe(
        Stream.mapConcat((bytes) => {
          const out: Array<Uint8Array> = []
          let offset = 0
          while (offset < bytes.length) {
            const take = Math.min(size - filled, bytes.length - offset)
            buffer.set(bytes.subarray(offset, offset + take), filled)
            filled += take
            offset += take
            if (filled === size) {
              out.push(buffer)
              buffer = new Uint8Array(size)
              filled = 0
            }
          }
          return out
        })
      )
      return Stream.concat(
        full,
        Stream.suspend(() => (filled > 0 ? Stream.succeed(buffer.subarray(0, filled)) : Stream.empty))
      )
    })
