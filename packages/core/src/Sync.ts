/**
 * Mirror repositories (skopeo sync, regsync): for each source repository, the tags that pass its
 * filters are copied to the target repository with `Image.copy`, except the tags whose target
 * already names the same digest (one `HEAD` on each side decides, so a second run moves nothing).
 * A dry run only reports what would be copied. One failing tag is reported and the rest go on.
 *
 * A mapping of `type: "registry"` mirrors a whole registry (skopeo `sync --all`, regsync's
 * `type: registry`): its repositories come from the catalog (`GET /v2/_catalog`, every page),
 * filtered by `repositories` include/exclude patterns, each mirrored to the same name under the
 * target (`host` or `host/prefix`). Registries without a catalog (Docker Hub, GHCR, most cloud
 * registries) fail with `CatalogUnavailable` instead of a bare 401/403/404.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Digest from "./Digest.js"
import * as Image from "./Image.js"
import * as Reference from "./Reference.js"
import * as Registry from "./Registry.js"
import type { RegistryClient } from "./RegistryClient.js"
import type { RegistryError } from "./RegistryError.js"
import * as Tags from "./Tags.js"

/**
 * What to mirror. `type: "repository"` (the default): `source` and `target` are `host/repository`.
 * `type: "registry"`: `source` is a registry host, `target` a host or `host/prefix`, and every
 * repository the source's catalog lists (and `repositories` keeps) is mirrored under the target
 * with the same name.
 *
 * @since 0.1.0
 * @category models
 */
export interface Mapping {
  readonly type?: "repository" | "registry" | undefined
  readonly source: string
  readonly target: string
  /** Which tags of each repository. */
  readonly tags?: Tags.FilterOptions | undefined
  /** `type: "registry"`: which repositories of the catalog (the same pattern rules as tags). */
  readonly repositories?: Tags.FilterOptions | undefined
}

/**
 * A registry cannot list its repositories: `GET /v2/_catalog` was refused or is not served
 * (Docker Hub and GHCR have no catalog; many registries give it to administrators only), so a
 * whole-registry sync has nothing to go on. Name the repositories one by one instead.
 *
 * @since 0.1.0
 * @category errors
 */
export class CatalogUnavailable extends Schema.TaggedError<CatalogUnavailable>()("CatalogUnavailable", {
  registry: Schema.String,
  /** The refusal: the registry error's tag and status. */
  detail: Schema.String
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `${this.registry} does not list its repositories (GET /v2/_catalog: ${this.detail}); ` +
      "Docker Hub and GHCR have no catalog and many registries keep it for administrators: " +
      "sync its repositories one by one (source: host/repository)"
  }
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
  /** Told when a repository starts, with the number of its tags that passed the filters. */
  readonly onRepository?: ((start: RepositoryStart) => Effect.Effect<void>) | undefined
}

/**
 * A repository about to be mirrored.
 *
 * @since 0.1.0
 * @category models
 */
