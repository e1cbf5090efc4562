/**
 * Manifests: the schemas of OCI image manifests and indexes, Docker v2 schema 2 manifests and
 * manifest lists, their descriptors and platforms, and the OCI image configuration; `decode`, which
 * turns the bytes a registry served (and its `Content-Type`) into a `Manifest` tagged by kind;
 * and `selectPlatform`, which picks an index's child manifest for a platform the way containerd does.
 *
 * Decoding keeps only the fields the schemas name (image configurations keep every field). A
 * manifest is never re-encoded to be pushed: pushing and copying send the original bytes, whose
 * digest is the manifest's identity.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import { dual, identity } from "effect/Function"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Digest from "./Digest.js"
import * as platform from "./internal/manifestPlatform.js"
import * as MediaType from "./MediaType.js"
import { InvalidManifest, InvalidReference } from "./RegistryError.js"

// Schemas --------------------------------------------------------------------------------------

// Optional fields are exact (`?: A`): JSON has no `undefined`, and error trees stay free of
// "Expected undefined" branches.
const optional = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

const show = (u: unknown): string => {
  const json = JSON.stringify(u)
  return json === undefined ? String(u) : json.length > 80 ? `${json.slice(0, 80)}…` : json
}

// A digest whose failure message says what is wrong with it, in one line.
const DigestField = Digest.Digest.annotations({
  identifier: "Digest",
  message: (issue) => ({
    message: typeof issue.actual === "string"
      ? `invalid digest ${show(issue.actual)}: ${Digest.validate(issue.actual) ?? "not a digest"}`
      : `expected a digest string, got ${show(issue.actual)}`,
    override: true
  })
})

// A size: a non-negative safe integer, with a one-line failure message.
const Size = Schema.Number.pipe(
  Schema.filter((n) => Number.isSafeInteger(n) && n >= 0, {
    identifier: "Size",
    message: (issue) => ({ message: `expected a non-negative integer, got ${show(issue.actual)}`, override: true })
  })
)

/**
 * String-to-string annotations (`org.opencontainers.image.*` and the like).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Annotations = Schema.Record({ key: Schema.String, value: Schema.String }).annotations({
  identifier: "Annotations"
})

/**
 * String-to-string annotations, as decoded by the `Annotations` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type Annotations = typeof Annotations.Type

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/**
 * Standard base64 text (the `data` field of a descriptor), kept encoded.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Base64 = Schema.String.pipe(
  Schema.filter((s) => base64Pattern.test(s), {
    identifier: "Base64",
    message: (issue) => ({ message: `expected standard base64, got ${show(issue.actual)}`, override: true })
  })
)

/**
 * The platform an image runs on: `os`, `architecture`, and the optional `variant` (ARM),
 * `os.version` and `os.features` (Windows) and `features`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Platform = Schema.Struct({
  architecture: Schema.String,
  os: Schema.String,
  "os.version": optional(Schema.String),
  "os.features": optional(Schema.Array(Schema.String)),
  variant: optional(Schema.String),
  features: optional(Schema.Array(Schema.String))
}).annotations({ identifier: "Platform" })

/**
 * The platform an image runs on, as decoded by the `Platform` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type Platform = typeof Platform.Type

/**
 * A content descriptor: what a manifest says about a blob or another manifest.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Descriptor = Schema.Struct({
  mediaType: Schema.String,
  digest: DigestField,
  size: Size,
  urls: optional(Schema.Array(Schema.String)),
  annotations: optional(Annotations),
  platform: optional(Platform),
  artifactType: optional(Schema.String),
  data: optional(Base64)
}).annotations({ identifier: "Descriptor" })

/**
 * A content descriptor, as decoded by the `Descriptor` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type Descriptor = typeof Descriptor.Type

/**
 * An OCI image manifest (also the shape of OCI artifacts: `artifactType`, an empty config,
 * `subject`). Its `mediaType` may be omitted.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ImageManifest = Schema.Struct({
  schemaVersion: Schema.Literal(2),
  mediaType: optional(Schema.Literal(MediaType.ociManifest)),
  artifactType: optional(Schema.String),
  config: Descriptor,
  layers: Schema.Array(Descriptor),
  subject: optional(Descriptor),
  annotations: optional(Annotations)
}).annotations({ identifier: "ImageManifest" })

/**
 * An OCI image manifest, as decoded by the `ImageManifest` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type ImageManifest = typeof ImageManifest.Type

/**
 * An OCI image index: a list of manifests, usually one per platform. Its `mediaType` may be
 * omitted.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ImageIndex = Schema.Struct({
  schemaVersion: Schema.Literal(2),
  mediaType: optional(Schema.Literal(MediaType.ociIndex)),
  artifactType: optional(Schema.String),
  manifests: Schema.Array(Descriptor),
  subject: optional(Descriptor),
  annotations: optional(Annotations)
}).annotations({ identifier: "ImageIndex" })

/**
 * An OCI image index, as decoded by the `ImageIndex` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type ImageIndex = typeof ImageIndex.Type

/**
 * A Docker image manifest, version 2 schema 2.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DockerManifest = Schema.Struct({
  schemaVersion: Schema.Literal(2),
  mediaType: Schema.Literal(MediaType.dockerManifest),
  config: Descriptor,
  layers: Schema.Array(Descriptor)
}).annotations({ identifier: "DockerManifest" })

/**
 * A Docker v2 schema 2 manifest, as decoded by the `DockerManifest` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type DockerManifest = typeof DockerManifest.Type

/**
 * A Docker manifest list, version 2 schema 2.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DockerManifestList = Schema.Struct({
  schemaVersion: Schema.Literal(2),
  mediaType: Schema.Literal(MediaType.dockerManifestList),
  manifests: Schema.Array(Descriptor)
}).annotations({ identifier: "DockerManifestList" })

/**
 * A Docker manifest list, as decoded by the `DockerManifestList` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type DockerManifestList = typeof DockerManifestList.Type

/**
 * The JSON document of any manifest ocireg reads. Decoding with this schema alone neither checks a
 * `Content-Type` nor says which kind it found; prefer `decode`, which gives a `Manifest`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Document = Schema.Union(ImageManifest, ImageIndex, DockerManifest, DockerManifestList).annotations({
  identifier: "Document"
})

/**
 * The JSON document of any manifest ocireg reads, as decoded by the `Document` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type Document = ImageManifest | ImageIndex | DockerManifest | DockerManifestList

// Image configuration --------------------------------------------------------------------------

const Extra = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * The execution parameters of an image configuration (`config`). Fields not named here are kept.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContainerConfig = Schema.Struct({
  User: optional(Schema.String),
  ExposedPorts: optional(Extra),
  Env: optional(Schema.Array(Schema.String)),
  Entrypoint: optional(Schema.Array(Schema.String)),
  Cmd: optional(Schema.Array(Schema.String)),
  Volumes: optional(Extra),
  WorkingDir: optional(Schema.String),
  Labels: optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  StopSignal: optional(Schema.String),
  ArgsEscaped: optional(Schema.Boolean),
  Shell: optional(Schema.Array(Schema.String))
}, Extra).annotations({ identifier: "ContainerConfig" })

/**
 * The execution parameters of an image configuration, as decoded by the `ContainerConfig` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type ContainerConfig = typeof ContainerConfig.Type

/**
 * One entry of an image configuration's `history`. Fields not named here are kept.
 *
 * @since 0.1.0
 * @category schemas
 */
