/**
 * Reading request bodies, whole, with an optional size limit, and checking them against the
 * `Content-Length` the client declared.
 *
 * @internal
 */
import { parseContentLength } from "../headers.js"
import * as Responses from "./responses.js"
import { concat } from "./storage.js"

/** A body read whole, or the reason it was refused. */
export type Body =
  | { readonly _tag: "Bytes"; readonly bytes: Uint8Array }
  | { readonly _tag: "TooLarge"; readonly limit: number }
  | { readonly _tag: "LengthMismatch"; readonly declared: number; readonly actual: number }

/**
 * Reads the body of a request. Stops reading (and cancels the body) as soon as it exceeds
 * `limit`; compares the number of bytes with a declared `Content-Length`.
 */
export const readBody = async (request: Request, limit?: number): Promise<Body> => {
  const declared = parseContentLength(request.headers.get("content-length") ?? undefined)
  if (limit !== undefined && declared !== undefined && declared > limit) {
    await request.body?.cancel().catch(() => undefined)
    return { _tag: "TooLarge", limit }
  }
  const parts: Array<Uint8Array> = []
  let size = 0
  if (request.body !== null) {
    const reader = request.body.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.length
      if (limit !== undefined && size > limit) {
        await reader.cancel().catch(() => undefined)
        return { _tag: "TooLarge", limit }
      }
      parts.push(value)
    }
  }
  if (declared !== undefined && declared !== size) return { _tag: "LengthMismatch", declared, actual: size }
  return { _tag: "Bytes", bytes: parts.length === 0 ? new Uint8Array(0) : concat(parts) }
}

/** The answer to a body that could not be read whole: 413 when too large, 400 on a length mismatch. */
export const bodyFailure = (
  body: Exclude<Body, { readonly _tag: "Bytes" }>,
  tooLarge: Responses.ErrorCode = "SIZE_INVALID"
): Response => {
  switch (body._tag) {
    case "TooLarge":
      return Responses.fail(413, tooLarge, `body larger than ${body.limit} bytes`)
    case "LengthMismatch":
      return Responses.fail(400, "SIZE_INVALID", { declared: body.declared, received: body.actual })
  }
}
