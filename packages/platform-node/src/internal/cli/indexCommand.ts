/**
 * `ocireg index create|add|remove`: multi-platform indexes from per-platform images (crane index
 * append, regctl index create/add/delete), on `ImageIndex`.
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ImageIndex from "@ocireg/core/ImageIndex"
import * as MediaType from "@ocireg/core/MediaType"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import { clientLayer, root } from "./global.js"
import { result, UsageError } from "./output.js"
import * as Progress from "./progress.js"

const target = Args.text({ name: "index" }).pipe(Args.withDescription("the index to write, e.g. ghcr.io/owner/app:v1"))
const sources = Args.text({ name: "image" }).pipe(
  Args.atLeast(1),
  Args.withDescription("images (platform read from their config) or indexes (children taken) to put in it")
)
const mediaType = Options.choice("media-type", ["oci", "docker"]).pipe(
  Options.optional,
  Options.withDescription("oci index or docker manifest list (default: docker only when every child is docker)")
)
const annotation = Options.keyValueMap("annotation").pipe(
  Options.optional,
  Options.withDescription("KEY=VALUE annotation of the index (repeatable; OCI indexes)")
)

const show = (made: ImageIndex.IndexResult) => [
  `${made.reference}: ${made.digest}`,
  ...made.manifests.map((d) =>
    `  ${
      d.platform ? [d.platform.os, d.platform.architecture, d.platform.variant].filter(Boolean).join("/") : "?"
    } ${d.digest}`
  )
]

const options = (args: {
  readonly mediaType: Option.Option<"oci" | "docker">
  readonly annotation: Option.Option<HashMap.HashMap<string, string>>
}): ImageIndex.Options => ({
  mediaType: Option.getOrUndefined(
    Option.map(args.mediaType, (m) => m === "docker" ? MediaType.dockerManifestList : MediaType.ociIndex)
  ),
  annotations: Option.getOrUndefined(Option.map(args.annotation, (m) => Object.fromEntries(HashMap.toEntries(m))))
})

const create = Command.make("create", { target, sources, mediaType, annotation }, (args) =>
  Effect.gen(function*() {
    const global = yield* root
    const progress = Progress.make(!global.json)
    const made = yield* ImageIndex.create(args.target, args.sources, { ...options(args), onEvent: progress.onEvent })
      .pipe(Effect.ensuring(progress.stop), Effect.provide(clientLayer(global, [args.target, ...args.sources])))
    yield* result(global.json, made, () => show(made))
  })).pipe(Command.withDescription("make a multi-platform index of images and push it"))

const add = Command.make("add", { target, sources, mediaType, annotation }, (args) =>
  Effect.gen(function*() {
    const global = yield* root
    const progress = Progress.make(!global.json)
    const made = yield* ImageIndex.add(args.target, args.sources, { ...options(args), onEvent: progress.onEvent })
      .pipe(Effect.ensuring(progress.stop), Effect.provide(clientLayer(global, [args.target, ...args.sources])))
    yield* result(global.json, made, () => show(made))
  })).pipe(Command.withDescription("add images to an index (replacing children of the same platform)"))

const child = Args.text({ name: "child" }).pipe(
  Args.withDescription("the child to drop: a platform (os/arch[/variant]) or a digest")
)

const remove = Command.make("remove", { target, child }, (args) =>
  Effect.gen(function*() {
    const global = yield* root
    const which = args.child.includes(":")
      ? { digest: args.child }
      : args.child.includes("/")
      ? { platform: args.child }
      : yield* new UsageError({ message: `${args.child} is neither a platform (os/arch) nor a digest` })
    const made = yield* ImageIndex.remove(args.target, which).pipe(Effect.provide(clientLayer(global, [args.target])))
    yield* result(global.json, made, () => show(made))
  })).pipe(Command.withDescription("remove a platform or digest from an index"))

/** `ocireg index …` */
export const index = Command.make("index").pipe(
  Command.withDescription("build and edit multi-platform indexes"),
  Command.withSubcommands([create, add, remove])
)