export const History = Schema.Struct({
  created: optional(Schema.String),
  created_by: optional(Schema.String),
  author: optional(Schema.String),
  comment: optional(Schema.String),
  empty_layer: optional(Schema.Boolean)
}, Extra).annotations({ identifier: "History" })

/**
 * One entry of an image configuration's `history`, as decoded by the `History` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type History = typeof History.Type

const ImageConfigFields = Schema.Struct({
  architecture: Schema.String,
  os: Schema.String,
  variant: optional(Schema.String),
  "os.version": optional(Schema.String),
  "os.features": optional(Schema.Array(Schema.String)),
  created: optional(Schema.String),
  author: optional(Schema.String),
  config: optional(ContainerConfig),
  rootfs: Schema.Struct({ type: Schema.String, diff_ids: Schema.Array(DigestField) }, Extra).annotations({
    identifier: "RootFs"
  }),
  history: optional(Schema.Array(History))
}, Extra).annotations({ identifier: "ImageConfig" })

// Go writes nil slices, maps and pointers as `null`: in an image configuration that means absent.
const withoutNulls = (u: unknown): unknown => {
  if (Array.isArray(u)) return u.map(withoutNulls)
  if (!Predicate.isRecord(u)) return u
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(u)) {
    if (value !== null) out[key] = withoutNulls(value)
  }
  return out
}

/**
 * An OCI image configuration, as decoded by the `ImageConfig` schema.
 *
 * @since 0.1.0
 * @category models
 */
