/**
 * The service that speaks HTTP to registries: it builds endpoint URLs, runs the authentication
 * state machine (anonymous, Basic, or Bearer tokens from the registry's realm, cached and shared),
 * follows redirects without carrying credentials to another origin, retries idempotent requests
 * on transient failures, and turns every unexpected answer into a typed `RegistryError`.
 *
 * The operations in `Registry` and `Image` are written against this service; users provide it
 * with `RegistryClient.layer(options)` (or a platform layer that includes it).
 *
 * @since 0.1.0
 */
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as HttpMethod from "@effect/platform/HttpMethod"
import * as Cache from "effect/Cache"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { dual, identity } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { type Credential, CredentialStore } from "./CredentialStore.js"
import * as Digest from "./Digest.js"
import {
  basicHeader,
  bearerHeader,
  type HostAuth,
  isLinkLocal,
  isLoopback,
  makeTokenCache,
  TokenKey
} from "./internal/auth.js"
import { bearerError, mergeScopes, parseChallenges, parseScopes } from "./internal/challenge.js"
import { errorCodes, parseErrorBody } from "./internal/errorBody.js"
import { hasSeveralValues, parseContentLength, parseContentRange } from "./internal/headers.js"
import {
  cancel,
  discard,
  displayUrl,
  endpointUrl,
  errorBodyIdle,
  errorFromBody,
  headerRecord,
  liveClock,
  maxTimerMillis,
  readPrefix,
  responseError,
  smallBodyLimit,
  timeoutFail,
  transportError
} from "./internal/http.js"
import * as RetryOverride from "./internal/retryOverride.js"
import {
  AuthenticationError as AuthenticationErrorClass,
  AuthorizationError,
  InvalidResponse,
  isRegistryError,
  type NotFoundKind,
  type RegistryError,
  TransportError
} from "./RegistryError.js"

/**
 * Options of the client. Every field has a default.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `User-Agent` sent with every request. Default `ocireg/0.1.0`. */
  readonly userAgent?: string | undefined
  /** Hosts (`name[:port]`) spoken to over plain HTTP. Loopback hosts always are. */
  readonly insecure?: ReadonlyArray<string> | undefined
  /** Token realm hosts that may receive credentials although they are not on the registry's site. */
  readonly trustedRealms?: ReadonlyArray<string> | undefined
  /** How idempotent requests are retried on transient failures. Default: `defaultRetrySchedule`. */
  readonly retrySchedule?: Schedule.Schedule<unknown, RegistryError> | undefined
  /** The longest `Retry-After` honoured. Default 60 seconds. */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  /** How long to wait for response headers. Default 60 seconds. */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /** Manifests larger than this are refused. Default 4 MiB. */
  readonly manifestSizeLimit?: number | undefined
  /** Redirects followed per request. Default 5. */
  readonly maxRedirects?: number | undefined
  /**
   * Blob uploads above this size go in chunks of this size (for registries, or proxies in front
   * of them, that cap request bodies). Default: no chunks when bodies can be streamed (one
   * streamed `PUT`, as skopeo and crane send), 4 MiB otherwise (GHCR refuses request bodies
   * over 4 MiB). A registry's `OCI-Chunk-Min-Length` (ECR: 5 MiB) raises it; a `413` lowers it.
   */
  readonly chunkSize?: number | undefined
  /**
   * Whether request bodies may be streams. Browsers cannot stream a request body over HTTP/1.1,
   * so the browser layer sets this to false and uploads go as byte arrays, one chunk at a time.
   * Default true.
   */
  readonly streamingUploads?: boolean | undefined
  /** A body that makes no progress for this long fails with a `Timeout` (0 or infinity: never). Default 30 seconds. */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /**
   * Blob transfers in flight per registry host and direction, shared by every operation using
   * this client (so nested copies do not multiply it). Default 8. Manifest, HEAD, tag and token
   * requests are not counted: to bound connections per origin, bound the HTTP client's sockets
   * (`NodeRegistry.layer({ httpOptions: { maxSockets } })`).
   */
  readonly hostConcurrency?: number | undefined
  /**
   * The API's base path per registry host, for registries served under a path prefix
   * (Artifactory: `{ "art.example.com": "/artifactory/api/docker/docker-local" }` sends
   * `/artifactory/api/docker/docker-local/v2/...`). Default: none (`/v2/` at the root).
   */
  readonly pathPrefix?: Readonly<Record<string, string>> | undefined
  /** A last change to the `HttpClient` (proxies, extra headers, instrumentation). */
  readonly transformClient?: ((client: HttpClient.HttpClient) => HttpClient.HttpClient) | undefined
}

