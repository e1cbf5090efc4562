/**
 * Everything a browser program needs to run ocireg's operations: the fetch-based `HttpClient`
 * (fetch follows redirects itself and drops `Authorization` across origins), an incremental
 * sha256 for streaming verification, and the `RegistryClient` on top. Uploads go as byte arrays,
 * 8 MiB chunk by chunk, since Chromium cannot stream a request body over HTTP/1.1. Credentials
 * come from the `CredentialStore` the program provides (see `BrowserCredentialStore`).
 *
 * CORS: a registry on another origin than the page must allow it (see `BrowserCors` for the
 * headers). The layer turns the browser's silent CORS failures into errors that say what is
 * missing: a refused request becomes a `TransportError` naming the `Access-Control-Allow-*`
 * headers it needed; an upload session whose `Location` (or `Range`) the browser hides, and a 401
 * whose `WWW-Authenticate` it hides, fail with a message saying which header to expose. The
 * `User-Agent` header is not sent: browsers set their own, and in some it would force a preflight.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as CredentialStore from "@ocireg/core/CredentialStore"
import type { Hasher } from "@ocireg/core/Digest"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import { AuthenticationError, InvalidResponse, type RegistryError } from "@ocireg/core/RegistryError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as BrowserCors from "./BrowserCors.js"
import * as BrowserHasher from "./BrowserHasher.js"
import { describeHiddenHeader, displayUrl, isCrossOrigin } from "./internal/cors.js"

/**
 * The chunk size of browser uploads: 8 MiB, one `PATCH` each.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultChunkSize = 8 * 1024 * 1024

const uploadPath = /\/blobs\/uploads\//

const resolveUrl = (request: RegistryClient.Request, base: URL): string | undefined => {
  try {
    return new URL(request.path, base).href
  } catch {
    return undefined
  }
}

/** Fail when a cross-origin answer lacks a header the operation needs and the browser hides. */
const checkHiddenHeaders = (
  request: RegistryClient.Request,
  url: string,
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError> => {
  const headers = response.headers
  if (!uploadPath.test(new URL(url).pathname)) return Effect.succeed(response)
  const hidden = (header: string, why: string) =>
    Effect.fail(
      new InvalidResponse({
        method: request.method,
        url: displayUrl(url),
        reason: describeHiddenHeader(header, why, BrowserCors.exposeHeaders)
      })
    )
  if ((request.method === "POST" || request.method === "PATCH") && response.status === 202) {
    if (headers["location"] === undefined) {
      return hidden("Location", `the registry accepted the ${request.method} of an upload (202)`)
    }
  }
  if (request.method === "GET" && response.status >= 200 && response.status < 300 && headers["range"] === undefined) {
    return hidden("Range", "the registry reported the state of an upload session")
  }
  return Effect.succeed(response)
}

/**
 * Wrap a `RegistryClient` so that answers whose needed headers a browser hid from a cross-origin
 * page fail with an error that says which header to expose (`Location` of an upload session,
 * `Range` of its status, `WWW-Authenticate` of a 401).
 *
 * @since 0.1.0
 * @category diagnostics
 */
export const withExposedHeaderChecks = (client: RegistryClient.RegistryClient["Type"]) =>
  RegistryClient.RegistryClient.of({
    ...client,
    execute: (request) => {
      const base = client.baseUrl(request.registry)
      const url = resolveUrl(request, base)
      if (url === undefined || !isCrossOrigin(url)) return client.execute(request)
      return client.execute(request).pipe(
        Effect.flatMap((response) => checkHiddenHeaders(request, url, response)),
        Effect.catchIf(
          (error) => error._tag === "AuthenticationError" && error.reason === "UnsupportedChallenge",
          () =>
            Effect.fail(
              new AuthenticationError({
                registry: request.registry,
                reason: "UnsupportedChallenge",
                detail: describeHiddenHeader(
                  "WWW-Authenticate",
                  "the registry answered 401 (authentication required)",
                  BrowserCors.exposeHeaders
                )
              })
            )
        )
      )
    }
  })

const dropUserAgent = HttpClient.mapRequest((request) =>
  request.headers["user-agent"] === undefined ?
    request :
    HttpClientRequest.make(request.method as "POST")(request.url, {
      urlParams: request.urlParams,
      hash: Option.getOrUndefined(request.hash),
      headers: Headers.remove(request.headers, "user-agent"),
      body: request.body
    })
)

/**
 * `RegistryClient` and `Hasher` for browsers. Needs a `CredentialStore`. Options are those of
 * `RegistryClient.layer`; here `streamingUploads` defaults to false and `chunkSize` to 8 MiB,
 * and `transformClient` wraps the client after the CORS diagnostics.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: RegistryClient.Options = {}
): Layer.Layer<RegistryClient.RegistryClient | Hasher, never, CredentialStore.CredentialStore> =>
  layerWithoutHttp(options).pipe(Layer.provide(FetchHttpClient.layer))

/**
 * `layer` that leaves the `HttpClient` to you (your own `fetch`, `RegistryTest.layer()` in tests):
 * no request can go anywhere but through the client you provide.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerWithoutHttp = (
  options: RegistryClient.Options = {}
): Layer.Layer<
  RegistryClient.RegistryClient | Hasher,
  never,
  CredentialStore.CredentialStore | HttpClient.HttpClient
> => {
  const transform = options.transformClient ?? ((client) => client)
  // the client picks up the WebAssembly hasher (provideMerge), which stays in the output too
  return Layer.effect(
    RegistryClient.RegistryClient,
    Effect.map(
      RegistryClient.make({
        ...options,
        streamingUploads: options.streamingUploads ?? false,
        chunkSize: options.chunkSize ?? defaultChunkSize,
        transformClient: (client) => transform(BrowserCors.withDiagnostics(dropUserAgent(client)))
      }),
      withExposedHeaderChecks
    )
  ).pipe(Layer.provideMerge(BrowserHasher.layer))
}
