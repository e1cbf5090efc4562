/**
 * Build and edit multi-platform indexes in a registry, as `crane index append` and `regctl index
 * create/add/delete` do: each source image is copied into the index's repository (by digest, so
 * its manifest keeps its bytes), described with the platform its config names, and the index is
 * pushed under the target's tag.
 *
 * The index is OCI (`application/vnd.oci.image.index.v1+json`) unless every child is a Docker
 * schema 2 manifest, when it is a Docker manifest list (mixing would make Docker clients refuse
 * it); `mediaType` forces either.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
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
 * Options of `create` and `add`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Image.TransferOptions {
  /** Force the index media type. Default: a Docker manifest list when every child is Docker, else OCI. */
  readonly mediaType?: typeof MediaType.ociIndex | typeof MediaType.dockerManifestList | undefined
  /** Annotations of the index (OCI indexes only). */
  readonly annotations?: Readonly<Record<string, string>> | undefined
}

/**
 * What `create`, `add` and `remove` pushed.
 *
 * @since 0.1.0
 * @category models
 */
export interface IndexResult {
  readonly reference: string
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly manifests: ReadonlyArray<Manifest.Descriptor>
}

const at = (ref: Reference.Reference, digest: string) =>
  Reference.make({ registry: ref.registry, repository: ref.repository, digest })

const platformOfConfig = (config: Manifest.ImageConfig): Manifest.Platform => ({
  os: config.os,
  architecture: config.architecture,
  ...(config.variant !== undefined ? { variant: config.variant } : {}),
  ...(config["os.version"] !== undefined ? { "os.version": config["os.version"] } : {}),
  ...(config["os.features"] !== undefined ? { "os.features": config["os.features"] } : {})
})

/**
 * The descriptors a source contributes, copied into the target repository: an image gives one
 * (with its config's platform), an index gives its children as they are.
 */
const contribute = (source: Registry.ReferenceInput, target: Reference.Reference, options: Options) =>
  Effect.gen(function*() {
    const src = yield* toReference(source)
    const found = yield* Registry.getManifest(src)
    yield* Image.copy(yield* at(src, found.digest), yield* at(target, found.digest), {
      concurrency: options.concurrency,
      onEvent: options.onEvent
    })
    if (Manifest.isIndexLike(found.manifest)) return found.manifest.manifest.manifests
    const resolved = yield* Image.resolve(yield* at(src, found.digest))
    return [
      {
        mediaType: found.mediaType,
        digest: found.digest,
        size: found.size,
        platform: platformOfConfig(resolved.config)
      } satisfies Manifest.Descriptor
    ]
  })

const samePlatform = (a: Manifest.Descriptor, b: Manifest.Descriptor) =>
  a.platform !== undefined && b.platform !== undefined &&
  Option.getOrUndefined(Manifest.platformOf(a)) === Option.getOrUndefined(Manifest.platformOf(b))

/** Later descriptors replace earlier ones of the same digest or the same platform. */
const merge = (existing: ReadonlyArray<Manifest.Descriptor>, added: ReadonlyArray<Manifest.Descriptor>) =>
  added.reduce<Array<Manifest.Descriptor>>(
    (all, d) => [...all.filter((e) => e.digest !== d.digest && !samePlatform(e, d)), d],
    [...existing]
  )

const pushIndex = (
  target: Reference.Reference,
  manifests: ReadonlyArray<Manifest.Descriptor>,
  options: Options,
  annotations: Readonly<Record<string, string>> | undefined
) =>
  Effect.gen(function*() {
    const mediaType = options.mediaType ??
      (manifests.length > 0 && manifests.every((d) => d.mediaType === MediaType.dockerManifest)
        ? MediaType.dockerManifestList
        : MediaType.ociIndex)
    if (mediaType === MediaType.dockerManifestList && manifests.some((d) => d.mediaType !== MediaType.dockerManifest)) {
      return yield* new InvalidManifest({
        reason: "SchemaViolation",
        mediaType,
        detail: "a Docker manifest list holds only Docker schema 2 manifests"
      })
    }
    const bytes = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests,
      ...(mediaType === MediaType.ociIndex && annotations !== undefined && Object.keys(annotations).length > 0
        ? { annotations }
        : {})
    }))
    const pushed = yield* Registry.putManifest(target, { bytes, mediaType })
    return {
      reference: Reference.format(target),
      digest: pushed.digest,
      mediaType,
      manifests
    } satisfies IndexResult
  })

