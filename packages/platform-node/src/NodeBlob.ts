/**
 * Blobs to files on Node: `downloadBlob` streams a verified blob to a path, atomically (a
 * temporary file in the same directory, renamed into place only when every byte matched the
 * digest), with the registry's errors and the file system's (`PlatformError`) both typed.
 *
 * @since 0.2.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import type * as PlatformError from "@effect/platform/Error"
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
import * as Path from "node:path"
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
    yield* Effect.acquireUseRelease(
      Effect.succeed(temporary),
      (file) =>
        Stream.run(bytes, fs.sink(file, { flag: "wx", mode: options.mode ?? 0o644 })).pipe(
          Effect.zipRight(fs.rename(file, target))
        ),
      (file, exit) => Exit.isSuccess(exit) ? Effect.void : Effect.ignore(fs.remove(file))
    )
    return { path: target, digest: descriptor.digest, size: descriptor.size }
  }).pipe(
    Effect.provide([NodeFileSystem.layer, NodeHasher.layer]),
    Effect.withSpan("NodeBlob.downloadBlob", { attributes: { "blob.digest": descriptor.digest } })
  )