export type ImageConfig = typeof ImageConfigFields.Type

/**
 * The OCI image configuration (also Docker's container image configuration, a superset).
 * Lenient: fields not named here are kept, and `null` values (which Docker writes for empty
 * fields) are dropped before decoding, so they read as absent. Decode-only: encoding gives the
 * value back as it is.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ImageConfig: Schema.Schema<ImageConfig, unknown> = Schema.compose(
  Schema.transform(Schema.Unknown, Schema.Unknown, { strict: true, decode: withoutNulls, encode: identity }),
  ImageConfigFields,
  { strict: false }
).annotations({ identifier: "ImageConfig" })

// Decoding -------------------------------------------------------------------------------------

/**
 * A decoded manifest: its kind (`_tag`), the media type it was decoded as (the body's
 * `mediaType`, else the `Content-Type`, else inferred for OCI manifests that omit it) and the
 * document. Switch on `_tag`, or use `Manifest.$match` / `Manifest.$is`.
 *
 * @since 0.1.0
 * @category models
 */
export type Manifest = Data.TaggedEnum<{
  ImageManifest: { readonly mediaType: typeof MediaType.ociManifest; readonly manifest: ImageManifest }
  ImageIndex: { readonly mediaType: typeof MediaType.ociIndex; readonly manifest: ImageIndex }
  DockerManifest: { readonly mediaType: typeof MediaType.dockerManifest; readonly manifest: DockerManifest }
  DockerManifestList: { readonly mediaType: typeof MediaType.dockerManifestList; readonly manifest: DockerManifestList }
}>

/**
 * Constructors and matchers of `Manifest` (`Manifest.ImageIndex({ mediaType, manifest })`,
 * `$match`, `$is`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const Manifest = Data.taggedEnum<Manifest>()

/**
 * The kind of a decoded manifest.
 *
 * @since 0.1.0
 * @category models
 */
export type Kind = Manifest["_tag"]

/**
 * A decoded index (OCI image index or Docker manifest list).
 *
 * @since 0.1.0
 * @category models
 */
export type IndexLike = Extract<Manifest, { readonly _tag: "ImageIndex" | "DockerManifestList" }>

/**
 * A decoded single-platform image manifest (OCI or Docker).
 *
 * @since 0.1.0
 * @category models
 */
export type ImageLike = Extract<Manifest, { readonly _tag: "ImageManifest" | "DockerManifest" }>

const kindByMediaType: Record<MediaType.ManifestMediaType, Kind> = {
  [MediaType.ociManifest]: "ImageManifest",
  [MediaType.ociIndex]: "ImageIndex",
  [MediaType.dockerManifest]: "DockerManifest",
  [MediaType.dockerManifestList]: "DockerManifestList"
}

