/**
 * The storage service a registry redirects blob downloads to (S3, Google Cloud Storage, Azure
 * Blob), played on a second origin by the same handler. A redirect carries a signed URL with the
 * semantics of the real services:
 *
 * - the signature covers the method: a `HEAD` on a URL signed for `GET` is refused with 403 on S3
 *   and GCS (SigV4 and GCS V4 put the method in the canonical request; see
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html and
 *   containerd/stargz-snapshotter#167, where `HEAD` on GHCR's S3 URL answers 403); Azure's SAS
 *   grants "read" (`sp=r`), which covers `HEAD`;
 * - a request that carries its own `Authorization` is refused (S3: 400 "Only one auth mechanism
 *   allowed"; GCS 400; Azure 403 `AuthenticationFailed`), so a client that forwards the
 *   registry's credentials fails;
 * - signatures expire (five minutes here, by the registry's `Clock`);
 * - single byte ranges are served, as object stores do.
 *
 * @internal
 */
import * as Digest from "../../Digest.js"
import { parseByteRange } from "./blobs.js"
import { digestOf, type ServerContext } from "./context.js"

/** Which storage service plays the redirect target. */
export type StorageKind = "s3" | "gcs" | "azure"

/** How long a signed URL is valid, in seconds. */
export const signedUrlLifetime = 300

interface Flavour {
  /** The query parameter names: expiry (epoch seconds here) and signature. */
  readonly expires: string
  readonly signature: string
  /** Extra fixed query parameters, as the real services send them. */
  readonly fixed: Readonly<Record<string, string>>
  /** Whether a `GET` signature also admits `HEAD`. */
  readonly headAllowed: boolean
  readonly authorizationStatus: number
  readonly error: (status: number, code: string, message: string) => Response
}

const xml = (status: number, code: string, message: string): Response =>
  new Response(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`,
    {
      status,
      headers: { "content-type": "application/xml" }
    }
  )

const flavours: Record<StorageKind, Flavour> = {
  s3: {
    expires: "X-Amz-Expires",
    signature: "X-Amz-Signature",
    fixed: { "X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-SignedHeaders": "host" },
    headAllowed: false,
    authorizationStatus: 400,
    error: xml
  },
  gcs: {
    expires: "X-Goog-Expires",
    signature: "X-Goog-Signature",
    fixed: { "X-Goog-Algorithm": "GOOG4-RSA-SHA256", "X-Goog-SignedHeaders": "host" },
    headAllowed: false,
    authorizationStatus: 400,
    error: xml
  },
  azure: {
    expires: "se",
    signature: "sig",
    fixed: { sv: "2021-08-06", sr: "b", sp: "r" },
    headAllowed: true,
    authorizationStatus: 403,
    error: xml
  }
}

const signature = (context: ServerContext, method: string, path: string, expires: string): string =>
  digestOf(context, new TextEncoder().encode(`${method}\n${path}\n${expires}\n${context.settings.signingKey}`)).slice(7)

/** The storage origin of a registry, if its dialect redirects blobs. */
export const storageOrigin = (context: ServerContext): string | undefined =>
  context.settings.blobStorage === undefined ? undefined : context.settings.storageOrigin

/** Whether a request is for the storage origin. */
export const isStorageRequest = (context: ServerContext, url: URL): boolean => {
  const origin = storageOrigin(context)
  return origin !== undefined && new URL(origin).host === url.host
}

/** A URL on the storage origin, signed for `GET` of one blob. */
export const signedUrl = (context: ServerContext, digest: string): string => {
  const kind = context.settings.blobStorage ?? "s3"
  const flavour = flavours[kind]
  const path = `/blobs/${digest.replace(":", "/")}`
  const expires = String(Math.floor(context.now() / 1000) + signedUrlLifetime)
  const query = new URLSearchParams({
    ...flavour.fixed,
    [flavour.expires]: expires,
    [flavour.signature]: signature(context, "GET", path, expires)
  })
  return `${context.settings.storageOrigin}${path}?${query.toString()}`
}

/** Answers a request to the storage origin. */
export const handle = (context: ServerContext, request: Request, url: URL): Response => {
  const flavour = flavours[context.settings.blobStorage ?? "s3"]
  if (request.headers.get("authorization") !== null) {
    return flavour.error(
      flavour.authorizationStatus,
      flavour.authorizationStatus === 400 ? "InvalidArgument" : "AuthenticationFailed",
      "Only one auth mechanism allowed; the signed query or the Authorization header, not both"
    )
  }
  const expires = url.searchParams.get(flavour.expires)
  const given = url.searchParams.get(flavour.signature)
  if (expires === null || given === null) {
    return flavour.error(403, "AccessDenied", "Query-string authentication required")
  }
  const method = request.method === "HEAD" && flavour.headAllowed ? "GET" : request.method
  if (given !== signature(context, method, url.pathname, expires)) {
    return flavour.error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match")
  }
  if (Number(expires) * 1000 <= context.now()) return flavour.error(403, "AccessDenied", "Request has expired")
  const match = /^\/blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(url.pathname)
  const digest = match === null ? undefined : `${match[1]}:${match[2]}`
  const size = digest !== undefined && Digest.isDigest(digest) ? context.storage.storedBlobSize(digest) : undefined
  if (size === undefined) return flavour.error(404, "NoSuchKey", "The specified key does not exist.")
  const headers: Record<string, string> = {
    "content-type": "application/octet-stream",
    "accept-ranges": "bytes",
    etag: `"${digest!.slice(digest!.indexOf(":") + 1, digest!.indexOf(":") + 33)}"`
  }
  const range = parseByteRange(request.headers.get("range"), size)
  if (range === "unsatisfiable") {
    return flavour.error(416, "InvalidRange", "The requested range is not satisfiable")
  }
  const body = (start: number, end: number) =>
    request.method === "HEAD" ? null : context.storage.readBlob(digest!, start, end)
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
  return new Response(body(0, size), {
    status: 200,
    headers: { ...headers, "content-length": String(size) }
  })
}
