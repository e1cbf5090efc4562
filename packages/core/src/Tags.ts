/**
 * Choosing and ordering tags, as `regctl tag ls --include/--exclude` and `crane ls` users do:
 * regular-expression filters, semantic-version order (with the `v` prefixes and two-part versions
 * registries are full of), lexical order, and order by the image's `created` time (read from each
 * tag's config, so it costs requests: bounded and opt-in).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Digest from "./Digest.js"
import * as Image from "./Image.js"
import * as Reference from "./Reference.js"
import type * as Registry from "./Registry.js"
import type { RegistryClient } from "./RegistryClient.js"
import type { RegistryError } from "./RegistryError.js"

/**
 * Which tags to keep: every `include` pattern that is given must match somewhere in the tag (an
 * anchored pattern, `^v1\.`, matches whole prefixes), and no `exclude` pattern may.
 *
 * @since 0.1.0
 * @category models
 */
export interface FilterOptions {
  readonly include?: ReadonlyArray<RegExp | string> | undefined
  readonly exclude?: ReadonlyArray<RegExp | string> | undefined
}

const toRegExp = (pattern: RegExp | string): RegExp => typeof pattern === "string" ? new RegExp(pattern) : pattern

/**
 * Keep the tags that match every `include` pattern and no `exclude` pattern. A string pattern
 * that is not a valid regular expression throws a `SyntaxError` (check user input with
 * `new RegExp` first).
 *
 * @since 0.1.0
 * @category filtering
 */
export const filter = (tags: ReadonlyArray<string>, options: FilterOptions): ReadonlyArray<string> => {
  const include = (options.include ?? []).map(toRegExp)
  const exclude = (options.exclude ?? []).map(toRegExp)
  return tags.filter((tag) => include.every((re) => re.test(tag)) && !exclude.some((re) => re.test(tag)))
}

/**
 * A tag read as a semantic version: `1.2.3`, `v1.2.3-rc.1+build`, and the shorter `1.2` and `1`
 * that image tags often are (missing parts count as 0).
 *
 * @since 0.1.0
 * @category models
 */
export interface SemVer {
  readonly major: number
  readonly minor: number
  readonly patch: number
  readonly prerelease: ReadonlyArray<string | number>
}

const semverPattern =
  /^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/

/**
 * Read a tag as a semantic version, or `None`.
 *
 * @since 0.1.0
 * @category semver
 */
export const parseSemVer = (tag: string): Option.Option<SemVer> => {
  const m = semverPattern.exec(tag)
  if (m === null) return Option.none()
  return Option.some({
    major: Number(m[1]),
    minor: Number(m[2] ?? 0),
    patch: Number(m[3] ?? 0),
    prerelease: m[4] === undefined ? [] : m[4].split(".").map((p) => /^\d+$/.test(p) ? Number(p) : p)
  })
}

