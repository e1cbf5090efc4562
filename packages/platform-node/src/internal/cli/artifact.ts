/**
 * oras-style artifacts: `artifact push`, `artifact pull`, `attach`, `discover`, on `Artifact`.
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Artifact from "@ocireg/core/Artifact"
import * as Manifest from "@ocireg/core/Manifest"
import * as MediaType from "@ocireg/core/MediaType"
import * as Reference from "@ocireg/core/Reference"
import * as Registry from "@ocireg/core/Registry"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as FsPromises from "node:fs/promises"
import * as Path from "node:path"
import * as NodeBlobSource from "../../NodeBlobSource.js"
import { clientLayer, root } from "./global.js"
import { bytes, result, UsageError } from "./output.js"
import * as Progress from "./progress.js"

const artifactType = Options.text("artifact-type").pipe(
  Options.withDescription("the artifact's type, e.g. application/vnd.example.sbom+json")
)
const annotation = Options.keyValueMap("annotation").pipe(
  Options.optional,
  Options.withDescription("KEY=VALUE annotation of the manifest (repeatable)")
)
const files = Args.text({ name: "file[:mediatype]" }).pipe(
  Args.atLeast(1),
  Args.withDescription("a file to store as a layer, with its media type (default the OCI tar layer type)")
)

/** `path[:media/type]`: a media type always has a `/`, so the last `:` before one splits. */
const parseFileArg = (input: string) => {
  const colon = input.lastIndexOf(":")
  return colon > 0 && input.slice(colon + 1).includes("/")
    ? { path: input.slice(0, colon), mediaType: input.slice(colon + 1) }
    : { path: input, mediaType: MediaType.ociLayerTar }
}

const toFiles = (inputs: ReadonlyArray<string>) =>
  Effect.forEach(inputs, (input) =>
    Effect.gen(function*() {
      const { mediaType, path } = parseFileArg(input)
      const source = yield* NodeBlobSource.fromFile(path)
      return { source, mediaType, title: Path.basename(path) } satisfies Artifact.ArtifactFile<unknown>
    }))

const annotations = (value: Option.Option<HashMap.HashMap<string, string>>) =>
  Option.getOrUndefined(Option.map(value, (m) => Object.fromEntries(HashMap.toEntries(m))))

/** Push the command line's files as an artifact at `target`, with `Artifact.push` or `Artifact.attach`. */
const pushFiles = (
  global: Effect.Effect.Success<typeof root>,
  progress: ReturnType<typeof Progress.make>,
  args: {
    readonly files: ReadonlyArray<string>
    readonly artifactType: string
    readonly annotation: Option.Option<HashMap.HashMap<string, string>>
  },
  target: string,
  send: typeof Artifact.attach
) =>
  Effect.flatMap(toFiles(args.files), (list) =>
    send(target, {
      artifactType: args.artifactType,
      files: list,
      annotations: annotations(args.annotation)
    }, { onEvent: progress.onEvent })).pipe(
      Effect.ensuring(progress.stop),
      Effect.provide(clientLayer(global, [target]))
    )

const push = Command.make("push", {
  reference: Args.text({ name: "reference" }).pipe(Args.withDescription("where to push, e.g. ghcr.io/owner/sbom:v1")),
  artifactType,
  annotation,
  files
}, (args) =>
  Effect.gen(function*() {
    const global = yield* root
    const progress = Progress.make(!global.json)
    const pushed = yield* pushFiles(global, progress, args, args.reference, Artifact.push)
    const value = { reference: Reference.format(pushed.reference), digest: pushed.digest }
    yield* result(global.json, value, () => [`${value.reference}: ${pushed.digest}`])
  })).pipe(Command.withDescription("push files as an artifact (oras push)"))

const outputDir = Options.directory("output").pipe(
  Options.withAlias("o"),
  Options.withDefault("."),
  Options.withDescription("the directory to write the files to (default: the current one)")
)

/** A title is written as a file name in the output directory: nothing that climbs out of it. */
const safeTitle = (title: string | undefined) =>
  title !== undefined && title.length > 0 && title !== "." && title !== ".." && Path.basename(title) === title &&
  !title.includes("\\")

