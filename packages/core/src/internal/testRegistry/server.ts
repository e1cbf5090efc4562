/**
 * The request handler of the test registry: injected failures first, then routing, the method
 * check, authentication against the access the request needs, and the endpoint; every answer of
 * the `/v2/` API carries `Docker-Distribution-API-Version`, `HEAD` answers lose their body, and
 * every request is logged with its status.
 *
 * @internal
 */
import type { Failure, LoggedRequest, Manifest, Service, Upload } from "../../RegistryTest.js"
import * as Auth from "./auth.js"
import * as Blobs from "./blobs.js"
import * as BlobStorage from "./blobStorage.js"
import { digestOf, type ServerContext } from "./context.js"
import * as Listing from "./listing.js"
import * as Manifests from "./manifests.js"
import * as Referrers from "./referrers.js"
import * as Responses from "./responses.js"
import { methods, requiredAccess, type Route, route as routeOf, validateName } from "./routing.js"
import * as Uploads from "./uploads.js"

/** The CORS headers of every answer, when CORS is on: any origin may read what a client needs. */
const corsHeaders: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-expose-headers": [
    "docker-content-digest",
    "docker-distribution-api-version",
    "docker-upload-uuid",
    "location",
    "link",
    "range",
    "content-range",
    "content-length",
    "content-type",
    "etag",
    "www-authenticate",
    "oci-subject",
    "oci-chunk-min-length",
    "oci-filters-applied",
    "retry-after",
    "warning"
  ].join(", ")
}

/** The answer to a CORS preflight. */
const preflightHeaders: Record<string, string> = {
  "access-control-allow-methods": "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
  "access-control-allow-headers": "authorization, accept, content-type, content-range, range, if-match, if-none-match",
  "access-control-max-age": "600"
}

interface PendingFailure {
  readonly failure: Failure
  remaining: number
}

const failureResponse = (failure: Failure): Response => {
  const headers = { ...failure.headers }
  return failure.code === undefined
    ? Responses.empty(failure.status, headers)
    : Responses.fail(failure.status, failure.code, failure.detail, headers)
}

/** Runs the endpoint of a route for an authorized request. */
const endpoint = (
  context: ServerContext,
  route: Exclude<Route, { readonly _tag: "NotFound" | "Token" }>,
  identity: Auth.Identity,
  request: Request,
  url: URL
): Response | Promise<Response> => {
  const method = request.method
  switch (route._tag) {
    case "Base":
      return Responses.json(200, {})
    case "Catalog":
      return Listing.catalog(context, url)
    case "Tags":
      return Listing.listTags(context, route.name, url)
    case "Manifest":
      return method === "PUT"
        ? Manifests.putManifest(context, route.name, route.reference, request)
        : method === "DELETE"
        ? Manifests.deleteManifest(context, route.name, route.reference)
        : Manifests.getManifest(context, route.name, route.reference)
    case "Blob":
      return method === "DELETE"
        ? Blobs.deleteBlob(context, route.name, route.digest)
        : Blobs.getBlob(context, route.name, route.digest, request)
    case "UploadStart":
      return Uploads.startUpload(context, route.name, identity, request, url)
    case "Upload":
      switch (method) {
        case "PATCH":
          return Uploads.patchUpload(context, route.name, route.id, request, url)
        case "PUT":
          return Uploads.completeUpload(context, route.name, route.id, request, url)
        case "DELETE":
          return Uploads.cancelUpload(context, route.name, route.id, url)
        default:
          return Uploads.uploadStatus(context, route.name, route.id, url)
      }
    case "Referrers":
      return Referrers.listReferrers(context, route.name, route.digest, url)
  }
}

