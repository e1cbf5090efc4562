/**
 * Collecting everything an image or index consists of, wherever its manifests come from (a
 * registry or a layout): the manifests in post-order (children before the index naming them, so
 * writing them in this order never publishes a manifest before its content) and the distinct
 * config and layer blobs of all image manifests. Indexes are followed recursively (every child:
 * every platform and the attestation manifests, so the digests stay complete), each digest once,
 * to a bounded depth. Blobs with `urls` (foreign, non-distributable layers) are left out, as
 * registries do not hold them.
 *
 * @internal
 */
import type * as Digest from "@ocireg/core/Digest"
import * as Manifest from "@ocireg/core/Manifest"
import { InvalidManifest } from "@ocireg/core/RegistryError"
import * as Effect from "effect/Effect"

/** A fetched manifest: what the walk needs of it. @internal */
export interface Node {
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly manifest: Manifest.Manifest
}

/** What an image or index consists of. @internal */
export interface Graph<M extends Node> {
  /** Post-order: children first, the root last. */
  readonly manifests: ReadonlyArray<M>
  /** The distinct config and layer blobs, in first-seen order. */
  readonly blobs: ReadonlyArray<Manifest.Descriptor>
}

/** How deep indexes may nest under the root (an index of indexes of images is depth 2). @internal */
export const maxDepth = 4

/**
 * Walk the graph below `root`, fetching children with `fetch` (up to `concurrency` at a time).
 *
 * @internal
 */
export const walk = <M extends Node, E, R>(
  root: M,
  fetch: (child: Manifest.Descriptor) => Effect.Effect<M, E, R>,
  concurrency: number
): Effect.Effect<Graph<M>, E | InvalidManifest, R> =>
  Effect.suspend(() => {
    const manifests: Array<M> = []
    const blobs = new Map<string, Manifest.Descriptor>()
    const seen = new Set<string>()
    const visit = (node: M, depth: number): Effect.Effect<void, E | InvalidManifest, R> =>
      Effect.suspend(() => {
        if (seen.has(node.digest)) return Effect.void
        seen.add(node.digest)
        if (!Manifest.isIndexLike(node.manifest)) {
          for (const descriptor of Manifest.descriptors(node.manifest)) {
            if (!descriptor.urls?.length && !blobs.has(descriptor.digest)) blobs.set(descriptor.digest, descriptor)
          }
          manifests.push(node)
          return Effect.void
        }
        if (depth >= maxDepth) {
          return Effect.fail(
            new InvalidManifest({
              reason: "SchemaViolation",
              mediaType: node.mediaType,
              detail: `indexes nested deeper than ${maxDepth} levels`
            })
          )
        }
        const children = node.manifest.manifest.manifests.filter((child) => !seen.has(child.digest))
        return Effect.forEach(children, (child) => Effect.flatMap(fetch(child), (next) => visit(next, depth + 1)), {
          concurrency,
          discard: true
        }).pipe(Effect.tap(() => {
          manifests.push(node)
        }))
      })
    return Effect.map(visit(root, 0), () => ({ manifests, blobs: [...blobs.values()] }))
  })
