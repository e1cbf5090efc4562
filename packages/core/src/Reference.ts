/**
 * Image references: `[registry/]repository[:tag][@digest]`, parsed with the grammar of
 * github.com/distribution/reference and Docker Hub's normalisation (`alpine` is
 * `docker.io/library/alpine`), formatted back canonically or in the short Docker form.
 *
 * The module also keeps the repository parsing functions of the Deno client we model
 * (`parseIndex`, `parseRepo`, `parseRepoAndRef`), with the same output shape, but validated by
 * the same grammar: they answer `Either` instead of throwing.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Digest from "./Digest.js"
import * as internal from "./internal/reference.js"
import { InvalidReference } from "./RegistryError.js"

// --- constants ------------------------------------------------------------------------------

/**
 * The registry name of Docker Hub in references (`docker.io`).
 *
 * @since 0.1.0
 * @category constants
 */
export const dockerHubRegistry: string = internal.dockerHubRegistry

/**
 * The host that serves Docker Hub's registry API (`registry-1.docker.io`).
 *
 * @since 0.1.0
 * @category constants
 */
export const dockerHubApiHost: string = internal.dockerHubApiHost

/**
 * The tag a reference without tag or digest stands for (`latest`).
 *
 * @since 0.1.0
 * @category constants
 */
export const latestTag: string = internal.latestTag

/**
 * The longest name (`registry/repository`) the grammar allows: 255 characters.
 *
 * @since 0.1.0
 * @category constants
 */
export const nameTotalLengthMax: number = internal.nameTotalLengthMax

// --- schemas of the parts -------------------------------------------------------------------

/**
 * A registry host as it appears in a reference: a host name (upper-case allowed), an IPv4
 * address or a bracketed IPv6 address (`[::1]`), optionally with `:port`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Registry: Schema.filter<typeof Schema.String> = Schema.String.pipe(
  Schema.filter((s) => internal.validateRegistry(s) ?? true, { identifier: "Registry" })
)

/**
 * A repository path: `/`-separated components of lower-case letters and digits joined by `.`,
 * `_`, `__` or runs of `-` (e.g. `library/alpine`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Repository: Schema.filter<typeof Schema.String> = Schema.String.pipe(
  Schema.filter((s) => internal.validateRepository(s) ?? true, { identifier: "Repository" })
)

/**
 * A tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Tag: Schema.filter<typeof Schema.String> = Schema.String.pipe(
  Schema.filter((s) => internal.validateTag(s) ?? true, { identifier: "Tag" })
)

// --- model ----------------------------------------------------------------------------------

/**
 * A parsed image reference. `registry` is the host as written (after Docker Hub's aliases are
 * folded into `docker.io`), `repository` the path on it (`library/alpine`). A reference may carry
 * a tag, a digest, both (the digest wins when resolving), or neither (`latest`).
 *
 * Constructing one with `new` validates each field; `make` also checks the name length and
 * answers an `Either`; `parse` reads one from a string.
 *
 * @since 0.1.0
 * @category models
 */
export class Reference extends Schema.Class<Reference>("@ocireg/core/Reference")({
  registry: Registry,
  repository: Repository,
  tag: Schema.optionalWith(Tag, { exact: true }),
  digest: Schema.optionalWith(Digest.Digest, { exact: true })
}) {
  /**
   * The canonical string, as `format`.
   *
   * @since 0.1.0
   */
  override toString(): string {
    return format(this)
  }
}

/**
 * Options of `parse`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ParseOptions {
  /** The registry of a reference that names none. Default `docker.io`. */
  readonly defaultRegistry?: string | undefined
  /**
   * The tag given to a reference that has neither tag nor digest. Default none: the reference
   * keeps no tag, and `identifier` answers `latest` for it.
   */
  readonly defaultTag?: string | undefined
}

const fail = (input: string, reason: string) => Either.left(new InvalidReference({ input, reason }))

const unsafeMake = (parts: internal.Parts): Reference => new Reference(parts, true)

