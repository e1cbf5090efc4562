/**
 * The file operations of OCI layouts, on plain `node:fs/promises`, as Effects that fail with
 * `FsError` (the path, the operation and the system error code; never file contents). Writes of
 * small files are atomic: a temporary file in the same directory, `fsync`, `rename`, then an
 * `fsync` of the directory so the rename survives a crash.
 *
 * @internal
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import * as FsSync from "node:fs"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { temporaryFile } from "./ociLayoutPaths.js"

/**
 * A failed file operation. `reason` is `NotFound` (ENOENT), `TooLarge` (over a read limit) or
 * `Failed` (anything else, `code` saying what).
 *
 * @internal
 */
export class FsError extends Data.TaggedError("FsError")<{
  readonly path: string
  readonly operation: "read" | "write" | "stat" | "mkdir" | "rename" | "sync" | "open"
  readonly reason: "NotFound" | "TooLarge" | "Failed"
  readonly code?: string | undefined
}> {}

/** @internal */
export const errorCode = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined

/** @internal */
export const fsError = (path: string, operation: FsError["operation"]) => (error: unknown): FsError => {
  const code = errorCode(error)
  return new FsError({ path, operation, reason: code === "ENOENT" ? "NotFound" : "Failed", code })
}

/**
 * The size of a regular file, or `None` when nothing is there. Anything else at the path (a
 * directory, a socket) is `Failed` with code `ENOTFILE`.
 *
 * @internal
 */
export const fileSize = (path: string): Effect.Effect<Option.Option<number>, FsError> =>
  Effect.tryPromise({ try: () => Fs.stat(path), catch: fsError(path, "stat") }).pipe(
    Effect.flatMap((stats) =>
      stats.isFile()
        ? Effect.succeed(Option.some(stats.size))
        : Effect.fail(new FsError({ path, operation: "stat", reason: "Failed", code: "ENOTFILE" }))
    ),
    Effect.catchIf((e) => e.reason === "NotFound", () => Effect.succeed(Option.none()))
  )

/**
 * Read a whole file of at most `limit` bytes (checked before reading and while reading).
 *
 * @internal
 */
export const readLimited = (path: string, limit: number): Effect.Effect<Uint8Array, FsError> =>
  Effect.acquireUseRelease(
    Effect.tryPromise({ try: () => Fs.open(path, "r"), catch: fsError(path, "open") }),
    (handle) =>
      Effect.tryPromise({
        try: async () => {
          const { size } = await handle.stat()
          if (size > limit) return undefined
          // Read one byte more than announced, so a file that grew is noticed.
          const buffer = new Uint8Array(Math.min(size, limit) + 1)
          let filled = 0
          for (;;) {
            const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled)
            if (bytesRead === 0) break
            filled += bytesRead
            if (filled === buffer.length) return filled > limit ? undefined : buffer
          }
          return buffer.subarray(0, filled)
        },
        catch: fsError(path, "read")
      }).pipe(
        Effect.flatMap((bytes) =>
          bytes === undefined || bytes.length > limit
            ? Effect.fail(new FsError({ path, operation: "read", reason: "TooLarge" }))
            : Effect.succeed(bytes)
        )
      ),
    (handle) => Effect.promise(() => handle.close().catch(() => undefined))
  )

/**
 * The bytes of a file from `offset`, in 1 MiB reads.
 *
 * @internal
 */
export const readStream = (path: string, offset = 0): Stream.Stream<Uint8Array, FsError> =>
  NodeStream.fromReadable(
    () => FsSync.createReadStream(path, { start: offset, highWaterMark: 1024 * 1024 }),
    fsError(path, "read")
  )

/** @internal */
export const mkdirp = (path: string): Effect.Effect<void, FsError> =>
  Effect.asVoid(Effect.tryPromise({ try: () => Fs.mkdir(path, { recursive: true }), catch: fsError(path, "mkdir") }))

/** Remove a file, ignoring every failure (cleanup of temporary files). @internal */
export const removeQuietly = (path: string): Effect.Effect<void> =>
  Effect.promise(() => Fs.rm(path, { force: true }).catch(() => undefined))

/**
 * How long a temporary of ours must have gone unmodified before a later run takes it for one that
 * a killed run left behind. A live writer touches its temporary with every chunk and, when the
 * bytes stop, gives up after the client's idle timeout (30 s by default) and removes it, so ten
 * minutes is far past any live write. Git prunes its own temporary objects by age the same way.
 *
 * @internal
 */
export const staleTemporaryMs = 10 * 60 * 1000

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * Remove the temporaries that killed runs left in `dir` (not below it): regular files, never links
 * or folders, named exactly as `temporaryFile` names them (`.tmp-<16 hex>` for the `undefined`
 * prefix, `.<prefix>.tmp-<16 hex>` for the others), unmodified for `staleTemporaryMs` (a younger
 * one may belong to a run still writing). Best effort: what cannot be read or removed stays.
 * Succeeds with the number removed.
 *
 * @internal
 */
export const removeStaleTemporaries = (
  dir: string,
  prefixes: ReadonlyArray<string | undefined>,
  now: number = Date.now()
): Effect.Effect<number> =>
  Effect.promise(async () => {
    const names = prefixes.map((prefix) => prefix === undefined ? "" : `\\.${escapeRegExp(prefix)}`)
    const ours = new RegExp(`^(?:${names.join("|")})\\.tmp-[0-9a-f]{16}$`)
    const entries = await Fs.readdir(dir).catch(() => [] as Array<string>)
    let removed = 0
    for (const name of entries) {
      if (!ours.test(name)) continue
      const file = Path.join(dir, name)
      try {
        const stat = await Fs.lstat(file)
        if (!stat.isFile() || now - stat.mtimeMs < staleTemporaryMs) continue
        await Fs.unlink(file)
        removed++
      } catch {
        // gone meanwhile, or not ours to remove
      }
    }
    return removed
  })

/**
 * `fsync` a directory, so a `rename` into it is durable. Best effort: some platforms and file
 * systems refuse to open or sync directories.
 *
 * @internal
 */
export const syncDir = (dir: string): Effect.Effect<void> =>
  Effect.promise(async () => {
    try {
      const handle = await Fs.open(dir, "r")
      try {
        await handle.sync()
      } finally {
        await handle.close()
      }
    } catch {
      // best effort
    }
  })

/**
 * Replace `path` atomically with `bytes`: write a temporary file next to it (created
 * exclusively), `fsync` it, `rename` it over `path`, `fsync` the directory. On failure the
 * temporary file is removed and `path` is untouched.
 *
 * @internal
 */
export const writeAtomic = (path: string, bytes: Uint8Array): Effect.Effect<void, FsError> => {
  const dir = Path.dirname(path)
  const temporary = temporaryFile(dir, Path.basename(path))
  return Effect.tryPromise({
    try: async () => {
      const handle = await Fs.open(temporary, "wx", 0o644)
      try {
        await handle.writeFile(bytes)
        await handle.sync()
      } finally {
        await handle.close()
      }
      await Fs.rename(temporary, path)
    },
    catch: fsError(path, "write")
  }).pipe(
    Effect.zipRight(syncDir(dir)),
    Effect.onError(() => removeQuietly(temporary))
  )
}
