/**
 * `ocireg append` and `ocireg mutate` (crane append / mutate, regctl image mod), on
 * `ImageMutate`: add layers from tar files, and set config fields and annotations, pushing the
 * result under the same tag or `-t`.
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ImageMutate from "@ocireg/core/ImageMutate"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Path from "node:path"
import * as NodeBlobSource from "../../NodeBlobSource.js"
import { clientLayer, root } from "./global.js"
import { result, UsageError } from "./output.js"
import * as Progress from "./progress.js"

/** Bad values and a missing tag are usage errors (exit 2); the rest keep their own tag. */
const asUsage = (error: ImageMutate.ImageMutateError) =>
  error.reason === "MissingTag" || error.reason === "BadValue"
    ? new UsageError({ message: error.message })
    : error

const show = (made: ImageMutate.MutateResult) => [
  `${made.reference}: ${made.digest}`,
  ...(made.images.length > 1 ? made.images.map((i) => `  ${i.platform ?? "?"} ${i.digest}`) : [])
]

const created = Options.text("created").pipe(
  Options.optional,
  Options.withDescription("the creation time to record (RFC 3339, e.g. 2026-01-01T00:00:00Z)")
)

// ---------------------------------------------------------------------------------------------
// append
// ---------------------------------------------------------------------------------------------

/** `ocireg append` */
export const append = Command.make("append", {
  base: Options.text("base").pipe(
    Options.withAlias("b"),
    Options.withDefault(ImageMutate.scratch),
    Options.withDescription("the image to add layers to (default scratch: an image of only these layers)")
  ),
  newTag: Options.text("new-tag").pipe(
    Options.withAlias("t"),
    Options.withDescription("where to push the result, e.g. ghcr.io/owner/app:v2")
  ),
  file: Options.file("file", { exists: "yes" }).pipe(
    Options.withAlias("f"),
    Options.atLeast(1),
    Options.withDescription("a layer: a tar file, gzip-compressed or not (repeatable, bottom layer first)")
  ),
  scratchFormat: Options.choice("scratch-format", ["oci", "docker"]).pipe(
    Options.withDefault("oci" as const),
    Options.withDescription("the manifest flavour of an image made on scratch")
  ),
  created
}, (args) =>
  Effect.gen(function*() {
    const global = yield* root
    const progress = Progress.make(!global.json)
    // one read measures a file (digest, gzip or not, diff_id); the upload is the second
    const layers = yield* Effect.forEach(args.file, (path) =>
      Effect.gen(function*() {
        const info = yield* ImageMutate.measureLayer(() => NodeBlobSource.readFile(path), path)
        const source = yield* NodeBlobSource.fromFile(path, { digest: info.digest, size: info.size })
        return { source, info, history: { created_by: `ocireg append -f ${Path.basename(path)}` } }
      }).pipe(Effect.catchTag("ImageMutateError", (e) => Effect.fail(asUsage(e)))))
    const made = yield* ImageMutate.append(args.base, args.newTag, layers, {
      platform: Option.getOrUndefined(global.platform),
      scratchFormat: args.scratchFormat,
      created: Option.getOrUndefined(args.created),
      onEvent: progress.onEvent
    }).pipe(
      Effect.catchTag("ImageMutateError", (e) => Effect.fail(asUsage(e))),
      Effect.ensuring(progress.stop),
      Effect.provide(clientLayer(global, [args.newTag, ...(args.base === ImageMutate.scratch ? [] : [args.base])]))
    )
    yield* result(global.json, made, () => show(made))
  })).pipe(Command.withDescription("add layers from tar files on top of an image and push it (crane append)"))

// ---------------------------------------------------------------------------------------------
// mutate
// ---------------------------------------------------------------------------------------------

const pairs = (name: string, alias: string | undefined, description: string) => {
  const option = Options.text(name).pipe(Options.repeated, Options.withDescription(description))
  return alias === undefined ? option : Options.withAlias(option, alias)
}

/** `KEY=VALUE` arguments, in order (the value may hold `=`). */
const parsePairs = (flag: string, values: ReadonlyArray<string>) =>
  Effect.forEach(values, (value) => {
    const eq = value.indexOf("=")
    return eq <= 0
      ? Effect.fail(new UsageError({ message: `--${flag} ${value}: want KEY=VALUE` }))
      : Effect.succeed([value.slice(0, eq), value.slice(eq + 1)] as const)
  }).pipe(Effect.map((entries) => entries.length === 0 ? undefined : Object.fromEntries(entries)))

