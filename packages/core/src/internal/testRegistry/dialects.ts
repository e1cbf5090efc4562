/**
 * Dialects: the ways real registries answer differently from the distribution registry, as a
 * table of small named rules. Each rule changes what the test registry answers at one point of
 * the request (before routing, after authentication, or on the endpoint's answer) or sets a
 * default, and cites where the behaviour is documented or was reported.
 *
 * @internal
 */
import type { Auth } from "../../RegistryTest.js"
import { bearerChallenge, type Identity } from "./auth.js"
import * as BlobStorage from "./blobStorage.js"
import type { StorageKind } from "./blobStorage.js"
import { readBody } from "./body.js"
import type { ServerContext } from "./context.js"
import * as Manifests from "./manifests.js"
import * as Responses from "./responses.js"
import { type Access, type Route, route as routeOf } from "./routing.js"

/**
 * The registries the test registry can imitate.
 */
export type DialectName =
  | "distribution"
  | "dockerhub"
  | "ghcr"
  | "ecr"
  | "gar"
  | "acr"
  | "quay"
  | "harbor"
  | "artifactory"
  | "nexus"

/** Defaults a dialect gives options the user left out. */
export interface DialectDefaults {
  readonly auth?: Auth | undefined
  readonly referrersApi?: boolean | undefined
  readonly chunkMinLength?: number | undefined
  readonly blobStorage?: StorageKind | undefined
  /** Where the token endpoint answers (default `/token`). */
  readonly realmPath?: string | undefined
  /** The path the API lives under, before `/v2/` (Artifactory). */
  readonly pathPrefix?: string | undefined
}

/** What a rule may do instead of, or after, the registry. */
export interface Rule {
  readonly name: string
  readonly summary: string
  /** Where the behaviour is documented or reported. */
  readonly source: string
  readonly defaults?: DialectDefaults | undefined
  /** Rewrites the path before routing; `undefined`: unchanged; `"NotFound"`: not served. */
  readonly rewrite?: ((context: ServerContext, url: URL) => URL | "NotFound" | undefined) | undefined
  /** Answers before routing (after `rewrite`). */
  readonly beforeRoute?: ((context: ServerContext, request: Request, url: URL) => Response | undefined) | undefined
  /** Answers, or replaces the request, once the caller is authorized. */
  readonly beforeEndpoint?:
    | ((
      context: ServerContext,
      route: Route,
      request: Request,
      identity: Identity
    ) => Response | Request | undefined | Promise<Response | Request | undefined>)
    | undefined
  /** Changes the registry's refusal of a request whose credentials did not pass. */
  readonly denied?: ((context: ServerContext, request: Request, response: Response) => Response) | undefined
  /** Changes the endpoint's answer. */
  readonly afterEndpoint?:
    | ((context: ServerContext, route: Route, request: Request, response: Response) => Response | Promise<Response>)
    | undefined
}

/** A registry's dialect: its documentation and its rules. */
export interface Dialect {
  readonly name: DialectName
  readonly title: string
  readonly docs: string
  readonly rules: ReadonlyArray<Rule>
}

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

const readMethods = ["GET", "HEAD"]

const withHeaders = (response: Response, change: (headers: Headers) => void, status = response.status): Response => {
  const headers = new Headers(response.headers)
  change(headers)
  return new Response(response.body, {
    status,
    statusText: status === response.status ? response.statusText : "",
    headers
  })
}

const html = (status: number, title: string): Response =>
  new Response(`<!DOCTYPE html>\n<html><head><title>${title}</title></head><body><h1>${title}</h1></body></html>\n`, {
    status,
    headers: { "content-type": "text/html; charset=utf-8" }
  })

const ociErrors = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  Responses.json(status, { errors: [{ code, message }] }, headers)

const isBearer = (context: ServerContext) => context.settings.auth !== "none" && "bearer" in context.settings.auth