/**
 * Build a reference from its parts, validating each and the length of the name. Docker Hub's
 * aliases are folded into `docker.io`; nothing else is normalised (no `library/` is added).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (parts: {
  readonly registry: string
  readonly repository: string
  readonly tag?: string | undefined
  readonly digest?: string | undefined
}): Either.Either<Reference, InvalidReference> => {
  const input = `${parts.registry}/${parts.repository}${parts.tag !== undefined ? `:${parts.tag}` : ""}${
    parts.digest !== undefined ? `@${parts.digest}` : ""
  }`
  const reason = internal.validateRegistry(parts.registry) ?? internal.validateRepository(parts.repository) ??
    (parts.tag !== undefined ? internal.validateTag(parts.tag) : undefined) ??
    (parts.digest !== undefined ? internal.validateDigest(parts.digest) : undefined)
  if (reason !== undefined) return fail(input, reason)
  const registry = internal.normalizeRegistry(parts.registry)
  const tooLong = internal.validateNameLength(registry, parts.repository)
  if (tooLong !== undefined) return fail(input, tooLong)
  return Either.right(unsafeMake({
    registry,
    repository: parts.repository,
    ...(parts.tag !== undefined ? { tag: parts.tag } : {}),
    ...(parts.digest !== undefined ? { digest: parts.digest as Digest.Digest } : {})
  }))
}

/**
 * Parse `[registry/]repository[:tag][@digest]`. Never throws.
 *
 * The first `/`-separated component is the registry when it is `localhost`, contains a `.` or a
 * `:`, or has an upper-case letter; otherwise the whole name is the repository on
 * `defaultRegistry` (Docker Hub unless told). Docker Hub's aliases (`index.docker.io`,
 * `registry-1.docker.io`) become `docker.io`, and a one-component repository on Docker Hub gets
 * the `library/` namespace. Digests must be valid `sha256` or `sha512` digests.
 *
 * @example
 * ```ts
 * import * as Reference from "@ocireg/core/Reference"
 *
 * Reference.parse("alpine:3") // Right(docker.io/library/alpine:3)
 * Reference.parse("ghcr.io/OWNER/app") // Left(InvalidReference: must be lower-case)
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: string, options?: ParseOptions): Either.Either<Reference, InvalidReference> => {
  const result = internal.parse(input, options?.defaultRegistry ?? internal.dockerHubRegistry)
  if (result._tag === "error") return fail(input, result.reason)
  const parts = result.value
  const defaultTag = options?.defaultTag
  if (defaultTag !== undefined && parts.tag === undefined && parts.digest === undefined) {
    const reason = internal.validateTag(defaultTag)
    if (reason !== undefined) return fail(input, `default tag: ${reason}`)
    return Either.right(unsafeMake({ ...parts, tag: defaultTag }))
  }
  return Either.right(unsafeMake(parts))
}

/**
 * `parse` as an `Effect` that fails with `InvalidReference`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseEffect = (input: string, options?: ParseOptions): Effect.Effect<Reference, InvalidReference> =>
  Effect.suspend(() => parse(input, options))

/**
 * Whether a string parses as a reference.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isValid = (input: string, options?: ParseOptions): boolean => Either.isRight(parse(input, options))

/**
 * A `Reference` read from (and written back to) its canonical string, for configs and any other
 * decoded input: `Schema.decodeUnknown(ReferenceFromString)("alpine")`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ReferenceFromString: Schema.Schema<Reference, string> = Schema.transformOrFail(
  Schema.String,
  Schema.typeSchema(Reference),
  {
    strict: true,
    decode: (input, _, ast) => Either.mapLeft(parse(input), (error) => new ParseResult.Type(ast, input, error.reason)),
    encode: (reference) => ParseResult.succeed(format(reference))
  }
).annotations({ identifier: "ReferenceFromString" })

// --- formatting and accessors ---------------------------------------------------------------

/**
 * `registry/repository`, the name without tag or digest.
 *
 * @since 0.1.0
 * @category formatting
 */
export const name = (reference: Pick<Reference, "registry" | "repository">): string =>
  `${reference.registry}/${reference.repository}`

