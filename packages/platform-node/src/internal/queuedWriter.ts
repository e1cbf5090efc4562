/**
 * Writes queued on a file handle: a chunk waits only when 4 MiB are already queued, so writes
 * overlap with the download and queued ones go out together (`writev`). Waiting for each write
 * instead let the response body pile up meanwhile, and the platform copies a piled-up body into
 * one new buffer per read: a 1 GiB pull spent 2 s in garbage collection.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Fs from "node:fs/promises"

/** Bytes that may wait in the write queue before the stream is asked to slow down. */
const queueBytes = 4 * 1024 * 1024

/** A queued writer on `handle`; the first write error, mapped by `onError`, fails every later step. */
export const queuedWriter = <E>(handle: Fs.FileHandle, onError: (cause: unknown) => E) => {
  const stream = handle.createWriteStream({ highWaterMark: queueBytes, autoClose: false })
  let failure: E | undefined
  stream.on("error", (error) => (failure ??= onError(error)))
  /** Run `start`, then wait for `event` (listening first, so an event it causes at once is not missed). */
  const waitFor = (event: "drain" | "finish", start: () => boolean) =>
    Effect.async<void, E>((resume) => {
      const done = () => {
        stream.off("error", done)
        stream.off(event, done)
        resume(failure === undefined ? Effect.void : Effect.fail(failure))
      }
      stream.once("error", done)
      stream.once(event, done)
      if (!start()) done()
    })
  return {
    /** Queue a chunk's bytes; wait only when the queue is full. */
    write: (chunk: Iterable<Uint8Array>): Effect.Effect<void, E> =>
      Effect.suspend(() =>
        failure !== undefined ? Effect.fail(failure) : waitFor("drain", () => {
          let room = true
          for (const bytes of chunk) room = stream.write(bytes)
          return !room
        })
      ),
    /** Flush the queue. */
    end: Effect.suspend(() =>
      failure !== undefined ? Effect.fail(failure) : waitFor("finish", () => {
        stream.end()
        return true
      })
    ),
    /** Destroy the stream, which closes the handle (`close()` never settles while a stream holds it). */
    release: Effect.sync(() => void stream.destroy())
  }
}
