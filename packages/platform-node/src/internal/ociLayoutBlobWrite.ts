/**
 * Writing one blob into a layout so that a reader never sees a partial or wrong blob under its
 * digest: the bytes go to a temporary file in the blob's own directory (created exclusively),
 * are hashed and counted while written (`Digest.verify`: more bytes than announced stop the
 * write at once), the file is `fsync`ed and closed, and only when digest and size match is it
 * renamed to `blobs/<algorithm>/<hex>`, then the directory is `fsync`ed. On any failure or
 * interruption the temporary file is removed.
 *
 * @internal
 */
import * as Digest from "@ocireg/core/Digest"
import { DigestMismatch } from "@ocireg/core/RegistryError"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs/promises"
import { FsError, fsError, mkdirp, removeQuietly, syncDir } from "./ociLayoutFs.js"
import type { BlobLocation } from "./ociLayoutPaths.js"
import { temporaryFile } from "./ociLayoutPaths.js"
import { queuedWriter } from "./queuedWriter.js"

/**
 * Stream `stream` into `location.file`, verified against `location.digest` and `size`; file
 * system failures are reported through `onFsError`. A `sourceVerified` stream (`Registry.getBlob`,
 * which fails before its end when the bytes do not match) is not hashed a second time: only its
 * size is checked (a 1 GiB pull spent ~2 s of CPU hashing every byte twice).
 *
 * @internal
 */
export const writeVerified = <E, R, F>(
  location: BlobLocation,
  size: number,
  stream: Stream.Stream<Uint8Array, E, R>,
  onFsError: (error: FsError) => F,
  sourceVerified = false
): Effect.Effect<void, F | DigestMismatch | E, R | Digest.Hasher> =>
  Effect.suspend(() => {
    let received = 0
    const sizeMismatch = () =>
      new DigestMismatch({ subject: "blob", expected: location.digest, expectedSize: size, actualSize: received })
    const checked: Stream.Stream<Uint8Array, E | DigestMismatch, R | Digest.Hasher> = sourceVerified
      ? Stream.concat(
        Stream.mapChunksEffect(stream, (chunk) => {
          for (const bytes of chunk) received += bytes.length
          return received > size ? Effect.fail(sizeMismatch()) : Effect.succeed(chunk)
        }),
        Stream.fromEffect(Effect.suspend(() => received === size ? Effect.void : Effect.fail(sizeMismatch()))).pipe(
          Stream.drain
        )
      )
      : stream.pipe(Digest.verify({ digest: location.digest, size, subject: "blob" }))
    const temporary = temporaryFile(location.dir)
    const written = Effect.acquireUseRelease(
      Effect.tryPromise({ try: () => Fs.open(temporary, "wx", 0o644), catch: fsError(temporary, "open") }),
      (handle) =>
        Effect.acquireUseRelease(
          Effect.sync(() => queuedWriter(handle, fsError(temporary, "write"))),
          (writer) =>
            checked.pipe(
              Stream.runForEachChunk(writer.write),
              Effect.zipRight(writer.end),
              Effect.zipRight(Effect.tryPromise({ try: () => handle.sync(), catch: fsError(temporary, "sync") }))
            ),
          (writer) => writer.release
        ),
      (handle) => Effect.promise(() => handle.close().catch(() => undefined))
    )
    return mkdirp(location.dir).pipe(
      Effect.zipRight(written),
      Effect.zipRight(
        Effect.tryPromise({ try: () => Fs.rename(temporary, location.file), catch: fsError(location.file, "rename") })
      ),
      Effect.zipRight(syncDir(location.dir)),
      Effect.catchIf((error): error is FsError => error instanceof FsError, (error) => Effect.fail(onFsError(error))),
      Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : removeQuietly(temporary))
    )
  })
