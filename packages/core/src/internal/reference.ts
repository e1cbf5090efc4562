/**
 * The distribution/reference grammar (github.com/distribution/reference `regexp.go` and
 * `normalize.go`) and the splitting of a reference string into its parts. Every function here
 * answers a reason string on failure (`undefined` or a value on success); the public module
 * turns reasons into `InvalidReference` errors.
 *
 * @internal
 */
import * as Digest from "../Digest.js"

// --- grammar ---------------------------------------------------------------------------------

const alphanumeric = "[a-z0-9]+"
// one period, one or two underscores, or any number of hyphens
const separator = "(?:[._]|__|[-]+)"
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`
const remoteName = `${pathComponent}(?:/${pathComponent})*`
const domainNameComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`
// compressed or uncompressed IPv6 only: no zone identifiers, no IPv4-mapped forms
const ipv6address = "\\[(?:[a-fA-F0-9:]+)\\]"
const host = `(?:${domainName}|${ipv6address})`
const domainAndPort = `${host}(?::[0-9]+)?`
const tag = "[\\w][\\w.-]{0,127}"

const anchored = (pattern: string) => new RegExp(`^${pattern}$`)

/** @internal */
export const pathComponentRegExp = anchored(pathComponent)
/** @internal */
export const remoteNameRegExp = anchored(remoteName)
/** @internal */
export const domainRegExp = anchored(domainAndPort)
/** @internal */
export const tagRegExp = anchored(tag)
const identifierRegExp = /^[a-f0-9]{64}$/

// --- constants -------------------------------------------------------------------------------

/** @internal */
export const dockerHubRegistry = "docker.io"
/** @internal */
export const dockerHubApiHost = "registry-1.docker.io"
/** @internal */
export const dockerHubAliases: ReadonlySet<string> = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"])
/** @internal */
export const officialPrefix = "library/"
/** @internal */
export const latestTag = "latest"
/** @internal */
export const nameTotalLengthMax = 255
/** @internal */
export const tagLengthMax = 128
// No valid reference comes near this (255 name + 128 tag + a sha512 digest is 520 characters);
// the cap keeps every regular expression below on short input.
const inputLengthMax = 1024

// --- validation ------------------------------------------------------------------------------

/**
 * Whether the first component of a name is a registry host rather than a path component, as
 * `splitDockerDomain` decides: `localhost`, anything with a `.` or a `:`, or anything with an
 * upper-case letter (path components cannot have one).
 *
 * @internal
 */
export const looksLikeDomain = (component: string): boolean =>
  component === "localhost" || component.includes(".") || component.includes(":") ||
  component !== component.toLowerCase()

/**
 * Docker Hub's aliases (`index.docker.io`, `registry-1.docker.io`) become `docker.io`.
 *
 * @internal
 */
export const normalizeRegistry = (registry: string): string =>
  dockerHubAliases.has(registry.toLowerCase()) ? dockerHubRegistry : registry

/** @internal */
export const validateRegistry = (input: string): string | undefined => {
  if (input === "") return "empty registry host"
  if (input.length > nameTotalLengthMax) return `registry host longer than ${nameTotalLengthMax} characters`
  if (!domainRegExp.test(input)) {
    return `invalid registry host ${
      JSON.stringify(input)
    }: expected a host name, an IPv4 address or a bracketed IPv6 address, optionally with :port`
  }
  return undefined
}

/** @internal */
export const validateRepository = (input: string): string | undefined => {
  if (input === "") return "empty repository path"
  if (input.length > nameTotalLengthMax) return `repository path longer than ${nameTotalLengthMax} characters`
  if (input !== input.toLowerCase()) return `repository path ${JSON.stringify(input)} must be lower-case`
  if (remoteNameRegExp.test(input)) return undefined
  for (const component of input.split("/")) {
    if (component === "") return `repository path ${JSON.stringify(input)} has an empty component`
    if (!pathComponentRegExp.test(component)) {
      return `invalid repository path component ${
        JSON.stringify(component)
      }: expected lower-case letters and digits joined by ".", "_", "__" or hyphens`
    }
  }
  return `invalid repository path ${JSON.stringify(input)}`
}

/** @internal */
export const validateTag = (input: string): string | undefined => {
  if (input === "") return "empty tag"
  if (input.length > tagLengthMax) return `tag longer than ${tagLengthMax} characters`
  if (!tagRegExp.test(input)) {
    return `invalid tag ${
      JSON.stringify(input)
    }: expected letters, digits, "_", "." and "-", not starting with "." or "-"`
  }
  return undefined
}

/** @internal */
export const validateDigest = (input: string): string | undefined => {
  const reason = Digest.validate(input)
  return reason === undefined ? undefined : `invalid digest ${JSON.stringify(input)}: ${reason}`
}

