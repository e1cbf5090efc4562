/**
 * `GET /v2/<name>/referrers/<digest>?artifactType=`: an OCI image index of the descriptors of the
 * repository's manifests whose `subject` is the digest, filtered by artifact type when asked
 * (then with `OCI-Filters-Applied: artifactType`). Never 404 for a well-formed request.
 *
 * @internal
 */
import * as Digest from "../../Digest.js"
import * as MediaType from "../../MediaType.js"
import type { ServerContext } from "./context.js"
import * as Responses from "./responses.js"

export const listReferrers = (context: ServerContext, name: string, digest: string, url: URL): Response => {
  if (!Digest.isDigest(digest)) return Responses.fail(400, "DIGEST_INVALID", Digest.validate(digest))
  const filters = url.searchParams.getAll("artifactType").filter((t) => t !== "")
  const manifests = []
  for (const manifest of context.storage.manifests(name)) {
    if (manifest.subject !== digest) continue
    if (filters.length > 0 && (manifest.artifactType === undefined || !filters.includes(manifest.artifactType))) {
      continue
    }
    manifests.push({
      mediaType: manifest.mediaType,
      digest: manifest.digest,
      size: manifest.bytes.length,
      ...(manifest.artifactType !== undefined ? { artifactType: manifest.artifactType } : {}),
      ...(manifest.annotations !== undefined ? { annotations: manifest.annotations } : {})
    })
  }
  const body = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }))
  const headers: Record<string, string> = {
    "content-type": MediaType.ociIndex,
    "content-length": String(body.length)
  }
  if (filters.length > 0) headers["oci-filters-applied"] = "artifactType"
  return new Response(body, { status: 200, headers })
}