/** A 401 `UNAUTHORIZED` with the challenge the registry's auth mode sends (`insufficient_scope` for tokens). */
const unauthorized = (context: ServerContext, url: URL, access: ReadonlyArray<Access>, message?: string) => {
  const challenge = isBearer(context)
    ? bearerChallenge(context, url, access, "insufficient_scope")
    : `Basic realm="RegistryTest"`
  const detail = access.flatMap((a) => a.actions.map((action) => ({ Type: a.type, Name: a.name, Action: action })))
  return Responses.error(401, Responses.entry("UNAUTHORIZED", detail, message), { "www-authenticate": challenge })
}

/** Replaces the request's URL, keeping method, headers and body. */
const withUrl = (request: Request, url: URL): Request =>
  new Request(url, {
    method: request.method,
    headers: request.headers,
    ...(request.body !== null ? { body: request.body, duplex: "half" } : {})
  } as RequestInit)

// ---------------------------------------------------------------------------------------------
// rules
// ---------------------------------------------------------------------------------------------

/** Docker Hub and GHCR hand out anonymous pull tokens: the default is Bearer auth with anonymous pull. */
const anonymousPullTokens = (source: string): Rule => ({
  name: "anonymous-pull-tokens",
  summary: "Bearer auth by default; the token endpoint gives anyone a token, which grants pull only",
  source,
  defaults: { auth: { bearer: { users: {}, anonymousPull: true } } }
})

/**
 * Docker Hub answers a repository that does not exist (or is private) with 401 `UNAUTHORIZED` and
 * an `insufficient_scope` challenge, even to a valid token: its token server grants a token for
 * anything, and the registry refuses it. A caller who may push there (its own namespace) gets the
 * usual 404s: the repository comes into being with the push.
 */
const missingRepositoryUnauthorized: Rule = {
  name: "missing-repository-401",
  summary: "a repository that does not exist answers 401 UNAUTHORIZED, insufficient_scope (not 404)",
  source: "https://github.com/docker/hub-feedback/issues/1771",
  beforeEndpoint: (context, route, request, identity) => {
    if (!("name" in route) || !readMethods.includes(request.method) || !isBearer(context)) return undefined
    if (context.storage.hasRepository(route.name)) return undefined
    if (identity._tag === "Token" && identity.token.grants.get(`repository:${route.name}`)?.has("push") === true) {
      return undefined
    }
    return unauthorized(context, new URL(request.url), [{ type: "repository", name: route.name, actions: ["pull"] }])
  }
}

/** Docker Hub has no catalog: even a user's token with `registry:catalog:*` gets `insufficient_scope`. */
const catalogInsufficientScope: Rule = {
  name: "catalog-401",
  summary: "GET /v2/_catalog answers 401 insufficient_scope, with any token",
  source: "https://github.com/docker/hub-feedback/issues/2094",
  beforeEndpoint: (context, route, request) =>
    route._tag === "Catalog"
      ? unauthorized(context, new URL(request.url), [{ type: "registry", name: "catalog", actions: ["*"] }])
      : undefined
}

/** GHCR has no catalog endpoint. */
const catalogNotFound: Rule = {
  name: "catalog-404",
  summary: "GET /v2/_catalog answers 404 NOT_FOUND",
  source: "https://github.com/microsoft/vscode-docker/issues/1525",
  beforeRoute: (_context, _request, url) =>
    url.pathname === "/v2/_catalog" ? ociErrors(404, "NOT_FOUND", "404 page not found") : undefined
}

/**
 * GHCR refuses a request body over 4 MiB, on `PATCH` as on `PUT`, with 416
 * `REQUESTED_RANGE_NOT_SATISFIABLE` ("the request body is too large and exceeds the maximum
 * permissible limit of 4.00MiB").
 */
