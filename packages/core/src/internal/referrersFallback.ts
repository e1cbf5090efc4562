/**
 * The referrers tag schema (OCI distribution 1.1, for registries without the referrers API): a
 * manifest with a `subject` is listed in an index tagged `sha256-<hex of the subject>`. Pushing
 * such a manifest reads that index, adds the manifest's descriptor unless it is there, and writes
 * the index back, with `If-Match` on the ETag the registry gave so that two concurrent pushers
 * do not lose each other's entries (a 412 starts the read-modify-write again).
 *
 * @internal
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as Effect from "effect/Effect"
import * as Digest from "../Digest.js"
import * as Manifest from "../Manifest.js"
import * as MediaType from "../MediaType.js"
import { RegistryClient } from "../RegistryClient.js"
import { InvalidManifest, type RegistryError } from "../RegistryError.js"
import { discard, headerRecord, readLimited } from "./http.js"

/** The tag of a subject's fallback referrers index. */
export const tagFor = (digest: Digest.Digest): string => `${Digest.algorithm(digest)}-${Digest.encoded(digest)}`

/** The descriptor a referrers index lists for a pushed manifest. */
export const descriptorOf = (manifest: Manifest.Manifest, digest: Digest.Digest, size: number): Manifest.Descriptor => {
  const doc = manifest.manifest as Partial<Manifest.ImageManifest & Manifest.ImageIndex>
  const artifactType = doc.artifactType ?? (manifest._tag === "ImageManifest" ? doc.config?.mediaType : undefined)
  return {
    mediaType: manifest.mediaType,
    digest,
    size,
    ...(artifactType !== undefined ? { artifactType } : {}),
    ...(doc.annotations !== undefined ? { annotations: doc.annotations } : {})
  }
}

/** The subject a manifest names, if any. */
export const subjectOf = (manifest: Manifest.Manifest): Manifest.Descriptor | undefined =>
  (manifest.manifest as { readonly subject?: Manifest.Descriptor }).subject

const maxAttempts = 5

/** Add `entry` to the fallback index of `subject` in `repository`. */
export const addReferrer = (
  registry: string,
  repository: string,
  subject: Digest.Digest,
  entry: Manifest.Descriptor
): Effect.Effect<void, RegistryError, RegistryClient | Digest.Hasher> =>
  Effect.gen(function*() {
    const client = yield* RegistryClient
    const path = `/v2/${repository}/manifests/${tagFor(subject)}`
    const scopes = [`repository:${repository}:pull,push`]
    for (let attempt = 1;; attempt++) {
      const current = yield* client.execute({
        registry,
        method: "GET",
        path,
        headers: { accept: MediaType.ociIndex },
        scopes,
        notFound: "manifest",
        repository,
        acceptStatus: [404]
      })
      let existing: ReadonlyArray<Manifest.Descriptor> = []
      const etag = headerRecord(current)["etag"]
      if (current.status === 404) {
        yield* discard(current)
      } else {
        const bytes = yield* readLimited(current, client.options.manifestSizeLimit, "referrers index", "GET", path)
        const index = yield* Manifest.decode(bytes, headerRecord(current)["content-type"])
        if (!Manifest.isIndexLike(index)) {
          return yield* Effect.fail(
            new InvalidManifest({
              reason: "UnsupportedMediaType",
              mediaType: index.mediaType,
              detail: `the referrers tag ${tagFor(subject)} holds a manifest, not an index`
            })
          )
        }
        existing = index.manifest.manifests
      }
      if (existing.some((d) => d.digest === entry.digest)) return
      const body = new TextEncoder().encode(JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [...existing, entry]
      }))
      const written = yield* client.execute({
        registry,
        method: "PUT",
        path,
        headers: etag !== undefined ? { "if-match": etag } : {},
        body: HttpBody.uint8Array(body, MediaType.ociIndex),
        scopes,
        notFound: "repository",
        repository,
        idempotent: true,
        acceptStatus: attempt < maxAttempts ? [412] : []
      })
      yield* discard(written)
      if (written.status !== 412) return
    }
  })
