/**
 * Blob uploads as distribution runs them: `POST` opens a session (202, `Location` with a `_state`
 * query that changes with every offset, `Range: 0-0` while empty, `Docker-Upload-UUID`), or
 * stores a monolithic body (`?digest=`, 201), or mounts a blob from another repository
 * (`?mount=&from=`, 201, else a new session); `PATCH` appends (416 `RANGE_INVALID` when its
 * `Content-Range` does not start at the session's offset); `PUT ?digest=` closes it (400
 * `DIGEST_INVALID` on a mismatch, which also cancels the session, as distribution does); `GET`
 * gives the status (204) and `DELETE` cancels (204).
 *
 * @internal
 */
import * as Digest from "../../Digest.js"
import { parseContentLength } from "../headers.js"
import { allows, type Identity } from "./auth.js"
import { bodyFailure, readBody } from "./body.js"
import { digestOf, randomHex, randomUuid, type ServerContext } from "./context.js"
import * as Responses from "./responses.js"
import { validateName } from "./routing.js"
import { MemoryStorage, type UploadSession } from "./storage.js"

const sessionUrl = (session: UploadSession): string =>
  `/v2/${session.name}/blobs/uploads/${session.id}?_state=${session.state}`

/** Distribution's `Range` of a session: the last byte offset, clamped at 0 (so `0-0` while empty). */
const rangeOf = (session: UploadSession): string => `0-${Math.max(session.size - 1, 0)}`

/** The headers of distribution's `blobUploadResponse`. */
const sessionHeaders = (session: UploadSession): Record<string, string> => ({
  location: sessionUrl(session),
  range: rangeOf(session),
  "docker-upload-uuid": session.id,
  "content-length": "0"
})

/** The headers of distribution's `writeBlobCreatedHeaders`. */
const createdHeaders = (name: string, digest: string): Record<string, string> => ({
  location: `/v2/${name}/blobs/${digest}`,
  "docker-content-digest": digest,
  "content-length": "0"
})

const newState = (): string => randomHex(16)

/** Moves the session to a new `_state`: the old one becomes stale. */
const advance = (session: UploadSession): void => {
  session.pastStates.add(session.state)
  session.state = newState()
}

const newSession = (context: ServerContext, name: string): UploadSession => {
  const session: UploadSession = {
    id: randomUuid(),
    name,
    size: 0,
    state: newState(),
    pastStates: new Set(),
    shortChunk: false
  }
  context.storage.openUpload(session)
  return session
}

const open = (context: ServerContext, name: string): Response => {
  const session = newSession(context, name)
  const headers = sessionHeaders(session)
  if (context.settings.chunkMinLength !== undefined) {
    headers["oci-chunk-min-length"] = String(context.settings.chunkMinLength)
  }
  return new Response(null, { status: 202, headers })
}

const digestParameter = (url: URL): { readonly digest: Digest.Digest } | { readonly error: Response } => {
  const value = url.searchParams.get("digest")
  if (value === null || value === "") {
    return { error: Responses.fail(400, "DIGEST_INVALID", "digest missing") }
  }
  const reason = Digest.validate(value)
  return reason === undefined
    ? { digest: value as Digest.Digest }
    : { error: Responses.fail(400, "DIGEST_INVALID", `digest parsing failed: ${reason}`) }
}