const mediaTypeByKind = {
  ImageManifest: MediaType.ociManifest,
  ImageIndex: MediaType.ociIndex,
  DockerManifest: MediaType.dockerManifest,
  DockerManifestList: MediaType.dockerManifestList
} as const

const kindOf = (mediaType: string): Kind | undefined =>
  Object.prototype.hasOwnProperty.call(kindByMediaType, mediaType)
    ? kindByMediaType[mediaType as MediaType.ManifestMediaType]
    : undefined

// Content-Types that say nothing about the kind: the body alone decides.
const genericContentTypes = new Set(["", "application/json", "application/octet-stream", "text/plain"])

const schema1Detail = "Docker schema 1 manifests are deprecated and not supported; convert the image to Docker " +
  "schema 2 or OCI (for example push it again with a current Docker, or `skopeo copy --format v2s2`)"

const violation = (detail: string, mediaType?: string) =>
  Either.left(new InvalidManifest({ reason: "SchemaViolation", mediaType, detail }))

const decodeKind = {
  ImageManifest: Schema.decodeUnknownEither(ImageManifest, { errors: "all" }),
  ImageIndex: Schema.decodeUnknownEither(ImageIndex, { errors: "all" }),
  DockerManifest: Schema.decodeUnknownEither(DockerManifest, { errors: "all" }),
  DockerManifestList: Schema.decodeUnknownEither(DockerManifestList, { errors: "all" })
}

const describe = (u: unknown): string => u === null ? "null" : Array.isArray(u) ? "an array" : `a ${typeof u}`

