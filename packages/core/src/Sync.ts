/**
 * Mirror repositories (skopeo sync, regsync): for each source repository, the tags that pass its
 * filters are copied to the target repository with `Image.copy`, except the tags whose target
 * already names the same digest (one `HEAD` on each side decides, so a second run moves nothing).
 * A dry run only reports what would be copied. One failing tag is reported and the rest go on.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Digest from "./Digest.js"
import * as Image from "./Image.js"
import * as Reference from "./Reference.js"
import * as Registry from "./Registry.js"
import type { RegistryClient } from "./RegistryClient.js"
import type { RegistryError } from "./RegistryError.js"
import * as Tags from "./Tags.js"

/**
 * One repository to mirror: where from, where to, which tags.
 *
 * @since 0.1.0
 * @category models
 */
export interface Mapping {
  /** `host/repository` */
  readonly source: string
  /** `host/repository` */
  readonly target: string
  readonly tags?: Tags.FilterOptions | undefined
}

/**
 * Options of `run`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Image.CopyOptions {
  /** Report what would be copied; copy nothing. */
  readonly dryRun?: boolean | undefined
  /** Tags compared or copied at the same time (per repository). Default 2. */
  readonly tagConcurrency?: number | undefined
  /** Told of each tag's outcome as it is decided (for progress lines). */
  readonly onTag?: ((outcome: TagOutcome) => Effect.Effect<void>) | undefined
}

/**
 * What happened to one tag.
 *
 * @since 0.1.0
 * @category models
 */
export interface TagOutcome {
  readonly source: string
  readonly target: string
  readonly tag: string
  readonly action: "copied" | "skipped" | "planned" | "failed"
  readonly digest?: Digest.Digest | undefined
  /** For `failed`: the error's message. */
  readonly error?: string | undefined
}

/**
 * The summary of a sync.
 *
 * @since 0.1.0
 * @category models
 */
export interface Summary {
  readonly repositories: number
  readonly tags: number
  readonly copied: number
  readonly skipped: number
  readonly planned: number
  readonly failed: number
  readonly bytesUploaded: number
  readonly outcomes: ReadonlyArray<TagOutcome>
}

const headDigest = (ref: Reference.Reference) =>
  Registry.headManifest(ref).pipe(
    Effect.map((head) => Option.some(head.digest)),
    Effect.catchTag("NotFound", () => Effect.succeedNone)
  )

const syncTag = (
  source: Reference.Reference,
  target: Reference.Reference,
  tag: string,
  options: Options,
  bytes: { total: number }
) =>
  Effect.gen(function*() {
    const from = yield* Reference.make({ registry: source.registry, repository: source.repository, tag })
    const to = yield* Reference.make({ registry: target.registry, repository: target.repository, tag })
    const base = { source: Reference.format(from), target: Reference.format(to), tag }
    const digest = (yield* Registry.headManifest(from)).digest
    const existing = yield* headDigest(to)
    if (Option.isSome(existing) && existing.value === digest) {
      return { ...base, action: "skipped", digest } satisfies TagOutcome
    }
    if (options.dryRun) return { ...base, action: "planned", digest } satisfies TagOutcome
    const copied = yield* Image.copy(from, to, options)
    bytes.total += copied.bytesUploaded
    return { ...base, action: "copied", digest: copied.digest } satisfies TagOutcome
  }).pipe(
    Effect.catchAll((error) =>
      Effect.succeed(
        {
          source: `${Reference.format(source)}:${tag}`,
          target: `${Reference.format(target)}:${tag}`,
          tag,
          action: "failed",
          error: error.message
        } satisfies TagOutcome
      )
    ),
    Effect.tap((outcome) => options.onTag?.(outcome) ?? Effect.void)
  )

/**
 * Mirror each mapping's filtered tags. Listing a source repository's tags failing fails the
 * sync (nothing to go on); a tag that fails is counted and reported in `outcomes`.
 *
 * @since 0.1.0
 * @category syncing
 */
export const run = (
  mappings: ReadonlyArray<Mapping>,
  options: Options = {}
): Effect.Effect<Summary, RegistryError, RegistryClient | Digest.Hasher> =>
  Effect.gen(function*() {
    const outcomes: Array<TagOutcome> = []
    const bytes = { total: 0 }
    for (const mapping of mappings) {
      const source = yield* Reference.parseEffect(mapping.source)
      const target = yield* Reference.parseEffect(mapping.target)
      const tags = Tags.filter(yield* Registry.listAllTags(source), mapping.tags ?? {})
      outcomes.push(
        ...yield* Effect.forEach(tags, (tag) => syncTag(source, target, tag, options, bytes), {
          concurrency: options.tagConcurrency ?? 2
        })
      )
    }
    const count = (action: TagOutcome["action"]) => outcomes.filter((o) => o.action === action).length
    return {
      repositories: mappings.length,
      tags: outcomes.length,
      copied: count("copied"),
      skipped: count("skipped"),
      planned: count("planned"),
      failed: count("failed"),
      bytesUploaded: bytes.total,
      outcomes
    } satisfies Summary
  }).pipe(Effect.withSpan("Sync.run", { attributes: { "sync.repositories": mappings.length } }))