/** @internal */
export const validateNameLength = (registry: string, repository: string): string | undefined => {
  const length = registry.length + 1 + repository.length
  return length > nameTotalLengthMax
    ? `repository name ${registry}/… is ${length} characters, more than ${nameTotalLengthMax}`
    : undefined
}

// --- splitting -------------------------------------------------------------------------------

/** @internal */
export interface Parts {
  readonly registry: string
  readonly repository: string
  readonly tag?: string
  readonly digest?: Digest.Digest
}

/** @internal */
export type Result<A> = { readonly _tag: "ok"; readonly value: A } | { readonly _tag: "error"; readonly reason: string }

/** @internal */
export const ok = <A>(value: A): Result<A> => ({ _tag: "ok", value })
/** @internal */
export const error = <A = never>(reason: string): Result<A> => ({ _tag: "error", reason })

/**
 * `name[:tag][@digest]` split like docker does: the digest after the first `@`, the tag after
 * the last `:` when it follows the last `/` (so `host:5000/repo` keeps its port). Each part is
 * validated; the name is returned unvalidated.
 *
 * @internal
 */
export const splitTagAndDigest = (
  input: string
): Result<{ readonly name: string; readonly tag?: string; readonly digest?: Digest.Digest }> => {
  let rest = input
  let digest: Digest.Digest | undefined
  const at = rest.indexOf("@")
  if (at !== -1) {
    const candidate = rest.slice(at + 1)
    const reason = validateDigest(candidate)
    if (reason !== undefined) return error(reason)
    digest = candidate as Digest.Digest
    rest = rest.slice(0, at)
  }
  let tag: string | undefined
  const colon = rest.lastIndexOf(":")
  if (colon !== -1 && colon > rest.lastIndexOf("/")) {
    const candidate = rest.slice(colon + 1)
    const reason = validateTag(candidate)
    if (reason !== undefined) return error(reason)
    tag = candidate
    rest = rest.slice(0, colon)
  }
  if (rest === "") return error("missing repository name")
  return ok({
    name: rest,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {})
  })
}

/** @internal */
export const checkInput = (input: string): string | undefined => {
  if (input === "") return "empty reference"
  if (input.length > inputLengthMax) return `longer than ${inputLengthMax} characters`
  if (input.trim() !== input) return "leading or trailing white space"
  if (input.includes("://")) return "a URL scheme is not part of an image reference"
  return undefined
}

/**
 * Parse `[registry/]repository[:tag][@digest]` with Docker Hub normalisation
 * (`ParseNormalizedNamed`): no registry means `defaultRegistry`, Docker Hub aliases become
 * `docker.io`, and a one-component Docker Hub repository gets the `library/` namespace.
 *
 * @internal
 */
export const parse = (input: string, defaultRegistry: string): Result<Parts> => {
  const invalid = checkInput(input)
  if (invalid !== undefined) return error(invalid)
  if (identifierRegExp.test(input)) {
    return error("a 64-character hexadecimal string is an image ID, not a repository name")
  }
  const split = splitTagAndDigest(input)
  if (split._tag === "error") return split
  const { digest, name, tag } = split.value
  if (name.length > nameTotalLengthMax) {
    return error(`repository name is ${name.length} characters, more than ${nameTotalLengthMax}`)
  }

  let registry: string
  let repository: string
  const slash = name.indexOf("/")
  if (slash !== -1 && looksLikeDomain(name.slice(0, slash))) {
    registry = name.slice(0, slash)
    repository = name.slice(slash + 1)
    const reason = validateRegistry(registry)
    if (reason !== undefined) return error(reason)
  } else {
    registry = defaultRegistry
    repository = name
    const reason = validateRegistry(registry)
    if (reason !== undefined) return error(`default registry: ${reason}`)
  }
  const reason = validateRepository(repository)
  if (reason !== undefined) return error(reason)

  registry = normalizeRegistry(registry)
  if (registry === dockerHubRegistry && !repository.includes("/")) {
    repository = officialPrefix + repository
  }
  const tooLong = validateNameLength(registry, repository)
  if (tooLong !== undefined) return error(tooLong)
  return ok({
    registry,
    repository,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {})
  })
}

/**
 * The short Docker form of a name: Docker Hub's registry dropped, and `library/` dropped when
 * what remains has no further `/` (`familiarizeName`).
 *
 * @internal
 */
export const familiarName = (registry: string, repository: string): string => {
  if (registry !== dockerHubRegistry) return `${registry}/${repository}`
  if (repository.startsWith(officialPrefix)) {
    const remainder = repository.slice(officialPrefix.length)
    if (!remainder.includes("/")) return remainder
  }
  return repository
}