/**
 * Decode an already-parsed JSON value as a manifest. See `decode` for the rules.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeUnknown = (json: unknown, contentType?: string): Either.Either<Manifest, InvalidManifest> => {
  const headerType = contentType === undefined ? undefined : MediaType.normalize(contentType)
  if (!Predicate.isRecord(json)) return violation(`expected a JSON object, got ${describe(json)}`, headerType)
  const rawBodyType = json["mediaType"]
  if (rawBodyType !== undefined && typeof rawBodyType !== "string") {
    return violation(`"mediaType" must be a string, got ${describe(rawBodyType)}`, headerType)
  }
  const bodyType: string | undefined = rawBodyType

  if (
    json["schemaVersion"] === 1 || (bodyType !== undefined && MediaType.isSchema1(bodyType)) ||
    (headerType !== undefined && MediaType.isSchema1(headerType))
  ) {
    const mediaType = [bodyType, headerType].find((t) => t !== undefined && MediaType.isSchema1(t)) ??
      MediaType.dockerSchema1Manifest
    return Either.left(new InvalidManifest({ reason: "UnsupportedMediaType", mediaType, detail: schema1Detail }))
  }

  const bodyKind = bodyType === undefined ? undefined : kindOf(bodyType)
  if (bodyType !== undefined && bodyKind === undefined) {
    return Either.left(
      new InvalidManifest({
        reason: "UnsupportedMediaType",
        mediaType: bodyType,
        detail: `not a manifest media type ocireg reads (${MediaType.manifestTypes.join(", ")})`
      })
    )
  }
  const headerKind = headerType === undefined ? undefined : kindOf(headerType)
  if (bodyKind !== undefined && headerKind !== undefined && bodyKind !== headerKind) {
    return Either.left(
      new InvalidManifest({
        reason: "MediaTypeMismatch",
        mediaType: bodyType,
        detail: `Content-Type is ${headerType} but the manifest says ${bodyType}`
      })
    )
  }

  let kind: Kind
  if (bodyKind !== undefined) kind = bodyKind
  else if (headerKind !== undefined) kind = headerKind
  else if (headerType !== undefined && !genericContentTypes.has(headerType)) {
    return Either.left(
      new InvalidManifest({
        reason: "UnsupportedMediaType",
        mediaType: headerType,
        detail: `not a manifest media type ocireg reads (${MediaType.manifestTypes.join(", ")})`
      })
    )
  } else {
    // No media type anywhere: only OCI allows that, and the fields say which of the two it is.
    const hasManifests = "manifests" in json
    const hasConfig = "config" in json
    if (hasManifests === hasConfig) {
      return violation(
        hasConfig
          ? "no mediaType, and both \"config\" and \"manifests\": cannot tell an image manifest from an index"
          : "no mediaType, and neither \"config\" nor \"manifests\": not a manifest",
        headerType
      )
    }
    kind = hasManifests ? "ImageIndex" : "ImageManifest"
  }

  const mediaType = mediaTypeByKind[kind]
  const decoded: Either.Either<Document, ParseResult.ParseError> = decodeKind[kind](json)
  if (Either.isLeft(decoded)) return violation(ParseResult.TreeFormatter.formatErrorSync(decoded.left), mediaType)
  // The schema of `kind` decoded the value, so the pairing of tag, media type and manifest holds.
  return Either.right(Data.struct({ _tag: kind, mediaType, manifest: decoded.right }) as Manifest)
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * Decode the bytes of a manifest, given the `Content-Type` it was served with (if any).
 *
 * - bytes that are not UTF-8 JSON fail with `MalformedJson`;
 * - the media type is the body's `mediaType`, else the `Content-Type`; OCI manifests may name
 *   neither, and are then told apart by their fields (`manifests` for an index, `config` for an
 *   image manifest); a generic `Content-Type` (`application/json`, ...) counts as none;
 * - Docker schema 1 (by media type or `schemaVersion: 1`) and media types that are not manifests
 *   fail with `UnsupportedMediaType`;
 * - a `Content-Type` naming another manifest kind than the body fails with `MediaTypeMismatch`;
 * - a body that does not fit the schema of its kind fails with `SchemaViolation`, the detail
 *   saying where and why.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (bytes: Uint8Array, contentType?: string): Either.Either<Manifest, InvalidManifest> => {
  let json: unknown
  try {
    json = JSON.parse(utf8.decode(bytes))
  } catch (error) {
    return Either.left(
      new InvalidManifest({
        reason: "MalformedJson",
        mediaType: contentType === undefined ? undefined : MediaType.normalize(contentType),
        detail: error instanceof Error ? error.message : String(error)
      })
    )
  }
  return decodeUnknown(json, contentType)
}

const decodeConfigFields = Schema.decodeUnknownEither(ImageConfigFields, { errors: "all" })

/**
 * Decode the bytes of an image configuration blob. Failures are `InvalidManifest` errors
 * (`MalformedJson` or `SchemaViolation`) carrying the given media type.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeImageConfig = (
  bytes: Uint8Array,
  mediaType: string = MediaType.ociConfig
): Either.Either<ImageConfig, InvalidManifest> => {
  let json: unknown
  try {
    json = JSON.parse(utf8.decode(bytes))
  } catch (error) {
    return Either.left(
      new InvalidManifest({
        reason: "MalformedJson",
        mediaType,
        detail: error instanceof Error ? error.message : String(error)
      })
    )
  }
  return Either.mapLeft(
    decodeConfigFields(withoutNulls(json)),
    (error) =>
      new InvalidManifest({
        reason: "SchemaViolation",
        mediaType,
        detail: ParseResult.TreeFormatter.formatErrorSync(error)
      })
  )
}

// Helpers --------------------------------------------------------------------------------------

/**
 * Whether a decoded manifest is an index (OCI image index or Docker manifest list).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isIndexLike = (manifest: Manifest): manifest is IndexLike =>
  manifest._tag === "ImageIndex" || manifest._tag === "DockerManifestList"

/**
 * The descriptors a manifest points to: the config then the layers of an image manifest, or the
 * child manifests of an index. (`subject` is not included.)
 *
 * @since 0.1.0
 * @category getters
 */
