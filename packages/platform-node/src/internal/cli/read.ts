/**
 * Read-only subcommands: ping, tags, catalog, manifest, digest, config, blob, inspect, referrers.
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Image from "@ocireg/core/Image"
import * as Manifest from "@ocireg/core/Manifest"
import * as Reference from "@ocireg/core/Reference"
import * as Registry from "@ocireg/core/Registry"
import * as Tags from "@ocireg/core/Tags"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as FsP from "node:fs/promises"
import * as Path from "node:path"
import { removeQuietly, removeStaleTemporaries } from "../ociLayoutFs.js"
import { temporaryFile } from "../ociLayoutPaths.js"
import { clientLayer, root } from "./global.js"
import { bytes, formatOption, output as printOutput, result, UsageError } from "./output.js"

const reference = Args.text({ name: "reference" }).pipe(
  Args.withDescription("an image reference, e.g. ghcr.io/owner/app:tag")
)
const registryHost = Args.text({ name: "registry" }).pipe(Args.withDescription("a registry host, e.g. ghcr.io"))

/** The platform the global `--platform` asks for, when it was given. */
const platformOf = (platform: Option.Option<string>) => Option.getOrUndefined(platform)

const ping = Command.make("ping", { registry: registryHost }, ({ registry }) =>
  Effect.gen(function*() {
    const global = yield* root
    const pong = yield* Registry.ping(registry).pipe(Effect.provide(clientLayer(global, [registry])))
    const apiVersion = Option.getOrElse(pong.apiVersion, () => "unknown")
    yield* result(global.json, { registry, apiVersion }, () => [`${registry}: ok (${apiVersion})`])
  })).pipe(Command.withDescription("check that a registry speaks the OCI distribution API"))

const include = Options.text("include").pipe(
  Options.repeated,
  Options.withDescription("keep only tags this regular expression matches (repeatable: all must match)")
)
const exclude = Options.text("exclude").pipe(
  Options.repeated,
  Options.withDescription("drop tags this regular expression matches (repeatable)")
)
const sort = Options.choice("sort", ["semver", "date", "lexical"]).pipe(
  Options.optional,
  Options.withDescription("order: semver (non-versions last), date (image created time, reads configs), lexical")
)
const reverse = Options.boolean("reverse").pipe(Options.withDescription("reverse the order"))
const dateLimit = Options.integer("date-limit").pipe(
  Options.withDefault(100),
  Options.withDescription("--sort date reads at most this many configs; narrow with --include beyond it")
)

/** Compile user regexes, a bad one being a usage error. */
const patterns = (flag: string, sources: ReadonlyArray<string>) =>
  Effect.forEach(sources, (source) =>
    Effect.try({
      try: () => new RegExp(source),
      catch: () => new UsageError({ message: `--${flag}: not a regular expression: ${source}` })
    }))

const tags = Command.make(
  "tags",
  { repository: reference, include, exclude, sort, reverse, dateLimit, format: formatOption },
  (args) =>
    Effect.gen(function*() {
      const global = yield* root
      const layer = clientLayer(global, [args.repository])
      const all = yield* Registry.listAllTags(args.repository).pipe(Effect.provide(layer))
      const kept = Tags.filter(all, {
        include: yield* patterns("include", args.include),
        exclude: yield* patterns("exclude", args.exclude)
      })
      const order = Option.getOrUndefined(args.sort)
      const flip = <A>(list: ReadonlyArray<A>) => args.reverse ? [...list].reverse() : list
      if (order === "date") {
        if (kept.length > args.dateLimit) {
          return yield* new UsageError({
            message: `--sort date would read ${kept.length} image configs (--date-limit ${args.dateLimit}): ` +
              "narrow the tags with --include/--exclude or raise --date-limit"
          })
        }
        const dated = flip(Tags.sortByCreated(
          yield* Tags.withCreated(args.repository, kept, { platform: platformOf(global.platform) }).pipe(
            Effect.provide(layer)
          )
        ))
        return yield* printOutput(global, args.format, dated, () => dated.map((d) => d.tag), dated)
      }
      const sorted = flip(
        order === "semver" ? Tags.sortSemVer(kept) : order === "lexical" ? Tags.sortLexical(kept) : kept
      )
      yield* printOutput(global, args.format, sorted, () => sorted, sorted.map((tag) => ({ tag })))
    })
).pipe(Command.withDescription("list the tags of a repository, filtered and sorted if asked"))