/**
 * The canonical string `registry/repository[:tag][@digest]`; `parse` reads it back to an equal
 * reference.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (reference: Reference): string =>
  `${name(reference)}${reference.tag !== undefined ? `:${reference.tag}` : ""}${
    reference.digest !== undefined ? `@${reference.digest}` : ""
  }`

/**
 * The short form Docker shows: `alpine:3` for `docker.io/library/alpine:3`, `user/app` for
 * `docker.io/user/app`; references on other registries keep their registry.
 *
 * @since 0.1.0
 * @category formatting
 */
export const familiar = (reference: Reference): string =>
  `${internal.familiarName(reference.registry, reference.repository)}${
    reference.tag !== undefined ? `:${reference.tag}` : ""
  }${reference.digest !== undefined ? `@${reference.digest}` : ""}`

/**
 * What to ask the registry's `/manifests/<reference>` endpoint for: the digest when there is
 * one, else the tag, else `latest`.
 *
 * @since 0.1.0
 * @category getters
 */
export const identifier = (reference: Reference): string => reference.digest ?? reference.tag ?? internal.latestTag

/**
 * The host that serves the registry API: `registry-1.docker.io` for Docker Hub, the registry
 * itself otherwise.
 *
 * @since 0.1.0
 * @category getters
 */
export const apiHost = (reference: Pick<Reference, "registry">): string =>
  internal.normalizeRegistry(reference.registry) === internal.dockerHubRegistry
    ? internal.dockerHubApiHost
    : reference.registry

/**
 * Whether the reference is on Docker Hub.
 *
 * @since 0.1.0
 * @category getters
 */
export const isDockerHub = (reference: Pick<Reference, "registry">): boolean =>
  internal.normalizeRegistry(reference.registry) === internal.dockerHubRegistry

/**
 * The same reference with another tag (validated). A digest, if any, is kept, as in
 * distribution's `WithTag`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withTag: {
  (tag: string): (self: Reference) => Either.Either<Reference, InvalidReference>
  (self: Reference, tag: string): Either.Either<Reference, InvalidReference>
} = dual(2, (self: Reference, tag: string): Either.Either<Reference, InvalidReference> => {
  const reason = internal.validateTag(tag)
  return reason !== undefined
    ? fail(`${name(self)}:${tag}`, reason)
    : Either.right(unsafeMake({ ...partsOf(self), tag }))
})

/**
 * The same reference pinned to a digest. A tag, if any, is kept, as in distribution's
 * `WithDigest`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withDigest: {
  (digest: Digest.Digest): (self: Reference) => Reference
  (self: Reference, digest: Digest.Digest): Reference
} = dual(2, (self: Reference, digest: Digest.Digest): Reference => unsafeMake({ ...partsOf(self), digest }))

/**
 * The same reference without its tag.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withoutTag = (self: Reference): Reference => {
  const { tag: _, ...rest } = partsOf(self)
  return unsafeMake(rest)
}

/**
 * The same reference without its digest.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withoutDigest = (self: Reference): Reference => {
  const { digest: _, ...rest } = partsOf(self)
  return unsafeMake(rest)
}

const partsOf = (self: Reference): internal.Parts => ({
  registry: self.registry,
  repository: self.repository,
  ...(self.tag !== undefined ? { tag: self.tag } : {}),
  ...(self.digest !== undefined ? { digest: self.digest } : {})
})

// --- seed-compatible parsing ----------------------------------------------------------------

/**
 * A registry index as the Deno client describes it: `name` (`docker.io`, `quay.io`,
 * `localhost:5000`), whether it is Docker Hub (`official`), and the scheme when one was given.
 *
 * @since 0.1.0
 * @category seed compatibility
 */
export interface IndexInfo {
  readonly name: string
  readonly official: boolean
  readonly scheme?: "http" | "https"
}

/**
 * A repository as `parseRepo` describes it. For Docker Hub, `remoteName` is the API path
 * (`library/mongo`), `localName` the short form (`mongo`) and `canonicalName` is `docker.io/`
 * plus the short form; for other registries both `localName` and `canonicalName` are
 * `host/remoteName`. `official` is true for Docker Hub's `library/` images.
 *
 * @since 0.1.0
 * @category seed compatibility
 */