/** `POST /v2/<name>/blobs/uploads/`: a mount, a monolithic upload, or a new session. */
export const startUpload = async (
  context: ServerContext,
  name: string,
  identity: Identity,
  request: Request,
  url: URL
): Promise<Response> => {
  const mount = url.searchParams.get("mount")
  const from = url.searchParams.get("from")
  if (mount !== null && from !== null) {
    // distribution ignores a bad mount request and opens a session instead; so does this
    if (
      Digest.isDigest(mount) && validateName(from) === undefined &&
      context.storage.blobSize(from, mount) !== undefined &&
      allows(identity, { type: "repository", name: from, actions: ["pull"] })
    ) {
      context.storage.linkBlob(name, mount)
      return new Response(null, { status: 201, headers: createdHeaders(name, mount) })
    }
    await request.body?.cancel().catch(() => undefined)
    return open(context, name)
  }
  if (url.searchParams.has("digest") && context.settings.monolithicPost) {
    const parameter = digestParameter(url)
    if ("error" in parameter) return parameter.error
    if (context.storage instanceof MemoryStorage) {
      // in memory the bytes are held whole anyway: one read, one hash, no session (twice as fast)
      const body = await readBody(request)
      if (body._tag !== "Bytes") return bodyFailure(body)
      const actual = digestOf(context, body.bytes, Digest.algorithm(parameter.digest))
      if (actual !== parameter.digest) {
        return Responses.fail(400, "DIGEST_INVALID", { expected: parameter.digest, actual })
      }
      context.storage.putBlob(name, parameter.digest, body.bytes)
      return new Response(null, { status: 201, headers: createdHeaders(name, parameter.digest) })
    }
    // the body streams into a session of its own, which closes at once (never seen by clients)
    const session = newSession(context, name)
    const written = await receive(context, session, request, undefined)
    if ("error" in written) {
      context.storage.deleteUpload(session.id)
      return written.error
    }
    const committed = await context.storage.commitUpload(session, parameter.digest, context.createHash)
    if (committed._tag === "Mismatch") {
      return Responses.fail(400, "DIGEST_INVALID", { expected: parameter.digest, actual: committed.actual })
    }
    return new Response(null, { status: 201, headers: createdHeaders(name, parameter.digest) })
  }
  await request.body?.cancel().catch(() => undefined)
  return open(context, name)
}

type Resolved = { readonly session: UploadSession } | { readonly error: Response }

/**
 * The session of an upload URL. `PATCH` and `PUT` need the `_state` of the latest `Location`;
 * `GET` and `DELETE` accept any `_state` the session has had. A missing, foreign or stale state
 * is `BLOB_UPLOAD_INVALID` (400), as in distribution, whose `_state` is an HMAC of the offset.
 */
const resolve = (context: ServerContext, name: string, id: string, url: URL, current: boolean): Resolved => {
  const session = context.storage.upload(id)
  if (session === undefined || session.name !== name) {
    return { error: Responses.fail(404, "BLOB_UPLOAD_UNKNOWN", id) }
  }
  const state = url.searchParams.get("_state")
  if (state === null) {
    return { error: Responses.fail(400, "BLOB_UPLOAD_INVALID", "upload URL without its _state query") }
  }
  if (state === session.state) return { session }
  if (session.pastStates.has(state)) {
    if (!current) return { session }
    return {
      error: Responses.fail(
        400,
        "BLOB_UPLOAD_INVALID",
        "stale _state: the upload URL is not the Location of the last response"
      )
    }
  }
  return { error: Responses.fail(400, "BLOB_UPLOAD_INVALID", "unknown _state") }
}

/** `Content-Range: <start>-<end>` of a chunk (also accepted: the `bytes ` unit and a `/total`). */
const parseChunkRange = (value: string): { readonly start: number; readonly end: number } | undefined => {
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(value.trim())
  if (match === null) return undefined
  const start = Number(match[1])
  const end = Number(match[2])
  return end < start ? undefined : { start, end }
}

const rangeInvalid = (session: UploadSession, detail: string): Response =>
  Responses.fail(416, "RANGE_INVALID", detail, { location: sessionUrl(session), range: rangeOf(session) })

/**
 * Checks a chunk's `Content-Range` against the session and streams the chunk into the session's
 * bytes. A chunk that turns out wrong (its length differs from `Content-Range` or
 * `Content-Length`, it follows a short chunk, or its body fails) is cut off again, so the session
 * holds what it held before. `undefined` range header: a streamed chunk that appends.
 */