/**
 * The options after defaults are applied.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResolvedOptions {
  readonly userAgent: string
  readonly insecure: ReadonlyArray<string>
  readonly trustedRealms: ReadonlyArray<string>
  readonly retrySchedule: Schedule.Schedule<unknown, RegistryError>
  readonly maxRetryAfter: Duration.Duration
  readonly requestTimeout: Duration.Duration
  readonly manifestSizeLimit: number
  readonly maxRedirects: number
  readonly chunkSize: number
  readonly streamingUploads: boolean
  readonly idleTimeout: Duration.Duration
  readonly hostConcurrency: number
}

/**
 * One request to a registry.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request {
  /** The registry host as written in references (`docker.io`, `ghcr.io`, `127.0.0.1:5000`). */
  readonly registry: string
  readonly method: HttpMethod.HttpMethod
  /** A path starting with `/v2/` (query included), or an absolute URL from `Location` or `Link`. */
  readonly path: string
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly body?: HttpBody.HttpBody | undefined
  /** Token scopes the request needs, e.g. `repository:library/alpine:pull`. */
  readonly scopes: ReadonlyArray<string>
  /** What a 404 means, for the typed `NotFound`. */
  readonly notFound?: NotFoundKind | undefined
  readonly repository?: string | undefined
  readonly reference?: string | undefined
  /** Non-2xx statuses handed back to the caller instead of failing (e.g. 404 for a fallback). */
  readonly acceptStatus?: ReadonlyArray<number> | undefined
  /**
   * Whether a redirect to another origin is followed. When false it is handed back as it came
   * (list its status in `acceptStatus`): GHCR redirects the referrers endpoint to a web page.
   * Default true.
   */
  readonly crossOriginRedirects?: boolean | undefined
  /** Whether the request may be sent again after a transient failure. Default: GET, HEAD and DELETE. */
  readonly idempotent?: boolean | undefined
  /** Closing this scope aborts the request and its response body (used for idle timeouts). */
  readonly abortScope?: Scope.Scope | undefined
}

/**
 * Counters for observing the client (benchmarks and tests read them).
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  readonly tokensIssued: number
  readonly requests: number
}

/**
 * The service.
 *
 * @since 0.1.0
 * @category services
 */
export class RegistryClient extends Context.Tag("@ocireg/core/RegistryClient")<RegistryClient, {
  /** Send a request with authentication, redirects, retries and error mapping. */
  readonly execute: (request: Request) => Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError>
  /**
   * The base URL of a registry host, ending with `/`: `https://registry-1.docker.io/`, or with the
   * host's `pathPrefix` (`https://art.example.com/artifactory/api/docker/docker-local/`).
   */
  readonly baseUrl: (registry: string) => URL
  readonly options: ResolvedOptions
  readonly stats: Effect.Effect<Stats>
  /**
   * Hold one of the host's transfer slots for the rest of the scope (`download` and `upload`
   * have separate pools, so an upload that reads from the same registry cannot deadlock).
   */
  readonly transferPermit: (
    registry: string,
    direction: "download" | "upload"
  ) => Effect.Effect<void, never, Scope.Scope>
  /** The distinct `Warning: 299` texts registries have sent (each is also logged once). */
  readonly warnings: Effect.Effect<ReadonlyArray<string>>
  /**
   * Forget the credentials (and tokens) looked up for a registry, or for all: the next request
   * asks the `CredentialStore` again (after a sign-in or sign-out). Lookups are otherwise cached
   * for five minutes, and forgotten by themselves when a registry refuses them.
   */
  readonly invalidateCredentials: (registry?: string) => Effect.Effect<void>
  /**
   * The hash functions operations verify digests with: the `Hasher` provided to the client's
   * layer (the platform's native one), else the pure-JavaScript `Digest.jsHasher`.
   */
  readonly hasher: Digest.Hasher["Type"]
}>() {}

/**
 * Whether an error is worth retrying: a failed connection, a timeout (the client's
 * `TransportError` with reason `Timeout`, or the `TimeoutException` of an `Effect.timeout`), 408,
 * 429, 500, 502, 503, 504. It takes any value, so it works as `Effect.retry({ while })` whatever
 * else the effect can fail with (`PlatformError`, your own errors): those are not retried.
 *
 * @since 0.1.0
 * @category retries
 */
export const isRetryable = (error: unknown): boolean => {
  if (Cause.isTimeoutException(error)) return true
  if (!isRegistryError(error)) return false
  switch (error._tag) {
    case "TransportError":
      return error.reason === "RequestFailed" || error.reason === "Timeout"
    case "RateLimited":
      return true
    case "RegistryResponseError":
      return [408, 429, 500, 502, 503, 504].includes(error.status)
    default:
      return false
  }
}

/**
 * Whether an error is a timeout: the client's `TransportError` with reason `Timeout` (no
 * response within `requestTimeout`, or a body idle for `idleTimeout`), or the `TimeoutException`
 * of an `Effect.timeout` around it. `Registry.timeout` gives both the first shape.
 *
 * @since 0.2.0
 * @category retries
 */
export const isTimeout = (error: unknown): boolean =>
  Cause.isTimeoutException(error) ||
  (isRegistryError(error) && error._tag === "TransportError" && error.reason === "Timeout")

/**
 * The key under which an `HttpClient` offers to enforce a response timeout itself (ocireg's
 * `NodeHttpClient` does): its value makes the same client, with every request failing once its
 * response headers have not arrived within the given milliseconds, as a `RequestError` whose
 * cause has `code: "ETIMEDOUT"`. `RegistryClient` applies `requestTimeout` through it when the
 * client it is given has it, instead of running a timer fiber beside every request (measured
 * 0.1 to 0.25 ms of CPU per request).
 *
 * @since 0.2.0
 * @category http clients
 */
export const ResponseTimeoutTypeId: unique symbol = Symbol.for("@ocireg/core/RegistryClient/ResponseTimeout")

