/**
 * Editing an OCI layout's `index.json` as data: the `org.opencontainers.image.ref.name`
 * annotation that names an entry, the grammar of those names, adding or replacing a named entry
 * while every other entry stays as it was, and a per-directory lock so that read-modify-write
 * cycles of one process do not lose each other's entries.
 *
 * @internal
 */
import type * as Manifest from "@ocireg/core/Manifest"
import * as MediaType from "@ocireg/core/MediaType"
import * as Effect from "effect/Effect"

/** @internal */
export const refNameAnnotation = "org.opencontainers.image.ref.name"

// The image-layout grammar (`component ("/" component)*`, separators `-._:@+` or `--`), with `_`
// also allowed inside components, as Docker tags have it.
const refNamePattern =
  /^[A-Za-z0-9_]+(?:(?:[-._:@+]|--)[A-Za-z0-9_]+)*(?:\/[A-Za-z0-9_]+(?:(?:[-._:@+]|--)[A-Za-z0-9_]+)*)*$/

/**
 * Why a string cannot be a ref name, or `undefined`.
 *
 * @internal
 */
export const validateRefName = (name: string): string | undefined =>
  name.length === 0
    ? "empty"
    : name.length > 255
    ? "longer than 255 characters"
    : refNamePattern.test(name)
    ? undefined
    : "not of the image-layout ref grammar (letters, digits, separators -._:@+ and /)"

/** @internal */
export const refNameOf = (descriptor: Manifest.Descriptor): string | undefined =>
  descriptor.annotations?.[refNameAnnotation]

/** @internal */
export const empty: Manifest.ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }

/**
 * The index with `descriptor` named `name`: an entry of that name is replaced where it stands,
 * otherwise the entry is appended. Other entries are kept unchanged.
 *
 * @internal
 */
export const withRef = (
  index: Manifest.ImageIndex,
  name: string,
  descriptor: Manifest.Descriptor
): Manifest.ImageIndex => {
  const entry: Manifest.Descriptor = {
    ...descriptor,
    annotations: { ...descriptor.annotations, [refNameAnnotation]: name }
  }
  const at = index.manifests.findIndex((d) => refNameOf(d) === name)
  const manifests = at === -1
    ? [...index.manifests, entry]
    : index.manifests.flatMap((d, i) => i === at ? [entry] : refNameOf(d) === name ? [] : [d])
  return { ...index, manifests }
}

/**
 * The index with an unnamed entry for `descriptor`, unless an entry already has its digest.
 *
 * @internal
 */
export const withEntry = (index: Manifest.ImageIndex, descriptor: Manifest.Descriptor): Manifest.ImageIndex =>
  index.manifests.some((d) => d.digest === descriptor.digest)
    ? index
    : { ...index, manifests: [...index.manifests, descriptor] }

/**
 * The index without the entries named `name`.
 *
 * @internal
 */
export const withoutRef = (index: Manifest.ImageIndex, name: string): Manifest.ImageIndex => ({
  ...index,
  manifests: index.manifests.filter((d) => refNameOf(d) !== name)
})

const locks = new Map<string, Effect.Semaphore>()

/**
 * Run `effect` holding the index lock of the layout at `root` (one per directory, per process).
 *
 * @internal
 */
export const withIndexLock = (root: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    let lock = locks.get(root)
    if (lock === undefined) {
      lock = Effect.unsafeMakeSemaphore(1)
      locks.set(root, lock)
    }
    return lock.withPermits(1)(effect)
  })
