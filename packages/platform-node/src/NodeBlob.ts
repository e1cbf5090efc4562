/**
 * Blobs to files on Node: `downloadBlob` streams a verified blob to a path, atomically (a
 * temporary file in the same directory, renamed into place only when every byte matched the
 * digest), with the registry's errors and the file system's (`PlatformError`) both typed.
 *
 * @since 0.2.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Digest from "@ocireg/core/Digest"
import * as Image from "@ocireg/core/Image"
import * as Registry from "@ocireg/core/Registry"
import type { RegistryClient } from "@ocireg/core/RegistryClient"
import type { RegistryError } from "@ocireg/core/RegistryError"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as FsPromises from "node:fs/promises"
import * as Path from "node:path"
import { queuedWriter } from "./internal/queuedWriter.js"
import * as NodeHasher from "./NodeHasher.js"

/**
 * Options of `downloadBlob`.
 *
 * @since 0.2.0
 * @category models
 */
export interface DownloadOptions<R = never> {
  /** Told when the download starts, as bytes arrive, and when it is done. */
  readonly onEvent?: ((event: Image.TransferEvent) => Effect.Effect<void, never, R>) | undefined
  /** File mode of the result. Default `0o644`. */
  readonly mode?: number | undefined
}

/**
 * What `downloadBlob` wrote.
 *
 * @since 0.2.0
 * @category models
 */
export interface DownloadResult {
  readonly path: string
  readonly digest: string
  readonly size: number
}

/** Node's error codes as `PlatformError` reasons (as `FileSystem` reports them). */
const errnoReasons: Record<string, PlatformError.SystemErrorReason> = {
  ENOENT: "NotFound",
  EEXIST: "AlreadyExists",
  EACCES: "PermissionDenied",
  EPERM: "PermissionDenied",
  EBUSY: "Busy",
  EISDIR: "BadResource",
  ENOTDIR: "NotFound"
}

/**
 * Download a blob to `path`, verified against its digest (and size) as it streams: nothing is
 * buffered, and `path` only ever holds the whole, verified blob (written to a temporary file next
 * to it, renamed when done, removed on any failure or interruption). Typed errors: the
 * `RegistryError`s of `Registry.getBlob` (`NotFound`, `DigestMismatch`, …) and `PlatformError`
 * from the file system. Hashing uses `node:crypto`.
 *
 * @example
 * ```ts
 * import * as Image from "@ocireg/core/Image"
 * import * as NodeBlob from "@ocireg/platform-node/NodeBlob"
 * import * as Effect from "effect/Effect"
 *
 * export const firstLayer = Effect.gen(function*() {
 *   const image = yield* Image.resolve("ghcr.io/owner/app:1.0", { platform: "linux/arm64" })
 *   return yield* NodeBlob.downloadBlob(image.reference, image.layers[0]!, "/tmp/layer.tar.gz")
 * })
 * ```
 *
 * @since 0.2.0
 * @category downloading
 */
export const downloadBlob = <R = never>(
  reference: Registry.ReferenceInput,
  descriptor: { readonly digest: string; readonly size: number },
  path: string,
  options: DownloadOptions<R> = {}
): Effect.Effect<DownloadResult, RegistryError | PlatformError.PlatformError, RegistryClient | R> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const target = Path.resolve(path)
    const temporary = Path.join(
      Path.dirname(target),
      `.${Path.basename(target)}.${Crypto.randomBytes(6).toString("hex")}.partial`
    )
    const digest = yield* Digest.parse(descriptor.digest)
    const bytes = Registry.getBlob(reference, { digest, size: descriptor.size }).pipe(
      Image.reportDownload({ digest, size: descriptor.size }, options.onEvent)
    )
    const systemError = (method: string) => (cause: unknown) =>
      new PlatformError.SystemError({
        reason: errnoReasons[(cause as { code?: string }).code ?? ""] ?? "Unknown",
        module: "FileSystem",
        method,
        pathOrDescriptor: temporary,
        description: cause instanceof Error ? cause.message : String(cause),
        cause
      })
    // written through a queue of up to 4 MiB (writes overlap the download and go out as writev):
    // FileSystem.sink waited for each write, and a 1 GiB download cost 12.8 s of CPU instead of ~3
    const written = Effect.acquireUseRelease(
      Effect.tryPromise({
        try: () => FsPromises.open(temporary, "wx", options.mode ?? 0o644),
        catch: systemError("open")
      }),
      (handle) =>
        Effect.acquireUseRelease(
          Effect.sync(() => queuedWriter(handle, systemError("write"))),
          (writer) => Stream.runForEachChunk(bytes, writer.write).pipe(Effect.zipRight(writer.end)),
          (writer) => writer.release
        ),
      (handle) => Effect.promise(() => handle.close().catch(() => undefined))
    )
    yield* written.pipe(
      Effect.zipRight(fs.rename(temporary, target)),
      Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : Effect.ignore(fs.remove(temporary)))
    )
    return { path: target, digest: descriptor.digest, size: descriptor.size }
  }).pipe(
    Effect.provide([NodeFileSystem.layer, NodeHasher.layer]),
    Effect.withSpan("NodeBlob.downloadBlob", { attributes: { "blob.digest": descriptor.digest } })
  )