/**
 * An `HttpClient` that can enforce a response timeout itself (see `ResponseTimeoutTypeId`).
 *
 * @since 0.2.0
 * @category http clients
 */
export interface WithResponseTimeout {
  readonly [ResponseTimeoutTypeId]: (millis: number) => HttpClient.HttpClient
}

/**
 * Whether an `HttpClient` can enforce a response timeout itself.
 *
 * @since 0.2.0
 * @category http clients
 */
export const hasResponseTimeout = (
  client: HttpClient.HttpClient
): client is HttpClient.HttpClient & WithResponseTimeout =>
  typeof (client as Partial<WithResponseTimeout>)[ResponseTimeoutTypeId] === "function"

/**
 * Jittered exponential backoff from 200 ms, doubling, at most 3 retries. Its input is `unknown`,
 * so it also serves `Effect.retry` on effects that fail with more than `RegistryError`.
 *
 * @since 0.1.0
 * @category retries
 */
export const defaultRetrySchedule: Schedule.Schedule<unknown, unknown> = Schedule.exponential("200 millis", 2)
  .pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(3)))

const retryAfterOf = (error: unknown): number | undefined =>
  isRegistryError(error) && (error._tag === "RateLimited" || error._tag === "RegistryResponseError")
    ? error.retryAfterMillis
    : undefined

/**
 * Make a schedule wait at least as long as an error's `Retry-After` (a 429, or a 503 that sends
 * one), up to `max`. Errors that are not a `RegistryError` keep the schedule's delay.
 *
 * @since 0.1.0
 * @category retries
 */
export const honourRetryAfter = <Out, E, R>(
  schedule: Schedule.Schedule<Out, E, R>,
  max: Duration.DurationInput
): Schedule.Schedule<[Out, E], E, R> => {
  const cap = Duration.toMillis(max)
  return Schedule.intersect(schedule, Schedule.identity<E>()).pipe(
    Schedule.modifyDelay(([, error], delay) => {
      const after = retryAfterOf(error)
      return after === undefined ? delay : Duration.max(delay, Duration.millis(Math.min(cap, after)))
    })
  )
}

/**
 * The retry schedule that overrides the client's `retrySchedule` for the effects run inside
 * `withRetrySchedule` (none: the client's own).
 *
 * @since 0.2.0
 * @category retries
 */
export const currentRetrySchedule: FiberRef.FiberRef<Option.Option<Schedule.Schedule<unknown, RegistryError>>> =
  RetryOverride.currentRetrySchedule

/**
 * Run an effect (or a stream) with another retry schedule for the client's own retries of each
 * request, keeping the client (its token and credential caches, its transfer slots). `Retry-After`
 * is still honoured. `Schedule.stop` turns the client's retries off (see `withoutRetries`).
 *
 * @example
 * ```ts
 * import * as Registry from "@ocireg/core/Registry"
 * import * as RegistryClient from "@ocireg/core/RegistryClient"
 * import * as Schedule from "effect/Schedule"
 *
 * export const patient = Registry.listAllTags("ghcr.io/team/app").pipe(
 *   RegistryClient.withRetrySchedule(Schedule.recurs(10).pipe(Schedule.addDelay(() => "1 second")))
 * )
 * ```
 *
 * @since 0.2.0
 * @category retries
 */
export const withRetrySchedule: {
  (
    schedule: Schedule.Schedule<unknown, RegistryError>
  ): <Self extends Effect.Effect<any, any, any> | Stream.Stream<any, any, any>>(self: Self) => Self
  <Self extends Effect.Effect<any, any, any> | Stream.Stream<any, any, any>>(
    self: Self,
    schedule: Schedule.Schedule<unknown, RegistryError>
  ): Self
} = dual(
  2,
  <A, E, R>(
    self: Effect.Effect<A, E, R> | Stream.Stream<A, E, R>,
    schedule: Schedule.Schedule<unknown, RegistryError>
  ): any =>
    Stream.StreamTypeId in self
      ? Stream.unwrapScoped(
        Effect.as(Effect.locallyScoped(currentRetrySchedule, Option.some(schedule)), self as Stream.Stream<A, E, R>)
      )
      : Effect.locally(self as Effect.Effect<A, E, R>, currentRetrySchedule, Option.some(schedule))
)

/**
 * Run an effect (or a stream) with the client's own retries turned off, so every failure reaches
 * the caller at once (for a caller that retries by itself, or a deadline that must hold).
 *
 * @since 0.2.0
 * @category retries
 */
export const withoutRetries: <Self extends Effect.Effect<any, any, any> | Stream.Stream<any, any, any>>(
  self: Self
) => Self = (self) => withRetrySchedule(self, Schedule.stop)

const dockerHub = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"])

/**
 * The host to talk to for a registry name: Docker Hub's names map to `registry-1.docker.io`.
 *
 * @since 0.1.0
 * @category utils
 */
export const apiHost = (registry: string): string =>
  dockerHub.has(registry.toLowerCase()) ? "registry-1.docker.io" : registry

const redirectStatuses = new Set([301, 302, 303, 307, 308])

/**
 * The chunk size where request bodies cannot stream (browsers): 4 MiB, the largest body GHCR
 * accepts per request (it answers 416 "exceeds the maximum permissible limit of 4.00MiB" above;
 * oras-project/rust-oci-client#35, ocx-sh/ocx#237).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultBufferedChunkSize = 4 * 1024 * 1024

/** Statuses a signed storage URL answers to a `HEAD` it was not signed for (S3, GCS, Azure Blob). */
const headRefusedByStorage = new Set([400, 401, 403, 405])

