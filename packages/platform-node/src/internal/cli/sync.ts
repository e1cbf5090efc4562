/**
 * `ocireg sync CONFIG.yaml`: mirror repositories (skopeo sync, regsync) as a YAML file says, on
 * `Sync.run`. The file:
 *
 * ```yaml
 * defaults:                 # optional: tag filters for every entry without its own
 *   tags: { include: ["^v"], exclude: ["-rc"] }
 * sync:
 *   - source: docker.io/library/alpine
 *     target: registry.example/mirror/alpine
 *     tags: { include: ["^3\\."] }
 *   - type: registry          # a whole registry, from its catalog (skopeo sync --all)
 *     source: old.example
 *     target: new.example/old   # each repository under this prefix, same name
 *     repositories: { include: ["^team/"], exclude: ["-test$"] }
 * pathPrefix:               # optional: registries whose API lives under a path (as --path-prefix)
 *   art.example.com: /artifactory/api/docker/docker-local
 * ```
 *
 * On a terminal, a line per repository shows its tags done; nothing when stdout is not a TTY.
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Sync from "@ocireg/core/Sync"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as FsPromises from "node:fs/promises"
import { clientLayer, parsePathPrefixes, root } from "./global.js"
import { bytes, result, UsageError } from "./output.js"
import * as SyncProgress from "./syncProgress.js"

const TagFilter = Schema.Struct({
  include: Schema.optional(Schema.Array(Schema.String)),
  exclude: Schema.optional(Schema.Array(Schema.String))
})

const SyncFile = Schema.Struct({
  pathPrefix: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  defaults: Schema.optional(Schema.Struct({ tags: Schema.optional(TagFilter) })),
  sync: Schema.Array(Schema.Struct({
    type: Schema.optional(Schema.Literal("repository", "registry")),
    source: Schema.String,
    target: Schema.String,
    tags: Schema.optional(TagFilter),
    repositories: Schema.optional(TagFilter)
  }))
})

/** Read and check a sync file; every problem is a usage error naming the file. */
export const readSyncFile = (file: string) =>
  Effect.gen(function*() {
    const text = yield* Effect.tryPromise({
      try: () => FsPromises.readFile(file, "utf8"),
      catch: () => new UsageError({ message: `cannot read ${file}` })
    })
    // loaded here, not with the CLI: only `sync --file` reads YAML
    const Yaml = yield* Effect.promise(() => import("yaml"))
    const parsed = yield* Effect.try({
      try: () => Yaml.parse(text) as unknown,
      catch: (e) => new UsageError({ message: `${file}: ${e instanceof Error ? e.message : "not YAML"}` })
    })
    const config = yield* Schema.decodeUnknown(SyncFile)(parsed).pipe(
      Effect.mapError((e) => new UsageError({ message: `${file}: ${e.message}` }))
    )
    const pathPrefix = yield* Either.match(
      parsePathPrefixes(Object.entries(config.pathPrefix ?? {}).map(([host, prefix]) => `${host}=${prefix}`)),
      {
        onLeft: (message) => Effect.fail(new UsageError({ message: `${file}: pathPrefix: ${message}` })),
        onRight: Effect.succeed
      }
    )
    const mappings = yield* Effect.forEach(config.sync, (entry) =>
      Effect.gen(function*() {
        const tags = entry.tags ?? config.defaults?.tags ?? {}
        const repositories = entry.repositories ?? {}
        if (entry.type !== "registry" && entry.repositories !== undefined) {
          return yield* new UsageError({ message: `${file}: repositories filters need type: registry` })
        }
        if (entry.type === "registry" && entry.source.includes("/")) {
          return yield* new UsageError({
            message: `${file}: a registry source is a host (name[:port]), not ${entry.source}`
          })
        }
        for (
          const pattern of [
            ...(tags.include ?? []),
            ...(tags.exclude ?? []),
            ...(repositories.include ?? []),
            ...(repositories.exclude ?? [])
          ]
        ) {
          yield* Effect.try({
            try: () => new RegExp(pattern),
            catch: () => new UsageError({ message: `${file}: not a regular expression: ${pattern}` })
          })
        }
        return {
          type: entry.type ?? "repository",
          source: entry.source,
          target: entry.target,
          tags,
          ...(entry.type === "registry" ? { repositories } : {})
        } satisfies Sync.Mapping
      }))
    return { mappings, pathPrefix }
  })

/** `ocireg sync` */
export const sync = Command.make("sync", {
  config: Args.file({ name: "config.yaml", exists: "yes" }).pipe(
    Args.withDescription("the YAML file of source → target repositories and tag filters")
  ),
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("say what would be copied; copy nothing")),
  jobs: Options.integer("jobs").pipe(
    Options.withAlias("j"),
    Options.withDefault(4),
    Options.withDescription("blobs transferred at the same time")
  )
}, (args) =>
  Effect.gen(function*() {
    const options = yield* root
    const file = yield* readSyncFile(args.config)
    const mappings = file.mappings
    // the file's path prefixes, and the command line's over them
    const global = { ...options, pathPrefix: { ...file.pathPrefix, ...options.pathPrefix } }
    const hosts = mappings.flatMap((m) =>
      m.type === "registry" ? [m.source, m.target.split("/")[0]!] : [m.source, m.target]
    )
    const progress = SyncProgress.make(!global.json && process.stdout.isTTY === true)
    const log = (outcome: Sync.TagOutcome) =>
      global.json || outcome.action === "skipped"
        ? progress.onTag(outcome)
        : progress.above(
          `${outcome.action} ${outcome.source} -> ${outcome.target}${outcome.error ? `: ${outcome.error}` : ""}`
        ).pipe(Effect.zipRight(progress.onTag(outcome)))
    const summary = yield* Sync.run(mappings, {
      dryRun: args.dryRun,
      concurrency: args.jobs,
      onTag: log,
      onRepository: progress.onRepository
    }).pipe(Effect.ensuring(progress.stop), Effect.provide(clientLayer(global, hosts)))
    yield* result(global.json, summary, () => [
      `${summary.repositories} repositories, ${summary.tags} tags: ${summary.copied} copied ` +
      `(${bytes(summary.bytesUploaded)} uploaded), ${summary.skipped} already there, ` +
      `${summary.planned} to copy${args.dryRun ? " (dry run)" : ""}, ${summary.failed} failed`
    ])
    if (summary.failed > 0) {
      return yield* Effect.fail(new Error(`${summary.failed} tags failed to sync`))
    }
  })).pipe(
    Command.withDescription("mirror repositories as a YAML file says, skipping tags already there (skopeo sync)")
  )