/** Builds the service of one test registry around its context. */
export const makeService = (context: ServerContext): Service => {
  const tokens = new Auth.TokenStore()
  const log: Array<LoggedRequest> = []
  let failures: Array<PendingFailure> = []
  const auth = context.settings.auth
  const bearer = auth !== "none" && "bearer" in auth ? auth.bearer : undefined

  const rules = context.settings.dialect.rules

  /** The endpoint's answer, changed by the dialect's rules. */
  const after = async (route: Route, request: Request, response: Response): Promise<Response> => {
    let current = response
    for (const rule of rules) {
      if (rule.afterEndpoint !== undefined) current = await rule.afterEndpoint(context, route, request, current)
    }
    return current
  }

  const dispatch = async (request: Request, original: URL): Promise<Response> => {
    const method = request.method
    const pending = failures.find((p) => p.failure.match?.({ method, path: original.pathname }) ?? true)
    if (pending !== undefined) {
      pending.remaining -= 1
      if (pending.remaining <= 0) failures = failures.filter((p) => p !== pending)
      return failureResponse(pending.failure)
    }
    let url = original
    for (const rule of rules) {
      const rewritten = rule.rewrite?.(context, url)
      if (rewritten === "NotFound") return Responses.notFoundPage()
      if (rewritten !== undefined) url = rewritten
    }
    for (const rule of rules) {
      const answer = rule.beforeRoute?.(context, request, url)
      if (answer !== undefined) return answer
    }
    const route = routeOf(url.pathname)
    if (route._tag === "NotFound" || (route._tag === "Referrers" && !context.settings.referrersApi)) {
      return Responses.notFoundPage()
    }
    if (route._tag === "Token") {
      if (bearer === undefined) return Responses.notFoundPage()
      if (!methods(route).includes(method)) return Responses.fail(405, "UNSUPPORTED")
      return after(route, request, await Auth.tokenEndpoint(context, tokens, bearer, request, url))
    }
    if (!methods(route).includes(method)) return Responses.fail(405, "UNSUPPORTED")
    if ("name" in route) {
      const reason = validateName(route.name)
      if (reason !== undefined) return Responses.fail(400, "NAME_INVALID", { name: route.name, reason })
    }
    const outcome = Auth.authorize(context, tokens, request, url, requiredAccess(route, method))
    if (outcome._tag === "Denied") {
      return rules.reduce((answer, rule) => rule.denied?.(context, request, answer) ?? answer, outcome.response)
    }
    let current = request
    for (const rule of rules) {
      const answer = await rule.beforeEndpoint?.(context, route, current, outcome.identity)
      if (answer instanceof Response) return answer
      if (answer !== undefined) current = answer
    }
    let endpointUrl = url
    if (current !== request) {
      endpointUrl = new URL(current.url)
      endpointUrl.pathname = url.pathname
    }
    return after(route, current, await endpoint(context, route, outcome.identity, current, endpointUrl))
  }

  const handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url)
    const cors = context.settings.cors
    let response: Response
    try {
      if (cors && request.method === "OPTIONS") {
        response = Responses.empty(204, preflightHeaders)
      } else if (BlobStorage.isStorageRequest(context, url)) {
        response = BlobStorage.handle(context, request, url)
      } else {
        response = await dispatch(request, url)
      }
    } catch (cause) {
      response = Responses.fail(500, "UNKNOWN", String(cause))
    }
    if (url.pathname.startsWith("/v2") || url.pathname.includes("/v2/")) {
      response.headers.set("docker-distribution-api-version", "registry/2.0")
    }
    if (cors) {
      for (const [name, value] of Object.entries(corsHeaders)) response.headers.set(name, value)
    }
    if (request.method === "HEAD") response = Responses.withoutBody(response)
    log.push({ method: request.method, path: url.pathname, search: url.search, status: response.status })
    return response
  }

  const storage = context.storage

  return {
    handle,
    blobs: () => storage.allBlobs(),
    repositories: () => storage.repositories(),
    repositoryBlobs: (name) => storage.repositoryBlobs(name),
    manifests: (name) =>
      new Map(
        storage.manifests(name).map((m): [string, Manifest] => [
          m.digest,
          { digest: m.digest, mediaType: m.mediaType, bytes: m.bytes }
        ])
      ),
    tags: (name) => new Map(storage.tags(name) ?? []),
    uploads: () => storage.uploadSessions().map((s): Upload => ({ id: s.id, repository: s.name, size: s.size })),
    requests: () => log.slice(),
    tokensIssued: () => tokens.issued.slice(),
    revokeTokens: () => tokens.revoke(),
    failNext: (failure) => {
      failures.push({ failure, remaining: failure.times ?? 1 })
    },
    putBlob: (name, bytes) => {
      const digest = digestOf(context, bytes)
      storage.putBlob(name, digest, bytes)
      return digest
    },
    putManifest: (name, reference, bytes, mediaType) => Manifests.store(context, name, reference, bytes, mediaType),
    reset: () => {
      storage.clear()
      tokens.clear()
      log.length = 0
      failures = []
    }
  }
}