/**
 * Make an index of `sources` (images, whose platform is read from their configs, or indexes,
 * whose children are taken as they are) and push it as `target`. Sources from other repositories
 * or registries are copied into the target's repository first. A later source replaces an
 * earlier one of the same platform.
 *
 * @since 0.1.0
 * @category constructors
 */
export const create = (
  target: Registry.ReferenceInput,
  sources: ReadonlyArray<Registry.ReferenceInput>,
  options: Options = {}
): Effect.Effect<IndexResult, RegistryError, RegistryClient | Digest.Hasher> =>
  Effect.gen(function*() {
    const ref = yield* toReference(target)
    let manifests: ReadonlyArray<Manifest.Descriptor> = []
    for (const source of sources) manifests = merge(manifests, yield* contribute(source, ref, options))
    return yield* pushIndex(ref, manifests, options, options.annotations)
  }).pipe(Effect.withSpan("ImageIndex.create", { attributes: { "image.reference": String(target) } }))

const existingIndex = (ref: Reference.Reference) =>
  Effect.gen(function*() {
    const found = yield* Registry.getManifest(ref)
    if (!Manifest.isIndexLike(found.manifest)) {
      return yield* new InvalidManifest({
        reason: "SchemaViolation",
        mediaType: found.mediaType,
        detail: `${Reference.format(ref)} is an image, not an index`
      })
    }
    const annotations = found.manifest._tag === "ImageIndex" ? found.manifest.manifest.annotations : undefined
    return { found, manifests: found.manifest.manifest.manifests, annotations }
  })

/**
 * Add `sources` to the index `target` names and push the result under the same reference. An
 * added image replaces a child of the same platform (or digest). The index keeps its media type
 * and annotations.
 *
 * @since 0.1.0
 * @category editing
 */
export const add = (
  target: Registry.ReferenceInput,
  sources: ReadonlyArray<Registry.ReferenceInput>,
  options: Options = {}
): Effect.Effect<IndexResult, RegistryError, RegistryClient | Digest.Hasher> =>
  Effect.gen(function*() {
    const ref = yield* toReference(target)
    const current = yield* existingIndex(ref)
    let manifests = current.manifests
    for (const source of sources) manifests = merge(manifests, yield* contribute(source, ref, options))
    const mediaType = options.mediaType ??
      (current.found.mediaType === MediaType.dockerManifestList &&
          manifests.every((d) => d.mediaType === MediaType.dockerManifest)
        ? MediaType.dockerManifestList
        : MediaType.ociIndex)
    return yield* pushIndex(ref, manifests, { ...options, mediaType }, options.annotations ?? current.annotations)
  }).pipe(Effect.withSpan("ImageIndex.add", { attributes: { "image.reference": String(target) } }))

/**
 * Remove the children of an index that match a platform (`os/arch[/variant]`) or a digest, and
 * push the result under the same reference. Fails when nothing matches.
 *
 * @since 0.1.0
 * @category editing
 */
export const remove = (
  target: Registry.ReferenceInput,
  which: { readonly platform: string } | { readonly digest: string },
  options: Options = {}
): Effect.Effect<IndexResult, RegistryError, RegistryClient | Digest.Hasher> =>
  Effect.gen(function*() {
    const ref = yield* toReference(target)
    const current = yield* existingIndex(ref)
    const matches = (d: Manifest.Descriptor) =>
      "digest" in which ? d.digest === which.digest : Option.getOrUndefined(Manifest.platformOf(d)) === which.platform
    const kept = current.manifests.filter((d) => !matches(d))
    if (kept.length === current.manifests.length) {
      return yield* new InvalidManifest({
        reason: "SchemaViolation",
        mediaType: current.found.mediaType,
        detail: `${Reference.format(ref)} has no child ${"digest" in which ? which.digest : which.platform}`
      })
    }
    const mediaType = options.mediaType ??
      (current.found.mediaType === MediaType.dockerManifestList ? MediaType.dockerManifestList : MediaType.ociIndex)
    return yield* pushIndex(ref, kept, { ...options, mediaType }, current.annotations)
  }).pipe(Effect.withSpan("ImageIndex.remove", { attributes: { "image.reference": String(target) } }))