const compareIdentifiers = (a: string | number, b: string | number): number => {
  if (typeof a === "number" && typeof b === "number") return a - b
  if (typeof a === "number") return -1 // numeric identifiers sort before alphanumeric ones (semver 11.4.3)
  if (typeof b === "number") return 1
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * Order two versions by semver precedence: numbers first, a pre-release before its release,
 * pre-release identifiers compared one by one (build metadata is ignored).
 *
 * @since 0.1.0
 * @category semver
 */
export const compareSemVer = (a: SemVer, b: SemVer): number => {
  const core = a.major - b.major || a.minor - b.minor || a.patch - b.patch
  if (core !== 0) return core
  if (a.prerelease.length === 0 || b.prerelease.length === 0) return b.prerelease.length - a.prerelease.length
  for (let i = 0; i < Math.min(a.prerelease.length, b.prerelease.length); i++) {
    const c = compareIdentifiers(a.prerelease[i]!, b.prerelease[i]!)
    if (c !== 0) return c
  }
  return a.prerelease.length - b.prerelease.length
}

const lexical = (a: string, b: string) => a < b ? -1 : a > b ? 1 : 0

/**
 * Tags in lexical (code point) order.
 *
 * @since 0.1.0
 * @category sorting
 */
export const sortLexical = (tags: ReadonlyArray<string>): ReadonlyArray<string> => [...tags].sort(lexical)

/**
 * Tags in ascending semver order; tags that are not versions (`latest`, `main`) come after them,
 * in lexical order. Equal versions (`1.2` and `1.2.0`, `v1` and `1`) keep lexical order.
 *
 * @since 0.1.0
 * @category sorting
 */
export const sortSemVer = (tags: ReadonlyArray<string>): ReadonlyArray<string> =>
  tags.map((tag) => ({ tag, version: parseSemVer(tag) })).sort((a, b) => {
    if (Option.isSome(a.version) && Option.isSome(b.version)) {
      return compareSemVer(a.version.value, b.version.value) || lexical(a.tag, b.tag)
    }
    if (Option.isSome(a.version)) return -1
    if (Option.isSome(b.version)) return 1
    return lexical(a.tag, b.tag)
  }).map((entry) => entry.tag)

/**
 * A tag with the image's `created` time, from its config (for an index: the chosen platform's).
 *
 * @since 0.1.0
 * @category models
 */
export interface Dated {
  readonly tag: string
  /** The manifest the tag names; absent when the tag's index has no image for the platform. */
  readonly digest?: Digest.Digest | undefined
  /** The config's `created`, when it has one. */
  readonly created?: string | undefined
}

/**
 * Options of `withCreated`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CreatedOptions extends Image.PlatformOptions {
  /** Configs read at the same time. Default 4. */
  readonly concurrency?: number | undefined
}

/**
 * Read each tag's `created` time: for each tag a manifest GET (and for an index the platform's
 * manifest) and the config blob, so two or three requests per tag. A tag whose index lacks the
 * platform gets no time rather than failing the whole list.
 *
 * @since 0.1.0
 * @category dates
 */
export const withCreated = (
  repository: Registry.ReferenceInput,
  tags: ReadonlyArray<string>,
  options: CreatedOptions = {}
): Effect.Effect<ReadonlyArray<Dated>, RegistryError, RegistryClient | Digest.Hasher> =>
  Effect.gen(function*() {
    const repo = typeof repository === "string" ? yield* Reference.parseEffect(repository) : repository
    return yield* Effect.forEach(tags, (tag) =>
      Effect.gen(function*() {
        const ref = yield* Reference.make({ registry: repo.registry, repository: repo.repository, tag })
        const resolved = yield* Image.resolve(ref, { platform: options.platform }).pipe(
          Effect.map(Option.some),
          Effect.catchTag("InvalidManifest", () => Effect.succeedNone)
        )
        return Option.match(resolved, {
          onNone: () => ({ tag }),
          onSome: (r) => ({ tag, digest: r.root.digest, created: r.config.created })
        }) satisfies Dated
      }), { concurrency: options.concurrency ?? 4 })
  }).pipe(Effect.withSpan("Tags.withCreated", { attributes: { "tags.count": tags.length } }))

/**
 * Order dated tags oldest first; tags without a time come last, in lexical order.
 *
 * @since 0.1.0
 * @category sorting
 */
export const sortByCreated = (dated: ReadonlyArray<Dated>): ReadonlyArray<Dated> =>
  [...dated].sort((a, b) => {
    const ta = a.created === undefined ? NaN : Date.parse(a.created)
    const tb = b.created === undefined ? NaN : Date.parse(b.created)
    if (!Number.isNaN(ta) && !Number.isNaN(tb)) return ta - tb || lexical(a.tag, b.tag)
    if (!Number.isNaN(ta)) return -1
    if (!Number.isNaN(tb)) return 1
    return lexical(a.tag, b.tag)
  })
