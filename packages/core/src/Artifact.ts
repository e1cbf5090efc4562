/**
 * OCI artifacts as oras makes them: an image manifest with an `artifactType`, the empty config
 * (`application/vnd.oci.empty.v1+json`, the two bytes `{}`), files as layers with their own media
 * types and `org.opencontainers.image.title` annotations, and optionally a `subject` that
 * attaches the artifact to an image (signatures, SBOMs, attestations). Also the tree of an
 * image's referrers (`oras discover`).
 *
 * Follows the OCI image specification's "Guidelines for Artifact Usage" (image-spec 1.1,
 * manifest.md): `artifactType` set, `config` the empty descriptor when there is no config.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as BlobSource from "./BlobSource.js"
import type * as Digest from "./Digest.js"
import * as Image from "./Image.js"
import { toReference } from "./internal/referenceInput.js"
import * as Manifest from "./Manifest.js"
import * as MediaType from "./MediaType.js"
import * as Reference from "./Reference.js"
import * as Registry from "./Registry.js"
import type { RegistryClient } from "./RegistryClient.js"
import { InvalidManifest, type RegistryError } from "./RegistryError.js"

/**
 * The annotation that names a file of an artifact.
 *
 * @since 0.1.0
 * @category constants
 */
export const titleAnnotation = "org.opencontainers.image.title"

/**
 * The empty config descriptor: `{}` (digest of the two bytes), with the bytes inlined as `data`.
 *
 * @since 0.1.0
 * @category constants
 */
export const emptyConfig: Manifest.Descriptor = {
  mediaType: MediaType.ociEmpty,
  digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" as Digest.Digest,
  size: 2,
  data: "e30="
} as Manifest.Descriptor

const emptyBytes = new Uint8Array([0x7b, 0x7d])

/**
 * One file of an artifact: its bytes, media type and title (the file name it is pulled as).
 *
 * @since 0.1.0
 * @category models
 */
export interface ArtifactFile<E = never, R = never> {
  readonly source: BlobSource.BlobSource<E, R>
  readonly mediaType: string
  readonly title: string
  readonly annotations?: Readonly<Record<string, string>> | undefined
}

/**
 * What to push: the artifact type, the files, and optional annotations and subject.
 *
 * @since 0.1.0
 * @category models
 */
export interface ArtifactSpec<E = never, R = never> {
  readonly artifactType: string
  readonly files: ReadonlyArray<ArtifactFile<E, R>>
  readonly annotations?: Readonly<Record<string, string>> | undefined
  /** The manifest this artifact refers to (`subject`). */
  readonly subject?: Manifest.Descriptor | undefined
}

/**
 * The manifest bytes of an artifact.
 *
 * @since 0.1.0
 * @category constructors
 */
export const manifestBytes = <E, R>(spec: ArtifactSpec<E, R>): Uint8Array =>
  new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: spec.artifactType,
    config: { mediaType: MediaType.ociEmpty, digest: emptyConfig.digest, size: 2, data: "e30=" },
    layers: spec.files.map((file) => ({
      mediaType: file.mediaType,
      digest: file.source.digest,
      size: file.source.size,
      annotations: { ...file.annotations, [titleAnnotation]: file.title }
    })),
    ...(spec.subject !== undefined
      ? { subject: { mediaType: spec.subject.mediaType, digest: spec.subject.digest, size: spec.subject.size } }
      : {}),
    ...(spec.annotations !== undefined && Object.keys(spec.annotations).length > 0
      ? { annotations: spec.annotations }
      : {})
  }))

/**
 * Push an artifact: the empty config and each file as a blob, then the manifest, under the
 * reference's tag (or by digest when it has none).
 *
 * @since 0.1.0
 * @category pushing
 */
export const push = <E, R>(
  reference: Registry.ReferenceInput,
  spec: ArtifactSpec<E, R>,
  options: Image.TransferOptions = {}
): Effect.Effect<Registry.PutManifestResult, RegistryError | E, RegistryClient | Digest.Hasher | R> =>
  Effect.gen(function*() {
    const ref = yield* toReference(reference)
    const titles = new Set<string>()
    for (const file of spec.files) {
      if (titles.has(file.title)) {
        return yield* new InvalidManifest({
          reason: "SchemaViolation",
          mediaType: MediaType.ociManifest,
          detail: `two files are titled ${file.title}`
        })
      }
      titles.add(file.title)
    }
    const config = yield* BlobSource.fromBytes(emptyBytes)
    const bytes = manifestBytes(spec)
    const target = ref.tag === undefined && ref.digest === undefined
      ? yield* Effect.flatMap(
        BlobSource.fromBytes(bytes),
        (s) => Reference.make({ registry: ref.registry, repository: ref.repository, digest: s.digest })
      )
      : ref
    return yield* Image.push(target, {
      blobs: [config as BlobSource.BlobSource<E, R>, ...spec.files.map((f) => f.source)],
      manifest: { bytes, mediaType: MediaType.ociManifest }
    }, options)
  }).pipe(Effect.withSpan("Artifact.push", { attributes: { "artifact.type": spec.artifactType } }))