export const descriptors = (manifest: Manifest): ReadonlyArray<Descriptor> =>
  isIndexLike(manifest) ? manifest.manifest.manifests : [manifest.manifest.config, ...manifest.manifest.layers]

/**
 * The sum of the sizes of `descriptors`: config plus layers for an image manifest, the child
 * manifests' own sizes (not their content) for an index.
 *
 * @since 0.1.0
 * @category getters
 */
export const totalSize = (manifest: Manifest): number => descriptors(manifest).reduce((sum, d) => sum + d.size, 0)

// Platforms ------------------------------------------------------------------------------------

/**
 * A wanted platform: `os/arch[/variant]` (e.g. `linux/arm64`, `linux/arm/v7`) or an object with
 * `os`, `architecture` and optionally `variant` and `os.version`.
 *
 * @since 0.1.0
 * @category models
 */
export type PlatformSpec =
  | string
  | {
    readonly os: string
    readonly architecture: string
    readonly variant?: string | undefined
    readonly "os.version"?: string | undefined
  }

/**
 * Normalise a platform the way containerd does: `os` lower-cased (`macos` → `darwin`);
 * `x86_64`/`x86-64` → `amd64`; `aarch64` → `arm64`, whose default variant `v8` is dropped;
 * `arm` without a variant → `arm/v7`; `armhf` → `arm/v7`; `armel` → `arm/v6`; `i386` → `386`.
 * Other fields are kept.
 *
 * @since 0.1.0
 * @category platforms
 */
export const normalizePlatform = (p: Platform): Platform => {
  const { architecture, os, variant } = platform.canonical(p)
  const { variant: _variant, ...rest } = p
  return variant === "" ? { ...rest, architecture, os } : { ...rest, architecture, os, variant }
}

/**
 * Parse `os/arch[/variant]` into a normalised `Platform` (see `normalizePlatform`).
 *
 * @since 0.1.0
 * @category platforms
 */
export const parsePlatform = (input: string): Either.Either<Platform, InvalidReference> => {
  const parts = platform.parseParts(input)
  return typeof parts === "string"
    ? Either.left(new InvalidReference({ input, reason: `invalid platform: ${parts}` }))
    : Either.right(normalizePlatform(parts))
}

/**
 * Format a platform as `os/arch[/variant]`, as written (not normalised).
 *
 * @since 0.1.0
 * @category platforms
 */