const pull = Command.make("pull", {
  reference: Args.text({ name: "reference" }).pipe(Args.withDescription("the artifact to pull")),
  output: outputDir
}, (args) =>
  Effect.gen(function*() {
    const global = yield* root
    const layer = clientLayer(global, [args.reference])
    const fetched = yield* Artifact.fetch(args.reference).pipe(Effect.provide(layer))
    for (const file of fetched.files) {
      if (!safeTitle(file.title)) {
        return yield* new UsageError({
          message: `layer ${file.descriptor.digest} has no usable title (${file.title ?? "none"}): not written`
        })
      }
    }
    yield* Effect.promise(() => FsPromises.mkdir(args.output, { recursive: true }))
    const written: Array<{ path: string; digest: string; size: number }> = []
    for (const file of fetched.files) {
      const target = Path.join(args.output, file.title!)
      const partial = `${target}.partial`
      const out = Fs.createWriteStream(partial)
      yield* Registry.getBlob(fetched.reference, file.descriptor).pipe(
        Stream.runForEach((chunk) =>
          Effect.async<void>((resume) => {
            if (out.write(chunk)) resume(Effect.void)
            else out.once("drain", () => resume(Effect.void))
          })
        ),
        Effect.zipRight(Effect.async<void>((resume) => void out.end(() => resume(Effect.void)))),
        Effect.zipRight(Effect.promise(() => FsPromises.rename(partial, target))),
        Effect.tapError(() => Effect.promise(() => FsPromises.rm(partial, { force: true }))),
        Effect.provide(layer)
      )
      written.push({ path: target, digest: file.descriptor.digest, size: file.descriptor.size })
    }
    const value = { digest: fetched.digest, artifactType: fetched.artifactType, files: written }
    yield* result(global.json, value, () => written.map((w) => `${w.path} ${bytes(w.size)} ${w.digest}`))
  })).pipe(Command.withDescription("write an artifact's files, by their titles, into a directory (oras pull)"))

/** `ocireg artifact …` */
export const artifact = Command.make("artifact").pipe(
  Command.withDescription("push and pull artifacts (oras style)"),
  Command.withSubcommands([push, pull])
)

/** `ocireg attach` */
export const attach = Command.make("attach", {
  subject: Options.text("subject").pipe(Options.withDescription("the image to attach to, by tag or digest")),
  artifactType,
  annotation,
  files
}, (args) =>
  Effect.gen(function*() {
    const global = yield* root
    const progress = Progress.make(!global.json)
    const pushed = yield* pushFiles(global, progress, args, args.subject, Artifact.attach)
    const value = {
      reference: Reference.format(pushed.reference),
      digest: pushed.digest,
      subject: Option.getOrUndefined(pushed.subject)
    }
    yield* result(global.json, value, () => [`${value.reference} attached to ${args.subject}`])
  })).pipe(Command.withDescription("attach files as an artifact that refers to an image (oras attach)"))

const describe = (d: Manifest.Descriptor) =>
  `${d.digest} ${d.artifactType ?? d.mediaType}${
    Option.match(Manifest.platformOf(d), { onNone: () => "", onSome: (p) => ` ${p}` })
  }`

const treeLines = (node: Artifact.ReferrerNode, prefix: string): ReadonlyArray<string> =>
  node.referrers.flatMap((child, i) => {
    const last = i === node.referrers.length - 1
    return [
      `${prefix}${last ? "└── " : "├── "}${describe(child.descriptor)}`,
      ...treeLines(child, `${prefix}${last ? "    " : "│   "}`)
    ]
  })

/** `ocireg discover` */
export const discover = Command.make("discover", {
  reference: Args.text({ name: "reference" }).pipe(Args.withDescription("the image whose referrers to show")),
  artifactType: Options.text("artifact-type").pipe(
    Options.optional,
    Options.withDescription("only direct referrers of this type")
  ),
  depth: Options.integer("depth").pipe(Options.withDefault(4), Options.withDescription("levels of referrers to follow"))
}, (args) =>
  Effect.gen(function*() {
    const global = yield* root
    const tree = yield* Artifact.discover(args.reference, {
      artifactType: Option.getOrUndefined(args.artifactType),
      depth: args.depth
    }).pipe(Effect.provide(clientLayer(global, [args.reference])))
    yield* result(global.json, tree, () => [`${args.reference}@${tree.descriptor.digest}`, ...treeLines(tree, "")])
  })).pipe(Command.withDescription("show the tree of artifacts that refer to an image (oras discover)"))