/**
 * Attach an artifact to an image: resolve `subject` to its descriptor (a tag is resolved with a
 * `HEAD`) and push the artifact by digest into the subject's repository, with `subject` set, so
 * the referrers API (or the fallback tag) lists it.
 *
 * @since 0.1.0
 * @category pushing
 */
export const attach = <E, R>(
  subject: Registry.ReferenceInput,
  spec: Omit<ArtifactSpec<E, R>, "subject">,
  options: Image.TransferOptions = {}
): Effect.Effect<Registry.PutManifestResult, RegistryError | E, RegistryClient | Digest.Hasher | R> =>
  Effect.gen(function*() {
    const ref = yield* toReference(subject)
    const head = yield* Registry.headManifest(ref)
    const descriptor = { mediaType: head.mediaType, digest: head.digest, size: head.size } as Manifest.Descriptor
    const repository = yield* Reference.make({ registry: ref.registry, repository: ref.repository })
    return yield* push(repository, { ...spec, subject: descriptor }, options)
  }).pipe(Effect.withSpan("Artifact.attach", { attributes: { "artifact.type": spec.artifactType } }))

/**
 * A fetched artifact: its manifest and its files' descriptors with their titles.
 *
 * @since 0.1.0
 * @category models
 */
export interface Fetched {
  readonly reference: Reference.Reference
  readonly digest: Digest.Digest
  readonly artifactType: string | undefined
  readonly annotations: Readonly<Record<string, string>> | undefined
  readonly subject: Manifest.Descriptor | undefined
  readonly files: ReadonlyArray<{ readonly title: string | undefined; readonly descriptor: Manifest.Descriptor }>
}

/**
 * Fetch an artifact's manifest: its type (the manifest's `artifactType`, else its config media
 * type, as the image specification says), annotations, subject, and the files (layers). Fails
 * with `InvalidManifest` for an index.
 *
 * @since 0.1.0
 * @category pulling
 */
export const fetch = (
  reference: Registry.ReferenceInput
): Effect.Effect<Fetched, RegistryError, RegistryClient | Digest.Hasher> =>
  Effect.gen(function*() {
    const ref = yield* toReference(reference)
    const found = yield* Registry.getManifest(ref)
    if (Manifest.isIndexLike(found.manifest)) {
      return yield* new InvalidManifest({
        reason: "SchemaViolation",
        mediaType: found.mediaType,
        detail: `${Reference.format(ref)} is an index, not an artifact`
      })
    }
    const manifest = found.manifest.manifest as Manifest.ImageManifest
    return {
      reference: ref,
      digest: found.digest,
      artifactType: manifest.artifactType ??
        (manifest.config.mediaType !== MediaType.ociConfig ? manifest.config.mediaType : undefined),
      annotations: manifest.annotations,
      subject: manifest.subject,
      files: manifest.layers.map((descriptor) => ({ title: descriptor.annotations?.[titleAnnotation], descriptor }))
    } satisfies Fetched
  }).pipe(Effect.withSpan("Artifact.fetch", { attributes: { "image.reference": String(reference) } }))

/**
 * A node of the referrers tree: a manifest and what refers to it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReferrerNode {
  readonly descriptor: Manifest.Descriptor
  readonly referrers: ReadonlyArray<ReferrerNode>
}

/**
 * The tree of referrers of an image (`oras discover`): the image's referrers, theirs (a signature
 * of an SBOM), and so on down to `depth` levels (default 4), each manifest visited once.
 *
 * @since 0.1.0
 * @category discovering
 */
export const discover = (
  reference: Registry.ReferenceInput,
  options: { readonly artifactType?: string | undefined; readonly depth?: number | undefined } = {}
): Effect.Effect<ReferrerNode, RegistryError, RegistryClient | Digest.Hasher> =>
  Effect.gen(function*() {
    const ref = yield* toReference(reference)
    const head = yield* Registry.headManifest(ref)
    const seen = new Set<string>([head.digest])
    const walk = (
      descriptor: Manifest.Descriptor,
      depth: number
    ): Effect.Effect<ReferrerNode, RegistryError, RegistryClient | Digest.Hasher> =>
      Effect.gen(function*() {
        if (depth === 0) return { descriptor, referrers: [] }
        const at = yield* Reference.make({
          registry: ref.registry,
          repository: ref.repository,
          digest: descriptor.digest
        })
        const found = yield* Registry.getReferrers(at, {
          artifactType: depth === (options.depth ?? 4) ? options.artifactType : undefined
        })
        const fresh = found.filter((d) => !seen.has(d.digest))
        for (const d of fresh) seen.add(d.digest)
        return { descriptor, referrers: yield* Effect.forEach(fresh, (d) => walk(d, depth - 1)) }
      })
    return yield* walk(
      { mediaType: head.mediaType, digest: head.digest, size: head.size } as Manifest.Descriptor,
      options.depth ?? 4
    )
  }).pipe(Effect.withSpan("Artifact.discover", { attributes: { "image.reference": String(reference) } }))
