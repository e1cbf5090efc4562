/**
 * `GET`, `HEAD` and `DELETE /v2/<name>/blobs/<digest>`: content by digest from the repository's
 * links, single byte ranges (`Range: bytes=a-b`, `a-`, `-n`) answered with 206 and
 * `Content-Range`, as Go's `http.ServeContent` does for distribution.
 *
 * @internal
 */
import * as Digest from "../../Digest.js"
import type { ServerContext } from "./context.js"
import * as Responses from "./responses.js"

/** A satisfiable byte range (inclusive end), `"unsatisfiable"`, or `undefined` to serve everything. */
export const parseByteRange = (
  header: string | null,
  size: number
): { readonly start: number; readonly end: number } | "unsatisfiable" | undefined => {
  if (header === null) return undefined
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  // several ranges, other units or bad syntax: a server may ignore the header (RFC 9110 §14.2)
  if (match === null || (match[1] === "" && match[2] === "")) return undefined
  if (match[1] === "") {
    const suffix = Number(match[2])
    if (suffix === 0 || size === 0) return "unsatisfiable"
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(match[1])
  const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1)
  if (match[2] !== "" && Number(match[2]) < start) return undefined
  if (start >= size) return "unsatisfiable"
  return { start, end }
}

/** `GET` or `HEAD` of a blob. */
export const getBlob = (context: ServerContext, name: string, digest: string, request: Request): Response => {
  if (!Digest.isDigest(digest)) return Responses.fail(400, "DIGEST_INVALID", Digest.validate(digest))
  const size = context.storage.blobSize(name, digest)
  if (size === undefined) return Responses.fail(404, "BLOB_UNKNOWN", digest)
  const headers: Record<string, string> = {
    "content-type": "application/octet-stream",
    "docker-content-digest": digest,
    "accept-ranges": "bytes",
    etag: `"${digest}"`,
    "cache-control": "max-age=31536000"
  }
  const range = parseByteRange(request.headers.get("range"), size)
  if (range === "unsatisfiable") {
    return Responses.fail(416, "RANGE_INVALID", undefined, { "content-range": `bytes */${size}` })
  }
  // HEAD reads nothing: a store on disk would otherwise open the file for a body nobody reads
  const body = (start: number, end: number) =>
    request.method === "HEAD" ? null : context.storage.readBlob(digest, start, end)
  if (range !== undefined) {
    return new Response(body(range.start, range.end + 1), {
      status: 206,
      headers: {
        ...headers,
        "content-length": String(range.end + 1 - range.start),
        "content-range": `bytes ${range.start}-${range.end}/${size}`
      }
    })
  }
  return new Response(body(0, size), { status: 200, headers: { ...headers, "content-length": String(size) } })
}

/** `DELETE` of a blob: removes its link from the repository (202), when deletes are enabled. */
export const deleteBlob = (context: ServerContext, name: string, digest: string): Response => {
  if (!context.settings.deleteEnabled) return Responses.fail(405, "UNSUPPORTED")
  if (!Digest.isDigest(digest)) return Responses.fail(400, "DIGEST_INVALID", Digest.validate(digest))
  if (!context.storage.unlinkBlob(name, digest)) return Responses.fail(404, "BLOB_UNKNOWN", digest)
  return Responses.empty(202, { "docker-content-digest": digest })
}