export interface RepoInfo {
  readonly index: IndexInfo
  readonly official: boolean
  readonly remoteName: string
  readonly localName: string
  readonly canonicalName: string
}

/**
 * A repository with its tag and/or digest as `parseRepoAndRef` describes it; `canonicalRef` is
 * `canonicalName[:tag][@digest]`.
 *
 * @since 0.1.0
 * @category seed compatibility
 */
export interface RepoAndRefInfo extends RepoInfo {
  readonly tag?: string
  readonly digest?: Digest.Digest
  readonly canonicalRef: string
}

/**
 * A default index given as an object (as `parseIndex` returns).
 *
 * @since 0.1.0
 * @category seed compatibility
 */
export interface IndexInput {
  readonly name: string
  readonly official: boolean
  readonly scheme?: string | undefined
}

const defaultLoginServer = "https://index.docker.io/v1/"

const indexFailure = (input: string, reason: string) => fail(input, `invalid index, ${reason}`)

/**
 * Parse a registry index name or URL (`docker.io`, `https://quay.io`, `http://localhost:5000`).
 * No argument (or `docker login`'s default `https://index.docker.io/v1/`) is Docker Hub.
 * The scheme must be `http` or `https`, plain HTTP to Docker Hub is refused, the host must look
 * like one (a `.`, a `:`, `localhost` or an upper-case letter) and match the registry grammar; a
 * single trailing `/` is allowed.
 *
 * @since 0.1.0
 * @category seed compatibility
 */
export const parseIndex = (input?: string): Either.Either<IndexInfo, InvalidReference> => {
  if (input === undefined || input === "" || input === defaultLoginServer) {
    return Either.right({ name: internal.dockerHubRegistry, official: true })
  }
  let scheme: "http" | "https" | undefined
  let host = input
  const separator = input.indexOf("://")
  if (separator !== -1) {
    const given = input.slice(0, separator)
    if (given !== "http" && given !== "https") {
      return indexFailure(input, `scheme ${JSON.stringify(given)} is neither "http" nor "https"`)
    }
    scheme = given
    host = input.slice(separator + 3)
  }
  if (host === "") return indexFailure(input, "empty host")
  if (host.endsWith("/")) host = host.slice(0, -1)
  if (host.includes("/")) return indexFailure(input, "trailing repository path after the host")
  if (!internal.looksLikeDomain(host)) {
    return indexFailure(input, `${JSON.stringify(host)} does not look like a valid host`)
  }
  const reason = internal.validateRegistry(host)
  if (reason !== undefined) return indexFailure(input, reason)
  const name = internal.normalizeRegistry(host)
  const official = name === internal.dockerHubRegistry
  if (official && scheme === "http") return indexFailure(input, "plain HTTP to the official index is disallowed")
  return Either.right(scheme !== undefined ? { name, official, scheme } : { name, official })
}

const resolveDefaultIndex = (
  input: string,
  defaultIndex: string | IndexInput | undefined
): Either.Either<IndexInfo, InvalidReference> => {
  if (defaultIndex === undefined || typeof defaultIndex === "string") return parseIndex(defaultIndex)
  const { name, official, scheme } = defaultIndex
  const reason = internal.validateRegistry(name)
  if (reason !== undefined) return fail(input, `default index: ${reason}`)
  if (scheme === undefined) return Either.right({ name, official })
  if (scheme !== "http" && scheme !== "https") {
    return fail(input, `default index: scheme ${JSON.stringify(scheme)} is neither "http" nor "https"`)
  }
  return Either.right({ name, official, scheme })
}

/**
 * Parse a repository name `[[scheme://]index/]name` into the Deno client's shape (see
 * `RepoInfo`). Without an index the default index is used: `docker.io`, or `defaultIndex` given
 * as a string (parsed by `parseIndex`) or as an index object.
 *
 * Stricter than the seed: the path must follow the distribution grammar (lower-case, valid
 * separators, no empty components), the name is at most 255 characters, and
 * `docker.io/library/a/b` keeps its `library/` in `localName` (it is not an official image).
 *
 * @since 0.1.0
 * @category seed compatibility
 */
