/**
 * Subcommands between registries and OCI image layouts on disk: pull, push.
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as OciLayout from "../../OciLayout.js"
import * as Archive from "./archive.js"
import { clientLayer, root } from "./global.js"
import { bytes, result, UsageError } from "./output.js"
import * as Progress from "./progress.js"

const jobs = Options.integer("jobs").pipe(
  Options.withAlias("j"),
  Options.withDefault(4),
  Options.withDescription("blobs transferred at the same time")
)

const pull = Command.make("pull", {
  reference: Args.text({ name: "reference" }).pipe(Args.withDescription("the image or index to pull")),
  dir: Args.text({ name: "dir" }).pipe(
    Args.withDescription("the OCI layout directory (created if missing), or the archive file with --format")
  ),
  jobs,
  format: Archive.pullFormat,
  compress: Archive.pullCompress
}, (args) =>
  Effect.gen(function*() {
    const global = yield* root
    if (args.format !== "oci-layout") {
      return yield* Archive.pullArchive(global, { ...args, file: args.dir, format: args.format })
    }
    const progress = Progress.make(!global.json)
    const pulled = yield* OciLayout.pullToLayout(args.reference, args.dir, {
      platform: Option.getOrElse(global.platform, () => "all" as const),
      concurrency: args.jobs,
      onEvent: progress.onEvent
    }).pipe(Effect.ensuring(progress.stop), Effect.provide(clientLayer(global, [args.reference])))
    yield* result(global.json, pulled, () => [
      `${args.dir}:${pulled.tag ?? pulled.digest}: ${pulled.digest}`,
      `${pulled.manifests} manifests, ${pulled.blobs} blobs (${bytes(pulled.bytes)}) verified and written`
    ])
  })).pipe(
    Command.withDescription("pull an image (all platforms, or --platform) into an OCI layout, verifying digests")
  )

const digestSuffix = /^(.+?)(?::@|@|:)((?:sha256|sha512):[0-9a-f]+)$/

/**
 * `dir:ref` (as skopeo's `oci:` transport writes it; also `dir@digest`) split into the directory
 * and the ref. Without a ref, `ref` is `undefined`: the layout's only image (as skopeo and crane
 * read `oci:DIR`), never a guessed `latest`.
 */
export const splitLayoutRef = (input: string): { readonly dir: string; readonly ref: string | undefined } => {
  const digest = digestSuffix.exec(input)
  if (digest !== null) return { dir: digest[1]!, ref: digest[2]! }
  const colon = input.lastIndexOf(":")
  return colon > 0 && colon < input.length - 1 && !input.slice(colon + 1).includes("/")
    ? { dir: input.slice(0, colon), ref: input.slice(colon + 1) }
    : { dir: input, ref: undefined }
}

const push = Command.make("push", {
  layout: Args.text({ name: "dir[:tag]" }).pipe(
    Args.withDescription(
      "an OCI layout and the tag (or digest) in it (without one, the layout's only image), or a docker-archive / oci-archive file"
    )
  ),
  reference: Args.text({ name: "reference" }).pipe(
    Args.withDescription("where to push it, e.g. ghcr.io/owner/app:tag")
  ),
  jobs
}, (args) =>
  Effect.gen(function*() {
    const global = yield* root
    const archive = Archive.archiveArgument(args.layout)
    if (Option.isSome(archive)) return yield* Archive.pushArchive(global, archive.value, args.reference, args.jobs)
    const { dir, ref } = splitLayoutRef(args.layout)
    const progress = Progress.make(!global.json)
    const pushed = yield* OciLayout.pushFromLayout(dir, ref, args.reference, {
      concurrency: args.jobs,
      onEvent: progress.onEvent
    }).pipe(
      Effect.ensuring(progress.stop),
      Effect.catchIf(
        (error) => error._tag === "OciLayoutError" && error.reason === "AmbiguousRef",
        (error) =>
          Effect.fail(
            new UsageError({
              message: `${dir} holds several images; name one as ${dir}:REF or ${dir}@DIGEST ` +
                `(${(error as OciLayout.OciLayoutError).detail ?? ""})`
            })
          )
      ),
      Effect.provide(clientLayer(global, [args.reference]))
    )
    yield* result(global.json, pushed, () => [
      `${args.reference}: ${pushed.digest}`,
      `${pushed.manifests} manifests; blobs: ${pushed.blobs.uploaded} uploaded (${bytes(pushed.bytesUploaded)}), ` +
      `${pushed.blobs.existed} already there`
    ])
  })).pipe(Command.withDescription("push an image or index from an OCI layout, keeping its digests"))

/** The layout subcommands. */
export const commands = [pull, push] as const