const receive = async (
  context: ServerContext,
  session: UploadSession,
  request: Request,
  header: string | null | undefined
): Promise<{ readonly size: number } | { readonly error: Response }> => {
  const range = header === null || header === undefined ? undefined : parseChunkRange(header)
  if (header !== null && header !== undefined && range === undefined) {
    return { error: Responses.fail(400, "BLOB_UPLOAD_INVALID", `malformed Content-Range ${header}`) }
  }
  if (range !== undefined && range.start !== session.size) {
    await request.body?.cancel().catch(() => undefined)
    return { error: rangeInvalid(session, `chunk starts at ${range.start}, the upload holds ${session.size} bytes`) }
  }
  const declared = parseContentLength(request.headers.get("content-length") ?? undefined)
  const before = session.size
  let size: number
  try {
    size = await context.storage.appendUpload(session, request.body)
  } catch (cause) {
    await context.storage.truncateUpload(session, before)
    throw cause
  }
  const refuse = async (error: Response) => {
    if (size > 0) await context.storage.truncateUpload(session, before)
    return { error }
  }
  if (declared !== undefined && declared !== size) {
    return refuse(Responses.fail(400, "SIZE_INVALID", { declared, received: size }))
  }
  if (range !== undefined && range.end - range.start + 1 !== size) {
    return refuse(rangeInvalid(session, `Content-Range ${header} does not match a body of ${size} bytes`))
  }
  if (session.shortChunk && size > 0) {
    return refuse(
      rangeInvalid(
        session,
        `a chunk shorter than OCI-Chunk-Min-Length (${context.settings.chunkMinLength}) was not the last`
      )
    )
  }
  if (size > 0) {
    session.size += size
    const min = context.settings.chunkMinLength
    session.shortChunk = min !== undefined && size < min
    advance(session)
    context.storage.saveUpload(session)
  }
  return { size }
}

/** `PATCH <location>`: appends a chunk (202 with the new `Location` and `Range`). */
export const patchUpload = async (
  context: ServerContext,
  name: string,
  id: string,
  request: Request,
  url: URL
): Promise<Response> => {
  const resolved = resolve(context, name, id, url, true)
  if ("error" in resolved) return resolved.error
  const { session } = resolved
  const chunk = await receive(context, session, request, request.headers.get("content-range"))
  if ("error" in chunk) return chunk.error
  return new Response(null, { status: 202, headers: sessionHeaders(session) })
}

/** `PUT <location>?digest=`: the optional last chunk, then the digest check (201). */
export const completeUpload = async (
  context: ServerContext,
  name: string,
  id: string,
  request: Request,
  url: URL
): Promise<Response> => {
  const resolved = resolve(context, name, id, url, true)
  if ("error" in resolved) return resolved.error
  const { session } = resolved
  // as distribution: a missing or malformed digest keeps the session, so the client may retry
  const parameter = digestParameter(url)
  if ("error" in parameter) return parameter.error
  const chunk = await receive(context, session, request, request.headers.get("content-range"))
  if ("error" in chunk) return chunk.error
  const committed = await context.storage.commitUpload(session, parameter.digest, context.createHash)
  if (committed._tag === "Mismatch") {
    return Responses.fail(400, "DIGEST_INVALID", {
      expected: parameter.digest,
      actual: committed.actual,
      size: committed.size
    })
  }
  return new Response(null, { status: 201, headers: createdHeaders(name, parameter.digest) })
}

/** `GET <location>`: the status of a session (204 with `Location` and `Range`). */
export const uploadStatus = (context: ServerContext, name: string, id: string, url: URL): Response => {
  const resolved = resolve(context, name, id, url, false)
  if ("error" in resolved) return resolved.error
  const { "content-length": _length, ...headers } = sessionHeaders(resolved.session)
  return new Response(null, { status: 204, headers })
}

/** `DELETE <location>`: cancels a session (204). */
export const cancelUpload = (context: ServerContext, name: string, id: string, url: URL): Response => {
  const resolved = resolve(context, name, id, url, false)
  if ("error" in resolved) return resolved.error
  context.storage.deleteUpload(resolved.session.id)
  return new Response(null, { status: 204, headers: { "docker-upload-uuid": resolved.session.id } })
}