const bodyLimit = (limit: number): Rule => ({
  name: "upload-body-limit-4MiB",
  summary: "PATCH, PUT and POST upload bodies over 4 MiB answer 416 REQUESTED_RANGE_NOT_SATISFIABLE",
  source: "https://github.com/oras-project/rust-oci-client/issues/35",
  beforeEndpoint: async (_context, route, request) => {
    if (route._tag !== "Upload" && route._tag !== "UploadStart") return undefined
    if (request.method !== "PATCH" && request.method !== "PUT" && request.method !== "POST") return undefined
    const body = await readBody(request, limit)
    if (body._tag === "TooLarge") {
      return ociErrors(
        416,
        "REQUESTED_RANGE_NOT_SATISFIABLE",
        "the request body is too large and exceeds the maximum permissible limit of 4.00MiB"
      )
    }
    if (body._tag === "LengthMismatch") return Responses.fail(400, "SIZE_INVALID", body)
    const headers = new Headers(request.headers)
    headers.set("content-length", String(body.bytes.length))
    return new Request(request.url, {
      method: request.method,
      headers,
      ...(body.bytes.length > 0 ? { body: body.bytes as Uint8Array<ArrayBuffer> } : {})
    })
  }
})

/**
 * Blob downloads redirect (307) to a signed URL of the storage service on a second origin, for
 * `GET` only or for `HEAD` too. The URL is signed for `GET`.
 */
const blobRedirect = (kind: StorageKind, methods: ReadonlyArray<string>, source: string): Rule => ({
  name: `blob-redirect-${kind}${methods.includes("HEAD") ? "-head-too" : ""}`,
  summary: `blob ${methods.join(" and ")} redirect (307) to a GET-signed ${kind} URL on another origin`,
  source,
  defaults: { blobStorage: kind },
  afterEndpoint: (context, route, request, response) => {
    if (route._tag !== "Blob" || !methods.includes(request.method)) return response
    if (response.status !== 200 && response.status !== 206) return response
    void response.body?.cancel().catch(() => undefined)
    return Responses.empty(307, { location: BlobStorage.signedUrl(context, route.digest) })
  }
})

/** GHCR answers the referrers endpoint with an HTML 404 page. */
const referrersHtml404: Rule = {
  name: "referrers-html-404",
  summary: "GET /v2/<name>/referrers/<digest> answers 404 with an HTML page",
  source: "https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-referrers (issue 13)",
  defaults: { referrersApi: false },
  beforeRoute: (_context, _request, url) =>
    routeOf(url.pathname)._tag === "Referrers" ? html(404, "Page not found") : undefined
}

/** Where the GAR dialect sends referrers requests. */
const garReferrersPage = "/artifacts/docs/referrers"

/** Google Artifact Registry answers the referrers endpoint with a redirect to an HTML page (200). */
const referrersRedirectToHtml: Rule = {
  name: "referrers-redirect-html",
  summary: "GET /v2/<name>/referrers/<digest> redirects (302) to an HTML page that answers 200",
  source: "https://cloud.google.com/artifact-registry/docs/docker (issue 13)",
  defaults: { referrersApi: false },
  beforeRoute: (_context, _request, url) => {
    if (url.pathname.startsWith("/artifacts/")) return html(200, "Artifact Registry documentation")
    return routeOf(url.pathname)._tag === "Referrers"
      ? Responses.empty(302, { location: garReferrersPage })
      : undefined
  }
}

/** No referrers API (404 page) and so no `OCI-Subject` on manifests with a `subject`. */
const noReferrersApi = (source: string): Rule => ({
  name: "no-referrers-api",
  summary: "no referrers API (404) and no OCI-Subject header",
  source,
  defaults: { referrersApi: false }
})

/** ECR: S3 multipart parts, so a chunk under 5 MiB must be the last (announced with OCI-Chunk-Min-Length). */
const chunkMin5MiB: Rule = {
  name: "chunk-min-5MiB",
  summary: "OCI-Chunk-Min-Length: 5242880; a shorter chunk that is not the last answers 416",
  source: "https://github.com/opencontainers/distribution-spec/issues/374",
  defaults: { chunkMinLength: 5 * 1024 * 1024 }
}