export const formatPlatform = (p: Platform): string =>
  p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`

/**
 * The platform of a descriptor as `os/arch[/variant]`, if it names one.
 *
 * @since 0.1.0
 * @category platforms
 */
export const platformOf = (descriptor: Descriptor): Option.Option<string> =>
  descriptor.platform === undefined ? Option.none() : Option.some(formatPlatform(descriptor.platform))

/**
 * Whether an index entry is an attestation (BuildKit's provenance and SBOM manifests): annotated
 * `vnd.docker.reference.type: attestation-manifest`, or of platform `unknown/unknown`.
 *
 * @since 0.1.0
 * @category platforms
 */
export const isAttestation = (descriptor: Descriptor): boolean =>
  descriptor.annotations?.["vnd.docker.reference.type"] === "attestation-manifest" ||
  (descriptor.platform?.os === "unknown" && descriptor.platform.architecture === "unknown")

/**
 * Whether a platform satisfies a wanted one: same `os`, `architecture` and `variant` once both are
 * normalised (so `linux/arm64` matches `linux/arm64/v8` and `linux/aarch64`, and `linux/arm`
 * matches `linux/arm/v7`); when the wanted platform names an `os.version`, the candidate's must
 * be of the same build (`10.0.17763.*`). A string that is not a platform matches nothing.
 *
 * @since 0.1.0
 * @category platforms
 */
export const platformMatches: {
  (wanted: PlatformSpec): (candidate: Platform) => boolean
  (candidate: Platform, wanted: PlatformSpec): boolean
} = dual(2, (candidate: Platform, wanted: PlatformSpec): boolean => {
  const target = toTarget(wanted)
  return target !== undefined && rank(target, candidate) !== undefined
})

interface Target {
  readonly canonical: platform.Canonical
  readonly osVersion: string | undefined
}

const toTarget = (wanted: PlatformSpec): Target | undefined => {
  if (typeof wanted === "string") {
    const parsed = platform.parseParts(wanted)
    return typeof parsed === "string" ? undefined : { canonical: platform.canonical(parsed), osVersion: undefined }
  }
  return { canonical: platform.canonical(wanted), osVersion: wanted["os.version"] }
}

const rank = (target: Target, candidate: Platform): number | undefined =>
  platform.sameCanonical(platform.canonical(candidate), target.canonical)
    ? platform.osVersionRank(target.osVersion, candidate["os.version"])
    : undefined

/**
 * What `selectPlatform` picks from: a decoded index, or any document with `manifests` (an
 * `ImageIndex` or `DockerManifestList`).
 *
 * @since 0.1.0
 * @category platforms
 */
export type IndexInput = IndexLike | { readonly manifests: ReadonlyArray<Descriptor> }

/**
 * Pick the child manifest of an index for a platform, following containerd's normalisation (see
 * `platformMatches`). Attestation manifests and entries without a platform are skipped. When
 * several entries match, an exact `os.version` beats the same build, which beats an entry naming
 * no `os.version`; among equals the first in the index wins. A platform string that does not
 * parse selects nothing (use `parsePlatform` to report it).
 *
 * @example
 * ```ts
 * import * as Manifest from "@ocireg/core/Manifest"
 * import * as Either from "effect/Either"
 * import * as Option from "effect/Option"
 *
 * const child = (digest: string, platform: Manifest.Platform) => ({
 *   mediaType: "application/vnd.oci.image.manifest.v1+json",
 *   digest,
 *   size: 1024,
 *   platform
 * })
 * const bytes = new TextEncoder().encode(JSON.stringify({
 *   schemaVersion: 2,
 *   mediaType: "application/vnd.oci.image.index.v1+json",
 *   manifests: [
 *     child(`sha256:${"a".repeat(64)}`, { os: "linux", architecture: "amd64" }),
 *     child(`sha256:${"b".repeat(64)}`, { os: "linux", architecture: "arm64", variant: "v8" })
 *   ]
 * }))
 * const arm64 = Manifest.decode(bytes).pipe(
 *   Either.map((m) => Manifest.isIndexLike(m) ? Manifest.selectPlatform(m, "linux/arm64") : Option.none())
 * )
 * const digest = arm64.pipe(Either.map(Option.map((d) => d.digest)))
 * assert.deepStrictEqual(digest, Either.right(Option.some(`sha256:${"b".repeat(64)}`)))
 * ```
 *
 * @since 0.1.0
 * @category platforms
 */
export const selectPlatform: {
  (wanted: PlatformSpec): (index: IndexInput) => Option.Option<Descriptor>
  (index: IndexInput, wanted: PlatformSpec): Option.Option<Descriptor>
} = dual(
  2,
  (index: IndexInput, wanted: PlatformSpec): Option.Option<Descriptor> => {
    const target = toTarget(wanted)
    if (target === undefined) return Option.none()
    const entries = "_tag" in index ? index.manifest.manifests : index.manifests
    let best: Descriptor | undefined
    let bestRank = Number.POSITIVE_INFINITY
    for (const descriptor of entries) {
      if (descriptor.platform === undefined || isAttestation(descriptor)) continue
      const r = rank(target, descriptor.platform)
      if (r !== undefined && r < bestRank) {
        best = descriptor
        bestRank = r
      }
    }
    return Option.fromNullable(best)
  }
)