/**
 * A command line as crane takes it: comma-separated (`sh,-c,echo hi`), or a JSON array
 * (`["sh","-c","echo a,b"]`) when an argument holds a comma; an empty value clears it.
 */
const parseArgv = (flag: string, value: Option.Option<string>) =>
  Option.match(value, {
    onNone: () => Effect.succeed(undefined),
    onSome: (text) => {
      if (text.trim() === "") return Effect.succeed([] as ReadonlyArray<string>)
      if (!text.trimStart().startsWith("[")) return Effect.succeed(text.split(",") as ReadonlyArray<string>)
      return Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: () => new UsageError({ message: `--${flag}: not a JSON array` })
      }).pipe(Effect.filterOrFail(
        (v): v is ReadonlyArray<string> => Array.isArray(v) && v.every((s) => typeof s === "string"),
        () => new UsageError({ message: `--${flag}: want a JSON array of strings` })
      ))
    }
  })

/** `ocireg mutate` */
export const mutate = Command.make("mutate", {
  reference: Args.text({ name: "reference" }).pipe(Args.withDescription("the image or index to change, by tag")),
  label: pairs("label", "l", "KEY=VALUE label of the config (repeatable)"),
  annotation: pairs("annotation", "a", "KEY=VALUE annotation of the manifest (repeatable; OCI manifests)"),
  env: pairs("env", "e", "NAME=VALUE environment variable; replaces one of the same name (repeatable)"),
  entrypoint: Options.text("entrypoint").pipe(
    Options.optional,
    Options.withDescription("the entrypoint: comma-separated, or a JSON array; empty clears it")
  ),
  cmd: Options.text("cmd").pipe(
    Options.optional,
    Options.withDescription("the command: comma-separated, or a JSON array; empty clears it")
  ),
  user: Options.text("user").pipe(Options.optional, Options.withDescription("the user (name, uid or uid:gid)")),
  workdir: Options.text("workdir").pipe(
    Options.withAlias("w"),
    Options.optional,
    Options.withDescription("the working directory")
  ),
  exposedPorts: Options.text("exposed-ports").pipe(
    Options.repeated,
    Options.withDescription("ports to expose: 80, 80/tcp, 53/udp (repeatable or comma-separated)")
  ),
  created,
  tag: Options.text("tag").pipe(
    Options.withAlias("t"),
    Options.optional,
    Options.withDescription("push the result here instead of over the reference")
  )
}, (args) =>
  Effect.gen(function*() {
    const global = yield* root
    const changes: ImageMutate.Changes = {
      labels: yield* parsePairs("label", args.label),
      annotations: yield* parsePairs("annotation", args.annotation),
      env: yield* parsePairs("env", args.env),
      entrypoint: yield* parseArgv("entrypoint", args.entrypoint),
      cmd: yield* parseArgv("cmd", args.cmd),
      user: Option.getOrUndefined(args.user),
      workdir: Option.getOrUndefined(args.workdir),
      exposedPorts: args.exposedPorts.length === 0
        ? undefined
        : args.exposedPorts.flatMap((p) => p.split(",")).filter((p) => p !== ""),
      created: Option.getOrUndefined(args.created)
    }
    if (Object.values(changes).every((v) => v === undefined)) {
      return yield* new UsageError({ message: "nothing to change: give --label, --env, --cmd, ... (see --help)" })
    }
    const target = Option.getOrUndefined(args.tag)
    const progress = Progress.make(!global.json)
    const made = yield* ImageMutate.mutate(args.reference, changes, {
      target,
      platform: Option.getOrUndefined(global.platform),
      onEvent: progress.onEvent
    }).pipe(
      Effect.catchTag("ImageMutateError", (e) => Effect.fail(asUsage(e))),
      Effect.ensuring(progress.stop),
      Effect.provide(clientLayer(global, [args.reference, ...(target === undefined ? [] : [target])]))
    )
    yield* result(global.json, made, () => show(made))
  })).pipe(
    Command.withDescription("set labels, annotations, env, entrypoint, cmd, user, ... of an image (crane mutate)")
  )