/** ECR answers an intermediate `PATCH` with 201 instead of 202. */
const patchAnswers201: Rule = {
  name: "patch-201",
  summary: "an intermediate PATCH answers 201 Created (not 202)",
  source: "https://github.com/aws/containers-roadmap/issues/2831",
  afterEndpoint: (_context, route, request, response) =>
    route._tag === "Upload" && request.method === "PATCH" && response.status === 202
      ? withHeaders(response, () => undefined, 201)
      : response
}

/** ECR mounts a blob only when a manifest of the source repository references it; else a session (202). */
const mountOnlyReferenced: Rule = {
  name: "mount-referenced-only",
  summary: "a mount of a blob no manifest of the source references opens an upload session (202)",
  source: "https://github.com/aws/containers-roadmap/issues/2860",
  beforeEndpoint: (context, route, request) => {
    if (route._tag !== "UploadStart") return undefined
    const url = new URL(request.url)
    const mount = url.searchParams.get("mount")
    const from = url.searchParams.get("from")
    if (mount === null || from === null) return undefined
    const manifests = context.storage.manifests(from)
    for (const manifest of manifests) {
      const parsed = Manifests.parse(manifest.bytes, manifest.mediaType)
      if ("value" in parsed && parsed.value.references.some((r) => r.digest === mount)) return undefined
    }
    url.searchParams.delete("mount")
    url.searchParams.delete("from")
    return withUrl(request, url)
  }
}

/**
 * ECR (Public) answers an expired or revoked bearer token with 400 and no challenge, instead of
 * 401 `invalid_token`.
 */
const expiredToken400: Rule = {
  name: "expired-token-400",
  summary:
    "an expired or revoked bearer token answers 400 DENIED \"Your authorization token has expired\", no challenge",
  source: "https://github.com/aws/containers-roadmap/issues/2835",
  denied: (_context, _request, response) =>
    response.status === 401 && /error="invalid_token"/.test(response.headers.get("www-authenticate") ?? "")
      ? ociErrors(400, "DENIED", "Your authorization token has expired. Reauthenticate and try again.")
      : response
}

/** ECR sends no `Docker-Content-Digest` with manifests. */
const noManifestDigestHeader: Rule = {
  name: "manifest-no-digest-header",
  summary: "manifest GET and HEAD answers carry no Docker-Content-Digest",
  source: "https://github.com/distribution/distribution/issues/3792",
  afterEndpoint: (_context, route, request, response) =>
    route._tag === "Manifest" && readMethods.includes(request.method)
      ? withHeaders(response, (h) => h.delete("docker-content-digest"))
      : response
}

/** Harbor refuses a mount from a project that does not exist with 401 instead of opening a session. */
const mountMissingProject401: Rule = {
  name: "mount-missing-project-401",
  summary: "a mount from a project that does not exist answers 401 UNAUTHORIZED (not 202)",
  source: "https://github.com/goharbor/harbor/issues/17097",
  beforeEndpoint: (context, route, request) => {
    if (route._tag !== "UploadStart") return undefined
    const url = new URL(request.url)
    const from = url.searchParams.get("from")
    if (url.searchParams.get("mount") === null || from === null) return undefined
    const project = from.split("/")[0]
    const exists = context.storage.repositories().some((name) => name.split("/")[0] === project)
    if (exists) return undefined
    return unauthorized(
      context,
      url,
      [{ type: "repository", name: from, actions: ["pull"] }],
      `project ${project} not found: project ${project} not found`
    )
  }
}

/** Nexus answers a mount request with an error instead of 201 or 202. */
const mountRefused: Rule = {
  name: "mount-405",
  summary: "POST ?mount=&from= answers 405 UNSUPPORTED",
  source: "https://github.com/gardener/cc-utils/pull/1665",
  beforeEndpoint: (_context, route, request) =>
    route._tag === "UploadStart" && new URL(request.url).searchParams.has("mount")
      ? Responses.fail(405, "UNSUPPORTED", "blob mounting is not supported")
      : undefined
}