const normalizePrefix = (prefix: string | undefined) => {
  if (prefix === undefined) return ""
  const trimmed = prefix.replace(/^\/+|\/+$/g, "")
  return trimmed === "" ? "" : `/${trimmed}`
}

const resolveOptions = (options: Options): ResolvedOptions => ({
  userAgent: options.userAgent ?? "ocireg/0.1.0",
  insecure: options.insecure ?? [],
  trustedRealms: options.trustedRealms ?? [],
  retrySchedule: options.retrySchedule ?? defaultRetrySchedule,
  maxRetryAfter: Duration.decode(options.maxRetryAfter ?? "60 seconds"),
  requestTimeout: Duration.decode(options.requestTimeout ?? "60 seconds"),
  manifestSizeLimit: options.manifestSizeLimit ?? 4 * 1024 * 1024,
  maxRedirects: options.maxRedirects ?? 5,
  chunkSize: options.chunkSize ?? (options.streamingUploads === false ? defaultBufferedChunkSize : Infinity),
  streamingUploads: options.streamingUploads ?? true,
  idleTimeout: Duration.decode(options.idleTimeout ?? "30 seconds"),
  hostConcurrency: Math.max(1, options.hostConcurrency ?? 8)
})

/**
 * Build the client from an `HttpClient` and a `CredentialStore`; a `Hasher` in the context is
 * used to verify digests (else the pure-JavaScript one).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const resolved = resolveOptions(options)
    const base = yield* HttpClient.HttpClient
    // A client that enforces the response timeout itself saves a timer fiber per request; not under
    // a test clock (tests that move time need the timer), nor when transformClient may replace it.
    const timeoutMillis = Duration.toMillis(resolved.requestTimeout)
    const nativeTimeout = hasResponseTimeout(base) && options.transformClient === undefined &&
      timeoutMillis > 0 && timeoutMillis <= maxTimerMillis && (yield* Effect.clock) === liveClock
    // The platform's own HTTP spans record full URLs (signed blob URLs carry credentials in their
    // query) and response headers; ours record only what is safe, so theirs are turned off.
    const client = (options.transformClient ?? ((c) => c))(
      HttpClient.withTracerDisabledWhen(nativeTimeout ? base[ResponseTimeoutTypeId](timeoutMillis) : base, () => true)
    )
    const scopedClient = HttpClient.withScope(client)
    const store = yield* CredentialStore
    const hasher = yield* Digest.currentHasher
    const counters = yield* Ref.make<Stats>({ tokensIssued: 0, requests: 0 })
    const hostAuth = new Map<string, HostAuth>()

    const isInsecure = (host: string) => isLoopback(host) || resolved.insecure.includes(host)
    const baseUrl = (registry: string) => {
      const host = apiHost(registry)
      const prefix = normalizePrefix(options.pathPrefix?.[registry] ?? options.pathPrefix?.[host])
      return new URL(`${isInsecure(host) || isInsecure(registry) ? "http" : "https"}://${host}${prefix}/`)
    }

    const permits = new Map<string, Effect.Semaphore>()
    const transferPermit = (registry: string, direction: "download" | "upload") =>
      Effect.suspend(() => {
        const key = `${direction} ${apiHost(registry)}`
        let semaphore = permits.get(key)
        if (semaphore === undefined) {
          semaphore = Effect.unsafeMakeSemaphore(resolved.hostConcurrency)
          permits.set(key, semaphore)
        }
        return Effect.acquireRelease(semaphore.take(1), () => semaphore.release(1))
      }).pipe(Effect.asVoid)

    const warned = new Set<string>()
    const noteWarnings = (response: HttpClientResponse.HttpClientResponse) =>
      Effect.forEach(parseWarnings(headerRecord(response)["warning"]), (text) => {
        if (warned.has(text)) return Effect.void
        warned.add(text)
        return Effect.logWarning(`registry warning: ${text}`)
      }, { discard: true })

    const credentials = yield* Cache.make({
      capacity: 256,
      timeToLive: "5 minutes",
      lookup: (registry: string) => store.get(registry)
    })
    const credential = (registry: string) => credentials.get(registry)

    const tokens = yield* makeTokenCache(client, {
      userAgent: resolved.userAgent,
      insecure: isInsecure,
      trustedRealms: resolved.trustedRealms,
      registryUrl: baseUrl,
      credential,
      onTokenIssued: () => Ref.update(counters, (s) => ({ ...s, tokensIssued: s.tokensIssued + 1 })),
      retrySchedule: honourRetryAfter(resolved.retrySchedule, resolved.maxRetryAfter)
    })

    const tokenKey = (registry: string, auth: HostAuth & { _tag: "Bearer" }, scopes: ReadonlyArray<string>) =>
      new TokenKey({ registry, realm: auth.realm, service: auth.service, scope: mergeScopes(scopes, []).join(" ") })

    /** The `Authorization` value for a request in the given auth state, if any. */
    const authorization = (
      registry: string,
      auth: HostAuth | undefined,
      scopes: ReadonlyArray<string>
    ): Effect.Effect<Option.Option<Redacted.Redacted<string>>, RegistryError> => {
      if (auth === undefined || auth._tag === "Anonymous") return Effect.succeedNone
      return Effect.flatMap(credential(registry), (found) => {
        const c = Option.getOrUndefined(found)
        if (c?._tag === "BearerToken") return Effect.succeedSome(bearerHeader(c.token))
        if (auth._tag === "Basic") {
          if (c === undefined) return Effect.succeedNone
          return Effect.succeedSome(
            c._tag === "Basic" ? basicHeader(c.username, c.password) : basicHeader(c.username ?? "<token>", c.token)
          )
        }
        return tokens.get(tokenKey(registry, auth, scopes)).pipe(
          Effect.map((t) => Option.some(bearerHeader(t.token))),
          // the realm refused the credentials themselves: read the store again next time
          Effect.tapError((e) =>
            e._tag === "AuthenticationError" && e.reason === "RejectedCredentials"
              ? credentials.invalidate(registry)
              : Effect.void
          )
        )
      })
    }

    /** Send one request, following redirects; credentials only ever go to the registry's origin. */
    const send = (
      request: Request,
      origin: string,
      url: URL,
      auth: Option.Option<Redacted.Redacted<string>>,
      hops: number
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError> =>
      Effect.gen(function*() {
        const headers: Record<string, string> = { "user-agent": resolved.userAgent, ...request.headers }
        if (Option.isSome(auth) && url.origin === origin) headers["authorization"] = Redacted.value(auth.value)
        let httpRequest = HttpClientRequest.make(request.method)(url.href, { headers })
        if (request.body !== undefined) httpRequest = HttpClientRequest.setBody(httpRequest, request.body)
        const run = (toSend: HttpClientRequest.HttpClientRequest) =>
          Effect.zipRight(
            Ref.update(counters, (s) => ({ ...s, requests: s.requests + 1 })),
            (request.abortScope === undefined
              ? client.execute(toSend)
              : Scope.extend(scopedClient.execute(toSend), request.abortScope)).pipe(
                Effect.mapError(transportError(toSend.method, url.href)),
                nativeTimeout ? identity : timeoutFail({
                  duration: resolved.requestTimeout,
                  onTimeout: () =>
                    new TransportError({
                      method: toSend.method,
                      url: displayUrl(url.href),
                      reason: "Timeout",
                      detail: `no response within ${Duration.format(resolved.requestTimeout)}`
                    })
                })
              )
          )
        const response = yield* run(httpRequest)
        yield* Effect.logDebug(`${request.method} ${displayUrl(url.href)} ${response.status}`)
        yield* noteWarnings(response)
        if (
          request.method === "HEAD" &&
          (response.status === 403 || (hops > 0 && url.origin !== origin && headRefusedByStorage.has(response.status)))
        ) {
          // A blob HEAD redirected to a storage URL signed for GET only (S3, GCS, Azure Blob answer
          // 403): ask for its first byte instead, and answer the HEAD with what that says. A 403
          // seen directly may be the same thing behind a platform that follows redirects itself
          // (fetch in browsers); a registry that really refuses refuses the GET too.
          return yield* headByRangedGet(run, httpRequest, url, headers, response)
        }
        const location = headerRecord(response)["location"]
        if (!redirectStatuses.has(response.status) || location === undefined) return response
        yield* discard(response)
        const refuse = (reason: string) =>
          Effect.fail(new InvalidResponse({ method: request.method, url: displayUrl(url.href), reason }))
        if (hops >= resolved.maxRedirects) return yield* refuse(`more than ${resolved.maxRedirects} redirects`)
        // two Location headers (joined by the HTTP client) are a hostile answer, never a URL to follow
        if (hasSeveralValues(location)) return yield* refuse("several Location headers")
        const next = yield* Effect.try({
          try: () => new URL(location, url),
          catch: () =>
            new InvalidResponse({ method: request.method, url: displayUrl(url.href), reason: "bad Location" })
        })
        if (next.protocol !== "https:" && next.protocol !== "http:") return yield* refuse("redirect to a non-HTTP URL")
        if (next.protocol === "http:" && url.protocol === "https:" && !isInsecure(next.host)) {
          return yield* refuse(`redirect from HTTPS to plain HTTP ${next.host}`)
        }
        if (isLinkLocal(next.hostname)) {
          return yield* refuse(`redirect to link-local address ${next.hostname}`)
        }
        if (request.crossOriginRedirects === false && next.origin !== origin) return response
        const method = response.status === 303 && request.method !== "HEAD" ? "GET" : request.method
        const body = method === "GET" || method === "HEAD" ? undefined : request.body
        if (body?._tag === "Stream") return yield* refuse("redirect of a streamed upload")
        return yield* send({ ...request, method, body }, origin, next, auth, hops + 1)
      })

    /** Learn how a registry authenticates before sending a body that cannot be sent twice. */
    const learnAuth = (registry: string, base: URL) =>
      Effect.gen(function*() {
        const response = yield* send(
          { registry, method: "GET", path: "/v2/", scopes: [] },
          base.origin,
          endpointUrl(base, "/v2/"),
          Option.none(),
          0
        )
        yield* discard(response)
        const learned = response.status === 401
          ? fromChallenge(headerRecord(response)["www-authenticate"])
          : { auth: { _tag: "Anonymous" } as const, scopes: [] }
        if (learned !== undefined) hostAuth.set(registry, learned.auth)
      })

    const attempt = (
      request: Request,
      base: URL,
      url: URL,
      scopes: ReadonlyArray<string>,
      tried: { readonly learned: boolean; readonly reauthenticated: boolean }
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError> =>
      Effect.gen(function*() {
        const sameOrigin = url.origin === base.origin
        const auth = hostAuth.get(request.registry)
        const header = sameOrigin ? yield* authorization(request.registry, auth, scopes) : Option.none()
        const response = yield* send(request, base.origin, url, header, 0)
        const status = response.status
        const canResend = request.body?._tag !== "Stream"
        const context = {
          registry: request.registry,
          notFound: request.notFound,
          repository: request.repository,
          reference: request.reference
        }
        const challenge = fromChallenge(headerRecord(response)["www-authenticate"])
        const insufficientScope = challenge?.error === "insufficient_scope"
        if ((status === 401 || (status === 403 && insufficientScope)) && sameOrigin) {
          // an error body is worth a few seconds, not the whole idle timeout (a stalled 401 body held a
          // pull for 30 s: the fault campaign's regression 4)
          const body = request.method === "HEAD"
            ? new Uint8Array(0)
            : yield* readPrefix(response, smallBodyLimit, errorBodyIdle)
          if (challenge === undefined) {
            return yield* Effect.fail(
              new AuthenticationErrorClass({
                registry: request.registry,
                reason: "UnsupportedChallenge",
                detail: "the registry answered 401 without a Basic or Bearer challenge"
              })
            )
          }
          // Docker Hub, GHCR and Harbor refuse a repository that does not exist, or that the account
          // may not see, with 401 `insufficient_scope` (or `DENIED`, "requested access to the
          // resource is denied") even to a valid token: a scope problem, not bad credentials.
          const scopeProblem = insufficientScope || errorCodes(parseErrorBody(body)).includes("DENIED")
          const retryScopes = mergeScopes(scopes, challenge.scopes)
          const found = yield* credential(request.registry)
          // An anonymous first try only teaches us the challenge.
          if (canResend && Option.isNone(header) && !tried.learned) {
            hostAuth.set(request.registry, challenge.auth)
            return yield* attempt(request, base, url, retryScopes, { ...tried, learned: true })
          }
          // A try that carried a token earns one re-authentication (it may have expired or been
          // revoked), unless it was anonymous and refused for its scope: another anonymous token
          // would be refused the same way. Basic credentials refused once are refused again.
          if (
            canResend && Option.isSome(header) && !tried.reauthenticated && challenge.auth._tag === "Bearer" &&
            !(scopeProblem && Option.isNone(found))
          ) {
            if (auth?._tag === "Bearer") {
              yield* tokens.invalidate(tokenKey(request.registry, auth, scopes))
              if (auth.realm !== challenge.auth.realm || auth.service !== challenge.auth.service) {
                // The realm changed under a cached token (nvcr.io answers an expired token with
                // another realm, which refuses what the first one granted: NVIDIA/nvidia-container-
                // toolkit#1945). Ask again as a new client would, and follow the challenge it gets.
                hostAuth.delete(request.registry)
                return yield* attempt(request, base, url, scopes, { learned: false, reauthenticated: true })
              }
            }
            hostAuth.set(request.registry, challenge.auth)
            return yield* attempt(request, base, url, retryScopes, { learned: true, reauthenticated: true })
          }
          return yield* refusal(request, challenge.auth, retryScopes, scopeProblem, found, Option.isSome(header))
        }
        if (
          status === 400 && sameOrigin && canResend && !tried.reauthenticated && auth?._tag === "Bearer" &&
          Option.isSome(header) && request.method !== "HEAD" && !request.acceptStatus?.includes(400)
        ) {
          // Some registries answer an expired or revoked token with 400 rather than 401: fetch a
          // new token once when the answer says the token is the problem.
          const body = yield* readPrefix(response, smallBodyLimit, errorBodyIdle)
          if (tokenProblem(body, challenge?.error)) {
            yield* tokens.invalidate(tokenKey(request.registry, auth, scopes))
            return yield* attempt(request, base, url, scopes, { learned: true, reauthenticated: true })
          }
          return yield* Effect.fail(errorFromBody(response, body, request.method, url.href, context))
        }
        if ((status >= 200 && status < 300) || request.acceptStatus?.includes(status)) return response
        return yield* responseError(response, request.method, url.href, context)
      })

    /** The error for a 401 that is not retried: who refused what, in the registry's terms. */
    const refusal = (
      request: Request,
      auth: HostAuth,
      scopes: ReadonlyArray<string>,
      scopeProblem: boolean,
      found: Option.Option<Credential>,
      hadAuth: boolean
    ): Effect.Effect<never, RegistryError> => {
      const registry = request.registry
      if (Option.isNone(found)) {
        const what = request.repository !== undefined ? `repository ${request.repository}` : "the resource"
        // forget the lookup, so credentials added after this refusal are seen by the next request
        return Effect.zipRight(
          credentials.invalidate(registry),
          Effect.fail(
            new AuthenticationErrorClass({
              registry,
              reason: "MissingCredentials",
              detail: scopeProblem
                ? `${what} was not found, or needs credentials (none are configured for ${registry})`
                : `${registry} needs credentials and none are configured`
            })
          )
        )
      }
      if (scopeProblem) {
        return Effect.fail(
          new AuthorizationError({
            registry,
            reason: request.repository !== undefined ? "NotFoundOrDenied" : "InsufficientScope",
            repository: request.repository,
            scope: scopes.join(" ")
          })
        )
      }
      if (auth._tag === "Bearer" && found.value._tag !== "BearerToken" && hadAuth) {
        // the realm accepted the credentials (it issued the token): they are not what is wrong
        return Effect.fail(
          new AuthenticationErrorClass({
            registry,
            reason: "TokenRejected",
            detail: "the registry refused a token its realm had just issued"
          })
        )
      }
      return Effect.zipRight(
        credentials.invalidate(registry),
        Effect.fail(
          new AuthenticationErrorClass({
            registry,
            reason: "RejectedCredentials",
            detail: hadAuth ? "the registry refused the credentials" : undefined
          })
        )
      )
    }

    const retryPolicy = honourRetryAfter(resolved.retrySchedule, resolved.maxRetryAfter)
    const currentPolicy = Effect.map(
      FiberRef.get(currentRetrySchedule),
      Option.match({
        onNone: () => retryPolicy,
        onSome: (schedule) => honourRetryAfter(schedule, resolved.maxRetryAfter)
      })
    )

    const execute = (request: Request) =>
      Effect.gen(function*() {
        const base = baseUrl(request.registry)
        const url = yield* Effect.try({
          try: () => endpointUrl(base, request.path),
          catch: () =>
            new InvalidResponse({ method: request.method, url: displayUrl(base.href), reason: "invalid request URL" })
        })
        if (request.body?._tag === "Stream" && !hostAuth.has(request.registry)) {
          yield* learnAuth(request.registry, base)
        }
        const once = attempt(request, base, url, request.scopes, { learned: false, reauthenticated: false })
        const idempotent = request.idempotent ??
          (request.method === "GET" || request.method === "HEAD" || request.method === "DELETE")
        return yield* idempotent && request.body?._tag !== "Stream"
          ? RetryOverride.retryAfterFailure(once, currentPolicy, isRetryable)
          : once
      }).pipe(
        Effect.withSpan("RegistryClient.execute", {
          kind: "client",
          // a stack trace per request cost more than the request's other span work; the operation's
          // own span (Registry.getManifest, …) carries the caller's
          captureStackTrace: false,
          attributes: {
            "http.request.method": request.method,
            "registry.host": request.registry,
            "url.path": pathOf(request.path)
          }
        })
      )

    return RegistryClient.of({
      execute,
      baseUrl,
      options: resolved,
      stats: Ref.get(counters),
      transferPermit,
      warnings: Effect.sync(() => [...warned]),
      hasher,
      invalidateCredentials: (registry) =>
        registry === undefined
          ? Effect.zipRight(credentials.invalidateAll, tokens.invalidateAll)
          : Effect.zipRight(credentials.invalidate(registry), tokens.invalidateAll)
    })
  })

