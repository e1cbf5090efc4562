/**
 * Blob sources backed by files: re-readable from any offset, so an interrupted upload resumes
 * where the registry stopped. The digest is computed by streaming the file when it is not given.
 *
 * @since 0.1.0
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as HttpBody from "@effect/platform/HttpBody"
import * as BlobSource from "@ocireg/core/BlobSource"
import * as Digest from "@ocireg/core/Digest"
import { InvalidResponse } from "@ocireg/core/RegistryError"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"

/**
 * A failure to read a local file, reported as an `InvalidResponse` naming the file (never its
 * contents).
 *
 * @since 0.1.0
 * @category errors
 */
export const fileError = (path: string, cause: unknown): InvalidResponse =>
  new InvalidResponse({
    method: "READ",
    url: path,
    reason: cause instanceof Error ? cause.message : "cannot read the file"
  })

/**
 * The bytes of a file from `offset`, in 1 MiB reads.
 *
 * @since 0.1.0
 * @category constructors
 */
export const readFile = (path: string, offset = 0): Stream.Stream<Uint8Array, InvalidResponse> =>
  NodeStream.fromReadable(
    () => Fs.createReadStream(path, { start: offset, highWaterMark: 1024 * 1024 }),
    (cause) => fileError(path, cause)
  )

/**
 * The sha256 digest and size of a file, streamed through `node:crypto`.
 *
 * @since 0.1.0
 * @category hashing
 */
export const digestFile = (path: string): Effect.Effect<{ digest: Digest.Digest; size: number }, InvalidResponse> =>
  Effect.gen(function*() {
    const hash = Crypto.createHash("sha256")
    const size = yield* readFile(path).pipe(
      Stream.runFold(0, (n, bytes) => {
        hash.update(bytes)
        return n + bytes.length
      })
    )
    return { digest: `sha256:${hash.digest("hex")}` as Digest.Digest, size }
  })

/**
 * A re-readable `BlobSource` over a file. Give the digest and size when known (an OCI layout
 * names them); otherwise the file is hashed first.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFile = (
  path: string,
  known?: { readonly digest: Digest.Digest; readonly size: number }
): Effect.Effect<BlobSource.BlobSource<InvalidResponse>, InvalidResponse> =>
  Effect.map(known ? Effect.succeed(known) : digestFile(path), ({ digest, size }) => ({
    ...BlobSource.make({ digest, size, open: (offset) => readFile(path, offset) }),
    // undici streams a file body itself, several times cheaper than an Effect stream of chunks
    nativeBody: (offset: number, length = size - offset) =>
      length === 0 ? HttpBody.uint8Array(new Uint8Array(0), "application/octet-stream") : HttpBody.raw(
        Fs.createReadStream(path, { start: offset, end: offset + length - 1, highWaterMark: 1024 * 1024 }),
        { contentType: "application/octet-stream", contentLength: length }
      )
  }))