/** Nexus does not answer `HEAD` on manifests. */
const manifestHead405: Rule = {
  name: "manifest-head-405",
  summary: "HEAD /v2/<name>/manifests/<ref> answers 405",
  source: "https://github.com/merll/docker-registry-util/issues/3",
  beforeEndpoint: (_context, route, request) =>
    route._tag === "Manifest" && request.method === "HEAD" ? Responses.fail(405, "UNSUPPORTED") : undefined
}

/** Nexus group repositories page the tag list with `n` but send no `Link` to the next page. */
const pagesWithoutLink: Rule = {
  name: "tags-page-without-link",
  summary: "tags/list?n= returns n tags and no Link header, though more remain",
  source: "https://github.com/sonatype/nexus-public/issues/117",
  afterEndpoint: (_context, route, _request, response) =>
    route._tag === "Tags" ? withHeaders(response, (h) => h.delete("link")) : response
}

/** Nexus (with some metadata stores) answers a manifest `PUT` without `Docker-Content-Digest`. */
const putWithoutDigest: Rule = {
  name: "manifest-put-no-digest",
  summary: "PUT manifest answers 201 without Docker-Content-Digest",
  source: "https://github.com/distribution/distribution/issues/3848",
  afterEndpoint: (_context, route, request, response) =>
    route._tag === "Manifest" && request.method === "PUT"
      ? withHeaders(response, (h) => h.delete("docker-content-digest"))
      : response
}

/** Quay pages tag lists with an opaque `next_page` token instead of `last`. */
const nextPageToken: Rule = {
  name: "link-next-page-token",
  summary: "Link: <...?n=&next_page=<opaque>>; rel=\"next\" instead of ?last=",
  source: "https://github.com/camallo/dkregistry-rs/pull/236",
  beforeEndpoint: (_context, route, request) => {
    if (route._tag !== "Tags" && route._tag !== "Catalog") return undefined
    const url = new URL(request.url)
    const token = url.searchParams.get("next_page")
    if (token === null) return undefined
    let last: string
    try {
      last = atob(token.replace(/-/g, "+").replace(/_/g, "/"))
    } catch {
      return ociErrors(400, "PAGINATION_NUMBER_INVALID", "invalid next_page token")
    }
    url.searchParams.delete("next_page")
    url.searchParams.set("last", last)
    return withUrl(request, url)
  },
  afterEndpoint: (_context, route, _request, response) => {
    const link = response.headers.get("link")
    if ((route._tag !== "Tags" && route._tag !== "Catalog") || link === null) return response
    return withHeaders(response, (h) =>
      h.set(
        "link",
        link.replace(/\?last=([^&>]*)&n=(\d+)/, (_all, last: string, n: string) =>
          `?n=${n}&next_page=${btoa(decodeURIComponent(last.replace(/\+/g, " "))).replace(/=+$/, "")}`)
      ))
  }
}

/** The token endpoint answers at another path (the challenge's realm points there). */
const tokenAt = (path: string, source: string): Rule => ({
  name: `token-realm-${path}`,
  summary: `the token endpoint is ${path}`,
  source,
  defaults: { realmPath: path },
  rewrite: (_context, url) => {
    if (url.pathname !== path) return undefined
    const next = new URL(url)
    next.pathname = "/token"
    return next
  }
})

/** Rewrites the token endpoint's JSON answer. */
const tokenAnswer = (
  name: string,
  summary: string,
  source: string,
  change: (body: Record<string, unknown>) => Record<string, unknown>
): Rule => ({
  name,
  summary,
  source,
  afterEndpoint: async (_context, route, _request, response) => {
    if (route._tag !== "Token" || response.status !== 200) return response
    const body = await response.json() as Record<string, unknown>
    return Responses.json(200, change(body))
  }
})

