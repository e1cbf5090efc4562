/**
 * The answers of the test registry: OCI error bodies (`{"errors":[{"code","message","detail"}]}`)
 * with the messages distribution uses, JSON bodies, empty answers and Go's plain-text 404 page.
 *
 * @internal
 */

/** The error codes of the OCI distribution specification the test registry sends. */
export type ErrorCode =
  | "BLOB_UNKNOWN"
  | "BLOB_UPLOAD_INVALID"
  | "BLOB_UPLOAD_UNKNOWN"
  | "DIGEST_INVALID"
  | "MANIFEST_BLOB_UNKNOWN"
  | "MANIFEST_INVALID"
  | "MANIFEST_UNKNOWN"
  | "NAME_INVALID"
  | "NAME_UNKNOWN"
  | "SIZE_INVALID"
  | "UNAUTHORIZED"
  | "DENIED"
  | "UNSUPPORTED"
  | "TOOMANYREQUESTS"
  | "RANGE_INVALID"
  | "PAGINATION_NUMBER_INVALID"
  | "UNKNOWN"

const messages: Record<ErrorCode, string> = {
  BLOB_UNKNOWN: "blob unknown to registry",
  BLOB_UPLOAD_INVALID: "blob upload invalid",
  BLOB_UPLOAD_UNKNOWN: "blob upload unknown to registry",
  DIGEST_INVALID: "provided digest did not match uploaded content",
  MANIFEST_BLOB_UNKNOWN: "blob unknown to registry",
  MANIFEST_INVALID: "manifest invalid",
  MANIFEST_UNKNOWN: "manifest unknown",
  NAME_INVALID: "invalid repository name",
  NAME_UNKNOWN: "repository name not known to registry",
  SIZE_INVALID: "provided length did not match content length",
  UNAUTHORIZED: "authentication required",
  DENIED: "requested access to the resource is denied",
  UNSUPPORTED: "The operation is unsupported.",
  TOOMANYREQUESTS: "too many requests",
  RANGE_INVALID: "invalid content range",
  PAGINATION_NUMBER_INVALID: "invalid number of results requested",
  UNKNOWN: "unknown error"
}

/** One entry of an OCI error body. */
export interface ErrorEntry {
  readonly code: ErrorCode
  readonly message: string
  readonly detail?: unknown
}

/** An error entry with the standard message of its code; `detail` is left out when undefined. */
export const entry = (code: ErrorCode, detail?: unknown, message?: string): ErrorEntry =>
  detail === undefined
    ? { code, message: message ?? messages[code] }
    : { code, message: message ?? messages[code], detail }

const jsonType = "application/json; charset=utf-8"

/** A JSON answer. */
export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response => {
  const bytes = new TextEncoder().encode(JSON.stringify(body))
  return new Response(bytes, {
    status,
    headers: { "content-type": jsonType, "content-length": String(bytes.length), ...headers }
  })
}

/** An OCI error answer with one or more entries. */
export const error = (
  status: number,
  errors: ErrorEntry | ReadonlyArray<ErrorEntry>,
  headers: Record<string, string> = {}
): Response => json(status, { errors: Array.isArray(errors) ? errors : [errors] }, headers)

/** An OCI error answer with one entry of the given code. */
export const fail = (status: number, code: ErrorCode, detail?: unknown, headers: Record<string, string> = {}) =>
  error(status, entry(code, detail), headers)

/** An answer without a body (`Content-Length: 0` unless the status forbids a body). */
export const empty = (status: number, headers: Record<string, string> = {}): Response =>
  new Response(null, { status, headers: status === 204 ? headers : { "content-length": "0", ...headers } })

/** Go's `http.NotFound`, which distribution sends for paths its router does not know. */
export const notFoundPage = (): Response =>
  new Response("404 page not found\n", {
    status: 404,
    headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" }
  })

/** The same answer without its body, for `HEAD`. */
export const withoutBody = (response: Response): Response =>
  new Response(null, { status: response.status, statusText: response.statusText, headers: response.headers })