/**
 * The texts of `Warning: 299 - "text"` headers (the code registries use for deprecations), from a
 * header that may hold several comma-separated warnings.
 *
 * @since 0.1.0
 * @category utils
 */
export const parseWarnings = (header: string | undefined): ReadonlyArray<string> => {
  if (header === undefined) return []
  const found: Array<string> = []
  const pattern = /299\s+\S+\s+"((?:[^"\\]|\\.){0,1000})"/g
  let match: RegExpExecArray | null
  while ((match = pattern.exec(header)) !== null && found.length < 20) found.push(match[1]!.replace(/\\(.)/g, "$1"))
  return found
}

const pathOf = (path: string) => displayUrl(new URL(path, "http://x").href).replace(/^http:\/\/x/, "")

/** Whether a 400 answer blames the token (`UNAUTHORIZED`, `invalid_token`, "token expired"). */
const tokenProblem = (body: Uint8Array, challengeError: string | undefined): boolean => {
  if (challengeError === "invalid_token") return true
  const details = parseErrorBody(body)
  if (errorCodes(details).includes("UNAUTHORIZED")) return true
  const text = details.length > 0
    ? details.map((d) => d.message).join(" ")
    : new TextDecoder("utf-8", { fatal: false }).decode(body.subarray(0, 1024))
  return /token/i.test(text) && /expired|invalid|revoked/i.test(text)
}

