/**
 * `pull --format docker-archive|oci-archive FILE.tar` and `push FILE.tar[:name] REF`: the CLI side
 * of `ImageArchive`, kept apart from the layout commands that call into it. `FILE.tar.gz` /
 * `FILE.tgz` (or `--compress`) writes a gzip-compressed archive; `push` tells gzip by its magic
 * bytes.
 *
 * @internal
 */
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Fs from "node:fs"
import * as ImageArchive from "../../ImageArchive.js"
import { clientLayer, type Global } from "./global.js"
import { bytes, result } from "./output.js"
import * as Progress from "./progress.js"

/** `pull --format`. */
export const pullFormat = Options.choice("format", ["oci-layout", "docker-archive", "oci-archive"]).pipe(
  Options.withDefault("oci-layout" as const),
  Options.withDescription("what to write: an OCI layout directory, or a docker-archive / oci-archive tarball")
)

/** `pull --compress`. */
export const pullCompress = Options.boolean("compress").pipe(
  Options.withDescription("gzip the archive (the default when FILE ends in .gz or .tgz)")
)

/** Pull into an archive file. */
export const pullArchive = (
  global: Global,
  args: {
    readonly reference: string
    readonly file: string
    readonly jobs: number
    readonly format: ImageArchive.Format
    readonly compress?: boolean | undefined
  }
) =>
  Effect.gen(function*() {
    const progress = Progress.make(!global.json)
    const written = yield* ImageArchive.pullToArchive(args.reference, args.file, {
      format: args.format,
      compress: args.compress === true || ImageArchive.gzipByName(args.file),
      platform: Option.getOrUndefined(global.platform),
      concurrency: args.jobs,
      onEvent: progress.onEvent
    }).pipe(Effect.ensuring(progress.stop), Effect.provide(clientLayer(global, [args.reference])))
    yield* result(global.json, written, () => [
      `${args.file} (${written.format}${written.compressed ? ", gzip" : ""}): ${written.digest}`,
      `${written.manifests} manifests, ${written.blobs} blobs (${bytes(written.bytes)}) verified and written`
    ])
  })

const isFile = (path: string) => {
  try {
    return Fs.statSync(path).isFile()
  } catch {
    return false
  }
}

/** `FILE` or `FILE:name` when FILE is a regular file (an archive to push), else None. */
export const archiveArgument = (input: string): Option.Option<{ readonly file: string; readonly name?: string }> => {
  if (isFile(input)) return Option.some({ file: input })
  const colon = input.lastIndexOf(":")
  if (colon > 0 && isFile(input.slice(0, colon))) {
    return Option.some({ file: input.slice(0, colon), name: input.slice(colon + 1) })
  }
  return Option.none()
}

/** Push an archive file. */
export const pushArchive = (
  global: Global,
  archive: { readonly file: string; readonly name?: string },
  reference: string,
  jobs: number
) =>
  Effect.gen(function*() {
    const progress = Progress.make(!global.json)
    const pushed = yield* ImageArchive.pushFromArchive(archive.file, reference, {
      name: archive.name,
      concurrency: jobs,
      onEvent: progress.onEvent
    }).pipe(Effect.ensuring(progress.stop), Effect.provide(clientLayer(global, [reference])))
    yield* result(global.json, pushed, () => [
      `${reference}: ${pushed.digest} (from a ${pushed.compressed ? "gzip-compressed " : ""}${pushed.format})`,
      `${pushed.manifests} manifests; blobs: ${pushed.blobs.uploaded} uploaded (${bytes(pushed.bytesUploaded)}), ` +
      `${pushed.blobs.existed} already there`
    ])
  })