export const parseRepo = (
  input: string,
  defaultIndex?: string | IndexInput
): Either.Either<RepoInfo, InvalidReference> => {
  if (input === "") return fail(input, "empty repository name")
  let index: IndexInfo
  let remoteName: string
  const separator = input.indexOf("://")
  if (separator !== -1) {
    const slash = input.indexOf("/", separator + 3)
    if (slash === -1) return fail(input, "invalid repository name, no \"/REPO\" after the host")
    const parsed = parseIndex(input.slice(0, slash))
    if (Either.isLeft(parsed)) return fail(input, parsed.left.reason)
    index = parsed.right
    remoteName = input.slice(slash + 1)
  } else {
    const slash = input.indexOf("/")
    if (slash !== -1 && internal.looksLikeDomain(input.slice(0, slash))) {
      const parsed = parseIndex(input.slice(0, slash))
      if (Either.isLeft(parsed)) return fail(input, parsed.left.reason)
      index = parsed.right
      remoteName = input.slice(slash + 1)
    } else {
      const parsed = resolveDefaultIndex(input, defaultIndex)
      if (Either.isLeft(parsed)) return fail(input, parsed.left.reason)
      index = parsed.right
      remoteName = input
    }
  }
  const reason = internal.validateRepository(remoteName)
  if (reason !== undefined) return fail(input, reason)

  if (index.official) {
    if (!remoteName.includes("/")) remoteName = internal.officialPrefix + remoteName
    const localName = internal.familiarName(internal.dockerHubRegistry, remoteName)
    const tooLong = internal.validateNameLength(internal.dockerHubRegistry, remoteName)
    if (tooLong !== undefined) return fail(input, tooLong)
    return Either.right({
      index,
      official: localName !== remoteName,
      remoteName,
      localName,
      canonicalName: `${internal.dockerHubRegistry}/${localName}`
    })
  }
  const tooLong = internal.validateNameLength(index.name, remoteName)
  if (tooLong !== undefined) return fail(input, tooLong)
  const localName = `${index.name}/${remoteName}`
  return Either.right({ index, official: false, remoteName, localName, canonicalName: localName })
}

/**
 * Parse `[[scheme://]index/]name[:tag][@digest]` into the Deno client's shape (see
 * `RepoAndRefInfo`). Without tag and digest the tag is `latest`; with both, both are kept.
 *
 * Stricter than the seed: the tag must match the tag grammar and the digest must be a valid
 * `sha256` or `sha512` digest (`@sha256:cafebabe` is refused).
 *
 * @since 0.1.0
 * @category seed compatibility
 */
export const parseRepoAndRef = (
  input: string,
  defaultIndex?: string | IndexInput
): Either.Either<RepoAndRefInfo, InvalidReference> => {
  if (input === "") return fail(input, "empty reference")
  const split = internal.splitTagAndDigest(input)
  if (split._tag === "error") return fail(input, split.reason)
  const { digest, name, tag } = split.value
  const repo = parseRepo(name, defaultIndex)
  if (Either.isLeft(repo)) return fail(input, repo.left.reason)
  const info = repo.right
  const effectiveTag = tag ?? (digest === undefined ? internal.latestTag : undefined)
  const canonicalRef = `${info.canonicalName}${effectiveTag !== undefined ? `:${effectiveTag}` : ""}${
    digest !== undefined ? `@${digest}` : ""
  }`
  return Either.right({
    ...info,
    ...(effectiveTag !== undefined ? { tag: effectiveTag } : {}),
    ...(digest !== undefined ? { digest } : {}),
    canonicalRef
  })
}

/**
 * Alias of `parseRepoAndRef`, as in the seed.
 *
 * @since 0.1.0
 * @category seed compatibility
 */
export const parseRepoAndTag: (
  input: string,
  defaultIndex?: string | IndexInput
) => Either.Either<RepoAndRefInfo, InvalidReference> = parseRepoAndRef
