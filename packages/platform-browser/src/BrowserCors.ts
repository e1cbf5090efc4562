/**
 * CORS for registry clients in a browser: what a registry (or the proxy in front of it) must send
 * so that a page on another origin can use it, and clear errors when it does not.
 *
 * A browser hides two kinds of CORS trouble from JavaScript:
 *
 * - A refused request (no `Access-Control-Allow-Origin`, or a failed preflight) rejects `fetch`
 *   with a bare `TypeError`, exactly like a refused connection. `withDiagnostics` turns it into a
 *   `TransportError` whose detail says that a CORS or network failure happened and which headers
 *   the request needed.
 * - A response whose headers are not listed in `Access-Control-Expose-Headers` arrives without
 *   them: the client cannot read `Docker-Content-Digest`, `Location`, `Link`, `Range` or
 *   `WWW-Authenticate`. `BrowserRegistry.layer` detects the cases that break an operation (an
 *   upload session without `Location`, a 401 without challenge) and says which header to expose.
 *
 * `docker-registry` 2.8 adds configured headers (`http.headers`) to every answer but answers a
 * preflight with 401 when authentication is on (browsers send preflights without credentials), so
 * a registry with authentication needs a proxy in front that answers `OPTIONS` itself.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as internal from "./internal/cors.js"

/**
 * The methods ocireg uses: `Access-Control-Allow-Methods` of a preflight answer.
 *
 * @since 0.1.0
 * @category headers
 */
export const allowMethods: ReadonlyArray<string> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

/**
 * The request headers ocireg sends that are not CORS-safelisted: `Access-Control-Allow-Headers`
 * of a preflight answer. (`*` does not cover `Authorization`: it must be named.)
 *
 * @since 0.1.0
 * @category headers
 */
export const allowHeaders: ReadonlyArray<string> = ["authorization", "accept", "content-type", "content-range"]

/**
 * The response headers ocireg reads that are not CORS-safelisted: `Access-Control-Expose-Headers`
 * of every answer. Without them a cross-origin response arrives without these headers.
 *
 * @since 0.1.0
 * @category headers
 */
export const exposeHeaders: ReadonlyArray<string> = [
  "docker-content-digest",
  "docker-distribution-api-version",
  "docker-upload-uuid",
  "location",
  "link",
  "range",
  "www-authenticate",
  "oci-subject",
  "oci-chunk-min-length",
  "oci-filters-applied",
  "retry-after",
  "ratelimit-limit",
  "ratelimit-remaining"
]

/**
 * The headers every answer of a registry (or its proxy) must carry for pages of `origin` (`*` for
 * any origin: ocireg sends no cookies, so `*` works).
 *
 * @since 0.1.0
 * @category headers
 */
export const responseHeaders = (origin: string = "*"): Record<string, string> => ({
  "Access-Control-Allow-Origin": origin,
  "Access-Control-Expose-Headers": exposeHeaders.join(", ")
})

/**
 * The headers of a 2xx answer to a preflight (`OPTIONS`) for pages of `origin`.
 *
 * @since 0.1.0
 * @category headers
 */
export const preflightHeaders = (origin: string = "*", maxAgeSeconds: number = 600): Record<string, string> => ({
  "Access-Control-Allow-Origin": origin,
  "Access-Control-Allow-Methods": allowMethods.join(", "),
  "Access-Control-Allow-Headers": allowHeaders.join(", "),
  "Access-Control-Max-Age": String(maxAgeSeconds)
})

/**
 * What makes a request need a preflight: its method when it is not GET, HEAD or POST, and its
 * headers that are not CORS-safelisted (the fetch standard's rules; `content-length` and other
 * headers the browser sets itself are left out).
 *
 * @since 0.1.0
 * @category diagnostics
 */
export const preflightReasons = (
  request: HttpClientRequest.HttpClientRequest
): { readonly method: string | undefined; readonly headers: ReadonlyArray<string> } =>
  internal.preflightReasons(request.method, request.headers)

/**
 * Whether a failure is `fetch` rejecting with a `TypeError`: what browsers do for a CORS refusal,
 * a failed preflight, mixed content, or a connection that could not be made.
 *
 * @since 0.1.0
 * @category diagnostics
 */
export const isFetchFailure = (error: HttpClientError.HttpClientError): boolean =>
  error._tag === "RequestError" && error.reason === "Transport" && error.cause instanceof TypeError

/**
 * Wrap an `HttpClient` so that a `fetch` rejected with a `TypeError` fails with an error whose
 * message explains the likely CORS cause: the origins involved, whether the request was
 * preflighted and which `Access-Control-Allow-*` headers it needed, or mixed content. The
 * `RegistryClient` turns it into a `TransportError` carrying that message.
 *
 * @since 0.1.0
 * @category diagnostics
 */
export const withDiagnostics = <E, R>(client: HttpClient.HttpClient.With<E, R>): HttpClient.HttpClient.With<E, R> =>
  HttpClient.transform(client, (effect, request) =>
    Effect.catchIf(
      effect,
      (error): error is E & HttpClientError.RequestError =>
        HttpClientError.isHttpClientError(error) && isFetchFailure(error),
      (error) =>
        Effect.fail(
          new HttpClientError.RequestError({
            request,
            reason: "Transport",
            cause: new internal.CorsOrNetworkError(
              internal.describeFetchFailure({
                message: (error.cause as TypeError).message,
                method: request.method,
                url: request.url,
                headers: request.headers,
                pageOrigin: internal.pageOrigin()
              })
            )
          }) as E
        )
    ))