const catalog = Command.make("catalog", { registry: registryHost }, ({ registry }) =>
  Effect.gen(function*() {
    const global = yield* root
    const all = yield* Registry.listAllRepositories(registry).pipe(Effect.provide(clientLayer(global, [registry])))
    yield* result(global.json, all, () => all)
  })).pipe(Command.withDescription("list the repositories of a registry"))

const manifest = Command.make(
  "manifest",
  { reference, format: formatOption },
  ({ format, reference }) =>
    Effect.gen(function*() {
      const global = yield* root
      const layer = clientLayer(global, [reference])
      const platform = platformOf(global.platform)
      const found = platform === undefined
        ? yield* Registry.getManifest(reference).pipe(Effect.provide(layer))
        : (yield* Image.resolve(reference, { platform }).pipe(Effect.provide(layer))).image
      if (Option.isSome(format)) {
        return yield* printOutput(global, format, JSON.parse(Buffer.from(found.bytes).toString("utf8")), () => [])
      }
      yield* Effect.sync(() => void process.stdout.write(found.bytes))
      if (process.stdout.isTTY) yield* Effect.sync(() => void process.stdout.write("\n"))
    })
).pipe(Command.withDescription("print a manifest's exact bytes (with --platform: that platform's image manifest)"))

const digest = Command.make("digest", { reference }, ({ reference }) =>
  Effect.gen(function*() {
    const global = yield* root
    const layer = clientLayer(global, [reference])
    const platform = platformOf(global.platform)
    const value = platform === undefined
      ? (yield* Registry.headManifest(reference).pipe(Effect.provide(layer))).digest
      : (yield* Image.resolve(reference, { platform }).pipe(Effect.provide(layer))).image.digest
    yield* result(global.json, { digest: value }, () => [value])
  })).pipe(Command.withDescription("print the digest a reference resolves to (a HEAD request: no pull counted)"))

const config = Command.make("config", { reference }, ({ reference }) =>
  Effect.gen(function*() {
    const global = yield* root
    const resolved = yield* Image.resolve(reference, { platform: platformOf(global.platform) }).pipe(
      Effect.provide(clientLayer(global, [reference]))
    )
    yield* Effect.sync(() => void process.stdout.write(resolved.configBytes))
    if (process.stdout.isTTY) yield* Effect.sync(() => void process.stdout.write("\n"))
  })).pipe(Command.withDescription("print the config blob of an image"))

const output = Options.file("output").pipe(
  Options.withAlias("o"),
  Options.optional,
  Options.withDescription("write to this file instead of standard output")
)

const blob = Command.make("blob", { reference, output }, ({ output, reference }) =>
  Effect.gen(function*() {
    const global = yield* root
    const ref = yield* Reference.parseEffect(reference)
    if (ref.digest === undefined) {
      return yield* new UsageError({ message: "blob needs a reference with a digest: repository@sha256:…" })
    }
    // -o writes a temporary next to the file and renames it once every byte is verified, so the
    // file never holds a partial or unverified blob (a failure or a kill leaves only the temporary)
    // (and the temporaries of this file that a killed run left go now)
    if (Option.isSome(output)) yield* removeStaleTemporaries(Path.dirname(output.value), [Path.basename(output.value)])
    const temporary = Option.map(output, (file) => temporaryFile(Path.dirname(file), Path.basename(file)))
    const target = Option.match(temporary, {
      onNone: () => process.stdout,
      // a 16 KiB high-water mark made every 64 KiB chunk wait for its own write (and the body
      // meanwhile piled up and was copied together): 4 MiB lets writes queue and go as writev
      onSome: (file) => Fs.createWriteStream(file, { highWaterMark: 4 * 1024 * 1024, flags: "wx" })
    })
    const download = Effect.gen(function*() {
      yield* Registry.getBlob(ref, ref.digest!).pipe(
        Stream.runForEach((chunk) =>
          Effect.async<void>((resume) => {
            if (target.write(chunk)) resume(Effect.void)
            else target.once("drain", () => resume(Effect.void))
          })
        ),
        Effect.provide(clientLayer(global, [reference]))
      )
      if (Option.isSome(output) && Option.isSome(temporary)) {
        yield* Effect.async<void>((resume) => void target.end(() => resume(Effect.void)))
        yield* Effect.tryPromise(() => FsP.rename(temporary.value, output.value))
      }
    })
    yield* Option.isNone(temporary) ? download : download.pipe(
      Effect.onError(() =>
        Effect.zipRight(Effect.sync(() => (target as Fs.WriteStream).destroy()), removeQuietly(temporary.value))
      )
    )
  })).pipe(Command.withDescription("write a blob's verified bytes (repository@digest)"))