export interface RepositoryStart {
  readonly source: string
  readonly target: string
  readonly tags: number
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

/**
 * The target's digest for a tag, or None when it has none. Docker Hub (and GHCR, Harbor) answer a
 * repository that does not exist yet with 401 insufficient_scope to a pull token
 * (`NotFoundOrDenied`; docker/hub-feedback#1771): that is "not there" too, and the copy that
 * follows asks for push access and says so if it is really refused.
 */
const headDigest = (ref: Reference.Reference) =>
  Registry.headManifest(ref).pipe(
    Effect.map((head) => Option.some(head.digest)),
    Effect.catchIf(
      (error) =>
        error._tag === "NotFound" || (error._tag === "AuthorizationError" && error.reason === "NotFoundOrDenied"),
      () => Effect.succeedNone
    )
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

/** How a refused catalog is told from other failures: these statuses mean "no catalog for you". */
const catalogRefusal = (error: RegistryError): Option.Option<string> => {
  switch (error._tag) {
    case "NotFound":
      return Option.some("404 Not Found")
    case "AuthorizationError":
      // 403, or a token without registry:catalog:* (401 insufficient_scope)
      return Option.some(error.reason === "InsufficientScope" ? "insufficient scope" : "access denied")
    case "RegistryResponseError":
      return [400, 403, 404, 405, 501].includes(error.status)
        ? Option.some(`${error.status}${error.errors.length > 0 ? ` ${error.errors[0]!.code}` : ""}`)
        : Option.none()
    default:
      return Option.none()
  }
}

/**
 * The repositories of a registry as `listAllRepositories` gives them, filtered, with a refused
 * catalog as `CatalogUnavailable`.
 *
 * @since 0.1.0
 * @category syncing
 */
export const catalog = (
  registry: string,
  filter: Tags.FilterOptions = {}
): Effect.Effect<ReadonlyArray<string>, RegistryError | CatalogUnavailable, RegistryClient> =>
  Registry.listAllRepositories(registry).pipe(
    Effect.catchIf(
      (error) => Option.isSome(catalogRefusal(error)),
      (error) =>
        Effect.fail(
          new CatalogUnavailable({ registry, detail: Option.getOrElse(catalogRefusal(error), () => error._tag) })
        )
    ),
    Effect.map((repositories) => Tags.filter(repositories, filter)),
    Effect.withSpan("Sync.catalog", { attributes: { "registry.host": registry } })
  )

/** The repository pairs a mapping stands for (a registry mapping: one per catalog entry). */
const expand = (mapping: Mapping) =>
  Effect.gen(function*() {
    if (mapping.type !== "registry") {
      return [{
        source: yield* Reference.parseEffect(mapping.source),
        target: yield* Reference.parseEffect(mapping.target),
        tags: mapping.tags
      }]
    }
    const sourceHost = mapping.source.replace(/\/+$/, "")
    const targetBase = mapping.target.replace(/\/+$/, "")
    const repositories = yield* catalog(sourceHost, mapping.repositories)
    return yield* Effect.forEach(repositories, (repository) =>
      Effect.gen(function*() {
        return {
          source: yield* Reference.parseEffect(`${sourceHost}/${repository}`),
          target: yield* Reference.parseEffect(`${targetBase}/${repository}`),
          tags: mapping.tags
        }
      }))
  })

/**
 * Mirror each mapping's filtered tags. Listing a source repository's tags (or a registry's
 * catalog) failing fails the sync (nothing to go on); a tag that fails is counted and reported in
 * `outcomes`.
 *
 * @since 0.1.0
 * @category syncing
 */
export const run = (
  mappings: ReadonlyArray<Mapping>,
  options: Options = {}
): Effect.Effect<Summary, RegistryError | CatalogUnavailable, RegistryClient | Digest.Hasher> =>
  Effect.gen(function*() {
    const outcomes: Array<TagOutcome> = []
    const bytes = { total: 0 }
    const pairs = (yield* Effect.forEach(mappings, expand)).flat()
    for (const { source, target, tags: filter } of pairs) {
      const tags = Tags.filter(yield* Registry.listAllTags(source), filter ?? {})
      if (options.onRepository) {
        yield* options.onRepository({
          source: Reference.format(source),
          target: Reference.format(target),
          tags: tags.length
        })
      }
      outcomes.push(
        ...yield* Effect.forEach(tags, (tag) => syncTag(source, target, tag, options, bytes), {
          concurrency: options.tagConcurrency ?? 2
        })
      )
    }
    const count = (action: TagOutcome["action"]) => outcomes.filter((o) => o.action === action).length
    return {
      repositories: pairs.length,
      tags: outcomes.length,
      copied: count("copied"),
      skipped: count("skipped"),
      planned: count("planned"),
      failed: count("failed"),
      bytesUploaded: bytes.total,
      outcomes
    } satisfies Summary
  }).pipe(Effect.withSpan("Sync.run", { attributes: { "sync.repositories": mappings.length } }))