/** Answer a `HEAD` that blob storage refused with what a `GET` of its first byte says. */
const headByRangedGet = (
  run: (
    request: HttpClientRequest.HttpClientRequest
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, TransportError>,
  head: HttpClientRequest.HttpClientRequest,
  url: URL,
  headers: Readonly<Record<string, string>>,
  refused: HttpClientResponse.HttpClientResponse
): Effect.Effect<HttpClientResponse.HttpClientResponse, TransportError> =>
  Effect.gen(function*() {
    const ranged = yield* run(HttpClientRequest.get(url.href, { headers: { ...headers, range: "bytes=0-0" } }))
    const received = headerRecord(ranged)
    const size = ranged.status === 206
      ? parseContentRange(received["content-range"])?.total
      : ranged.status === 200
      ? parseContentLength(received["content-length"])
      : undefined
    yield* cancel(ranged)
    yield* Effect.logDebug(`HEAD ${displayUrl(url.href)} ${refused.status}, ranged GET ${ranged.status}`)
    if (size === undefined) return refused
    const answer: Record<string, string> = {}
    for (const [name, value] of Object.entries(received)) {
      if (name !== "content-range" && name !== "content-length") answer[name] = value
    }
    answer["content-length"] = String(size)
    return HttpClientResponse.fromWeb(head, new Response(null, { status: 200, headers: answer }))
  })

/** The auth state a `WWW-Authenticate` header asks for: Bearer preferred over Basic. */
const fromChallenge = (
  header: string | undefined
): { auth: HostAuth; scopes: ReadonlyArray<string>; error: string | undefined } | undefined => {
  if (header === undefined) return undefined
  const challenges = parseChallenges(header)
  const bearer = challenges.find((c) => c.scheme === "bearer" && c.params["realm"])
  if (bearer) {
    const error = bearerError(bearer)
    return {
      auth: { _tag: "Bearer", realm: bearer.params["realm"]!, service: bearer.params["service"] },
      scopes: bearer.params["scope"] ? parseScopes(bearer.params["scope"]) : [],
      error: error.error
    }
  }
  if (challenges.some((c) => c.scheme === "basic")) return { auth: { _tag: "Basic" }, scopes: [], error: undefined }
  return undefined
}

/**
 * The client as a layer. Needs an `HttpClient` and a `CredentialStore`, nothing else; hashing is
 * inside (a platform `Hasher` provided to this layer is picked up, e.g.
 * `Layer.provide(NodeHasher.layer)`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<RegistryClient, never, HttpClient.HttpClient | CredentialStore> =>
  Layer.effect(RegistryClient, make(options))

/**
 * The client's options from `Config` (the environment by default), every key optional:
 * `OCIREG_USER_AGENT`, `OCIREG_INSECURE` and `OCIREG_TRUSTED_REALMS` (comma-separated hosts),
 * `OCIREG_REQUEST_TIMEOUT` and `OCIREG_IDLE_TIMEOUT` (durations: `30 seconds`, `500 millis`),
 * `OCIREG_MAX_RETRIES` (the default backoff with at most this many retries; 0 turns the client's
 * retries off), `OCIREG_HOST_CONCURRENCY`, `OCIREG_CHUNK_SIZE` and `OCIREG_MANIFEST_SIZE_LIMIT`
 * (bytes).
 *
 * @since 0.2.0
 * @category config
 */
export const config: Config.Config<Options> = Config.all({
  userAgent: Config.option(Config.string("OCIREG_USER_AGENT")),
  insecure: Config.option(Config.string("OCIREG_INSECURE")),
  trustedRealms: Config.option(Config.string("OCIREG_TRUSTED_REALMS")),
  requestTimeout: Config.option(Config.duration("OCIREG_REQUEST_TIMEOUT")),
  idleTimeout: Config.option(Config.duration("OCIREG_IDLE_TIMEOUT")),
  maxRetries: Config.option(
    Config.integer("OCIREG_MAX_RETRIES").pipe(Config.validate({
      message: "a number of retries, 0 or more",
      validation: (n) => n >= 0
    }))
  ),
  hostConcurrency: Config.option(Config.integer("OCIREG_HOST_CONCURRENCY")),
  chunkSize: Config.option(Config.integer("OCIREG_CHUNK_SIZE")),
  manifestSizeLimit: Config.option(Config.integer("OCIREG_MANIFEST_SIZE_LIMIT"))
}).pipe(Config.map((c): Options => {
  const list = (value: Option.Option<string>) =>
    Option.map(value, (text) => text.split(",").map((host) => host.trim()).filter((host) => host.length > 0))
  const options: { -readonly [K in keyof Options]: Options[K] } = {}
  if (Option.isSome(c.userAgent)) options.userAgent = c.userAgent.value
  if (Option.isSome(c.insecure)) options.insecure = Option.getOrThrow(list(c.insecure))
  if (Option.isSome(c.trustedRealms)) options.trustedRealms = Option.getOrThrow(list(c.trustedRealms))
  if (Option.isSome(c.requestTimeout)) options.requestTimeout = c.requestTimeout.value
  if (Option.isSome(c.idleTimeout)) options.idleTimeout = c.idleTimeout.value
  if (Option.isSome(c.maxRetries)) {
    options.retrySchedule = c.maxRetries.value === 0
      ? Schedule.stop
      : Schedule.exponential("200 millis", 2).pipe(
        Schedule.jittered,
        Schedule.intersect(Schedule.recurs(c.maxRetries.value))
      )
  }
  if (Option.isSome(c.hostConcurrency)) options.hostConcurrency = c.hostConcurrency.value
  if (Option.isSome(c.chunkSize)) options.chunkSize = c.chunkSize.value
  if (Option.isSome(c.manifestSizeLimit)) options.manifestSizeLimit = c.manifestSizeLimit.value
  return options
}))

/**
 * The client as a layer, with its options read from `Config` (see `config`); options given here
 * apply where the configuration says nothing. Fails with a `ConfigError` for a malformed value.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig = (
  defaults: Options = {}
): Layer.Layer<RegistryClient, ConfigError.ConfigError, HttpClient.HttpClient | CredentialStore> =>
  Layer.effect(RegistryClient, Effect.flatMap(config, (configured) => make({ ...defaults, ...configured })))