/** GHCR's token endpoint answers `{"token": "..."}` and nothing else. */
const tokenFieldOnly = tokenAnswer(
  "token-field-only",
  "the token answer is {\"token\"} only: no access_token, no expires_in",
  "https://github.com/containerd/stargz-snapshotter/pull/167",
  (body) => ({ token: body["token"] ?? body["access_token"] })
)

/** ACR's `/oauth2/token` answers `{"access_token": "..."}` only. */
const accessTokenOnly = tokenAnswer(
  "access-token-only",
  "the token answer is {\"access_token\"} only: no token field",
  "https://github.com/Azure/acr/blob/main/docs/AAD-OAuth.md",
  (body) => ({ access_token: body["access_token"] ?? body["token"], expires_in: body["expires_in"] })
)

/** Azure's token services send `expires_in` as a JSON string. */
const expiresInString = tokenAnswer(
  "expires-in-string",
  "expires_in is a JSON string (\"300\")",
  "https://github.com/coder/coder/pull/20151",
  (body) => (body["expires_in"] === undefined ? body : { ...body, expires_in: String(body["expires_in"]) })
)

/** The repository key of the Artifactory dialect. */
export const artifactoryRepositoryKey = "docker-local"

/** The path prefix of the Artifactory dialect. */
export const artifactoryPrefix = `/artifactory/api/docker/${artifactoryRepositoryKey}`

/**
 * Artifactory serves the API under `/artifactory/api/docker/<repo-key>/v2/` (the token endpoint at
 * `.../v2/token`); `Location` headers keep the prefix.
 */