const inspect = Command.make(
  "inspect",
  { reference, format: formatOption },
  ({ format, reference }) =>
    Effect.gen(function*() {
      const global = yield* root
      const report = yield* Image.inspect(reference, { platform: platformOf(global.platform) }).pipe(
        Effect.provide(clientLayer(global, [reference]))
      )
      yield* printOutput(global, format, report, () => [
        `reference: ${report.reference}`,
        `digest:    ${report.digest}`,
        `type:      ${report.mediaType}`,
        ...(report.platforms.length > 0
          ? ["platforms:", ...report.platforms.map((p) => `  ${p.platform.padEnd(16)} ${p.digest}`)]
          : []),
        ...(report.image
          ? [
            `image:     ${report.image.platform} ${report.image.digest}`,
            `created:   ${report.image.created ?? "unknown"}`,
            `size:      ${bytes(report.image.totalSize)} in ${report.image.layers.length} layers`,
            ...report.image.layers.map((l) => `  ${l.digest} ${bytes(l.size).padStart(10)} ${l.mediaType}`)
          ]
          : [])
      ])
    })
).pipe(Command.withDescription("describe an image or index: digest, platforms, config, layers"))

const artifactType = Options.text("artifact-type").pipe(
  Options.optional,
  Options.withDescription("only referrers of this artifact type")
)

const referrers = Command.make(
  "referrers",
  { reference, artifactType, format: formatOption },
  ({ artifactType, format, reference }) =>
    Effect.gen(function*() {
      const global = yield* root
      const layer = clientLayer(global, [reference])
      let ref = yield* Reference.parseEffect(reference)
      if (ref.digest === undefined) {
        const head = yield* Registry.headManifest(ref).pipe(Effect.provide(layer))
        ref = Reference.withDigest(ref, head.digest)
      }
      const found = yield* Registry.getReferrers(ref, { artifactType: Option.getOrUndefined(artifactType) }).pipe(
        Effect.provide(layer)
      )
      yield* printOutput(global, format, found, () =>
        found.map((d) =>
          `${d.digest} ${d.artifactType ?? d.mediaType} ${
            Manifest.platformOf(d).pipe(Option.getOrElse(() => ""))
          }`.trim()
        ), found)
    })
).pipe(Command.withDescription("list the manifests that refer to an image (signatures, SBOMs)"))

const ratelimit = Command.make("ratelimit", { reference }, ({ reference }) =>
  Effect.gen(function*() {
    const global = yield* root
    const found = yield* Registry.rateLimit(reference).pipe(Effect.provide(clientLayer(global, [reference])))
    const limit = Option.getOrUndefined(found)
    const value = {
      reference,
      limited: limit !== undefined,
      ...(limit?.limit !== undefined ? { limit: limit.limit } : {}),
      ...(limit?.remaining !== undefined ? { remaining: limit.remaining } : {}),
      ...(limit?.windowSeconds !== undefined ? { windowSeconds: limit.windowSeconds } : {})
    }
    yield* result(global.json, value, () =>
      limit === undefined
        ? [`${reference}: no rate limit announced`]
        : [
          `${reference}: ${limit.remaining ?? "?"} of ${limit.limit ?? "?"} pulls left` +
          (limit.windowSeconds !== undefined ? ` per ${limit.windowSeconds} s` : "")
        ])
  })).pipe(
    Command.withDescription("show Docker Hub's pull allowance (RateLimit-* headers of a HEAD: no pull counted)")
  )

/** The read-only subcommands. */
export const commands = [ping, tags, catalog, manifest, digest, config, blob, inspect, referrers, ratelimit] as const