const pathPrefix: Rule = {
  name: "path-prefix",
  summary: `the API is served under ${artifactoryPrefix}/v2/ (token at .../v2/token); /v2/ itself is 404`,
  source: "https://jfrog.com/help/r/jfrog-artifactory-documentation/docker-repositories",
  defaults: { pathPrefix: artifactoryPrefix, realmPath: `${artifactoryPrefix}/v2/token` },
  rewrite: (_context, url) => {
    if (!url.pathname.startsWith(`${artifactoryPrefix}/`)) return url.pathname === "/token" ? undefined : "NotFound"
    const next = new URL(url)
    const rest = url.pathname.slice(artifactoryPrefix.length)
    next.pathname = rest === "/v2/token" ? "/token" : rest
    return next
  },
  afterEndpoint: (_context, _route, _request, response) => {
    const location = response.headers.get("location")
    const link = response.headers.get("link")
    if ((location === null || !location.startsWith("/v2/")) && link === null) return response
    return withHeaders(response, (h) => {
      if (location !== null && location.startsWith("/v2/")) h.set("location", `${artifactoryPrefix}${location}`)
      if (link !== null) h.set("link", link.replace(/^<\/v2\//, `<${artifactoryPrefix}/v2/`))
    })
  }
}

/** Artifactory's `Link` headers drop the path prefix: `</v2/<name>/tags/list?...>`. */
const linkDropsPrefix: Rule = {
  name: "link-drops-prefix",
  summary: "Link headers point at /v2/... without the /artifactory/api/docker/<key> prefix",
  source: "https://github.com/renovatebot/renovate/issues/15030",
  afterEndpoint: (_context, _route, _request, response) => {
    const link = response.headers.get("link")
    return link === null || !link.includes(`<${artifactoryPrefix}/`)
      ? response
      : withHeaders(response, (h) => h.set("link", link.replace(`<${artifactoryPrefix}/`, "</")))
  }
}

// ---------------------------------------------------------------------------------------------
// the table
// ---------------------------------------------------------------------------------------------

const ghcrStorage = "https://github.com/containerd/stargz-snapshotter/pull/167"

/** Every dialect, by name. */
export const dialects: Readonly<Record<DialectName, Dialect>> = {
  distribution: {
    name: "distribution",
    title: "CNCF distribution (registry:2)",
    docs: "https://distribution.github.io/distribution/spec/api/",
    rules: []
  },
  dockerhub: {
    name: "dockerhub",
    title: "Docker Hub",
    docs: "https://docs.docker.com/docker-hub/",
    rules: [
      anonymousPullTokens("https://distribution.github.io/distribution/spec/auth/token/"),
      missingRepositoryUnauthorized,
      catalogInsufficientScope,
      blobRedirect("s3", ["GET"], "https://docs.docker.com/docker-hub/usage/#pull-definition"),
      noReferrersApi("https://docs.docker.com/docker-hub/repos/manage/hub-images/oci-artifacts/")
    ]
  },
  ghcr: {
    name: "ghcr",
    title: "GitHub Container Registry",
    docs:
      "https://docs.github.com/en/packages/working-with-a-github-packages-registry/working-with-the-container-registry",
    rules: [
      anonymousPullTokens(ghcrStorage),
      tokenFieldOnly,
      catalogNotFound,
      bodyLimit(4 * 1024 * 1024),
      blobRedirect("s3", ["GET", "HEAD"], ghcrStorage),
      referrersHtml404
    ]
  },
  ecr: {
    name: "ecr",
    title: "Amazon Elastic Container Registry",
    docs: "https://docs.aws.amazon.com/AmazonECR/latest/userguide/what-is-ecr.html",
    rules: [
      chunkMin5MiB,
      patchAnswers201,
      expiredToken400,
      mountOnlyReferenced,
      noManifestDigestHeader,
      blobRedirect("s3", ["GET"], "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-pull.html"),
      noReferrersApi("https://github.com/aws/containers-roadmap/issues/2831 (issue 13)")
    ]
  },
  gar: {
    name: "gar",
    title: "Google Artifact Registry",
    docs: "https://cloud.google.com/artifact-registry/docs/docker",
    rules: [
      tokenAt("/v2/token", "https://github.com/oras-project/oras/issues/157"),
      blobRedirect("gcs", ["GET", "HEAD"], "https://cloud.google.com/storage/docs/access-control/signed-urls"),
      referrersRedirectToHtml
    ]
  },
  acr: {
    name: "acr",
    title: "Azure Container Registry",
    docs: "https://learn.microsoft.com/azure/container-registry/",
    rules: [
      tokenAt("/oauth2/token", "https://github.com/Azure/acr/blob/main/docs/AAD-OAuth.md"),
      accessTokenOnly,
      expiresInString,
      blobRedirect("azure", ["GET", "HEAD"], "https://learn.microsoft.com/rest/api/storageservices/create-service-sas")
    ]
  },
  quay: {
    name: "quay",
    title: "Quay",
    docs: "https://docs.quay.io/",
    rules: [
      nextPageToken,
      blobRedirect("s3", ["GET"], "https://docs.projectquay.io/deploy_quay.html (storage with direct download)")
    ]
  },
  harbor: {
    name: "harbor",
    title: "Harbor",
    docs: "https://goharbor.io/docs/",
    rules: [
      tokenAt("/service/token", "https://goharbor.io/docs/main/administration/configure-authentication/"),
      mountMissingProject401
    ]
  },
  artifactory: {
    name: "artifactory",
    title: "JFrog Artifactory",
    docs: "https://jfrog.com/help/r/jfrog-artifactory-documentation/docker-repositories",
    rules: [pathPrefix, linkDropsPrefix]
  },
  nexus: {
    name: "nexus",
    title: "Sonatype Nexus Repository",
    docs: "https://help.sonatype.com/en/docker-registry.html",
    rules: [
      manifestHead405,
      mountRefused,
      pagesWithoutLink,
      putWithoutDigest,
      noReferrersApi("https://help.sonatype.com/en/docker-registry.html")
    ]
  }
}

/** The names of every dialect, `distribution` first. */
export const dialectNames = Object.keys(dialects) as ReadonlyArray<DialectName>

/** The defaults of a dialect's rules, later rules winning. */
export const defaultsOf = (dialect: Dialect): DialectDefaults =>
  dialect.rules.reduce((acc: DialectDefaults, rule) => ({ ...acc, ...rule.defaults }), {})
