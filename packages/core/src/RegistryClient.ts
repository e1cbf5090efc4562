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
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as HttpMethod from "@effect/platform/HttpMethod"
import * as Cache from "effect/Cache"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import { CredentialStore } from "./CredentialStore.js"
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
import { discard, displayUrl, headerRecord, responseError, timeoutFail, transportError } from "./internal/http.js"
import {
  type AuthenticationError,
  AuthenticationError as AuthenticationErrorClass,
  AuthorizationError,
  InvalidResponse,
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
   * streamed `PUT`, as skopeo and crane send), 16 MiB otherwise.
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
   * this client (so nested copies do not multiply it). Default 8.
   */
  readonly hostConcurrency?: number | undefined
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
  /** The base URL (`https://registry-1.docker.io`) of a registry host. */
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
}>() {}

/**
 * Whether an error is worth retrying: a failed connection, a timeout, 408, 429, 500, 502, 503, 504.
 *
 * @since 0.1.0
 * @category retries
 */
export const isRetryable = (error: RegistryError): boolean => {
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
 * Jittered exponential backoff from 200 ms, doubling, at most 3 retries.
 *
 * @since 0.1.0
 * @category retries
 */
export const defaultRetrySchedule: Schedule.Schedule<unknown, RegistryError> = Schedule.exponential("200 millis", 2)
  .pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(3)))

/**
 * Make a schedule wait at least as long as an error's `Retry-After` (a 429, or a 503 that sends
 * one), up to `max`.
 *
 * @since 0.1.0
 * @category retries
 */
export const honourRetryAfter = <Out, R>(
  schedule: Schedule.Schedule<Out, RegistryError, R>,
  max: Duration.DurationInput
): Schedule.Schedule<[Out, RegistryError], RegistryError, R> => {
  const cap = Duration.toMillis(max)
  return Schedule.intersect(schedule, Schedule.identity<RegistryError>()).pipe(
    Schedule.modifyDelay(([, error], delay) =>
      (error._tag === "RateLimited" || error._tag === "RegistryResponseError") && error.retryAfterMillis !== undefined
        ? Duration.max(delay, Duration.millis(Math.min(cap, error.retryAfterMillis)))
        : delay
    )
  )
}

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

const resolveOptions = (options: Options): ResolvedOptions => ({
  userAgent: options.userAgent ?? "ocireg/0.1.0",
  insecure: options.insecure ?? [],
  trustedRealms: options.trustedRealms ?? [],
  retrySchedule: options.retrySchedule ?? defaultRetrySchedule,
  maxRetryAfter: Duration.decode(options.maxRetryAfter ?? "60 seconds"),
  requestTimeout: Duration.decode(options.requestTimeout ?? "60 seconds"),
  manifestSizeLimit: options.manifestSizeLimit ?? 4 * 1024 * 1024,
  maxRedirects: options.maxRedirects ?? 5,
  chunkSize: options.chunkSize ?? (options.streamingUploads === false ? 16 * 1024 * 1024 : Infinity),
  streamingUploads: options.streamingUploads ?? true,
  idleTimeout: Duration.decode(options.idleTimeout ?? "30 seconds"),
  hostConcurrency: Math.max(1, options.hostConcurrency ?? 8)
})

/**
 * Build the client from an `HttpClient` and a `CredentialStore`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const resolved = resolveOptions(options)
    const base = yield* HttpClient.HttpClient
    // The platform's own HTTP spans record full URLs (signed blob URLs carry credentials in their
    // query) and response headers; ours record only what is safe, so theirs are turned off.
    const client = (options.transformClient ?? ((c) => c))(
      HttpClient.withTracerDisabledWhen(base, () => true)
    )
    const scopedClient = HttpClient.withScope(client)
    const store = yield* CredentialStore
    const counters = yield* Ref.make<Stats>({ tokensIssued: 0, requests: 0 })
    const hostAuth = new Map<string, HostAuth>()

    const isInsecure = (host: string) => isLoopback(host) || resolved.insecure.includes(host)
    const baseUrl = (registry: string) => {
      const host = apiHost(registry)
      return new URL(`${isInsecure(host) || isInsecure(registry) ? "http" : "https"}://${host}`)
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
      onTokenIssued: () => Ref.update(counters, (s) => ({ ...s, tokensIssued: s.tokensIssued + 1 }))
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
        return Effect.map(tokens.get(tokenKey(registry, auth, scopes)), (t) => Option.some(bearerHeader(t.token)))
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
        yield* Ref.update(counters, (s) => ({ ...s, requests: s.requests + 1 }))
        const response = yield* (request.abortScope === undefined
          ? client.execute(httpRequest)
          : Scope.extend(scopedClient.execute(httpRequest), request.abortScope)).pipe(
            Effect.mapError(transportError(request.method, url.href)),
            timeoutFail({
              duration: resolved.requestTimeout,
              onTimeout: () =>
                new TransportError({
                  method: request.method,
                  url: displayUrl(url.href),
                  reason: "Timeout",
                  detail: `no response within ${Duration.format(resolved.requestTimeout)}`
                })
            })
          )
        yield* Effect.logDebug(`${request.method} ${displayUrl(url.href)} ${response.status}`)
        yield* noteWarnings(response)
        const location = headerRecord(response)["location"]
        if (!redirectStatuses.has(response.status) || location === undefined) return response
        yield* discard(response)
        const refuse = (reason: string) =>
          Effect.fail(new InvalidResponse({ method: request.method, url: displayUrl(url.href), reason }))
        if (hops >= resolved.maxRedirects) return yield* refuse(`more than ${resolved.maxRedirects} redirects`)
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
          new URL("/v2/", base),
          Option.none(),
          0
        )
        yield* discard(response)
        const learned = response.status === 401
          ? fromChallenge(headerRecord(response)["www-authenticate"])
          : { auth: { _tag: "Anonymous" } as const, scopes: [] }
        if (learned !== undefined) hostAuth.set(registry, learned.auth)
      })

    const unauthenticated = (registry: string, hadAuth: boolean): Effect.Effect<never, AuthenticationError> =>
      credential(registry).pipe(
        // forget the lookup, so credentials added after this refusal are seen by the next request
        Effect.zipLeft(credentials.invalidate(registry)),
        Effect.flatMap((c) =>
          Effect.fail(
            new AuthenticationErrorClass({
              registry,
              reason: Option.isNone(c) ? "MissingCredentials" : "RejectedCredentials",
              detail: hadAuth ? "the registry refused the credentials" : undefined
            })
          )
        )
      )

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
        if (status === 401 || status === 403) {
          const challenges = headerRecord(response)["www-authenticate"]
          const learned = fromChallenge(challenges)
          const insufficientScope = learned?.error === "insufficient_scope"
          if ((status === 401 || insufficientScope) && sameOrigin) {
            yield* discard(response)
            if (auth?._tag === "Bearer") yield* tokens.invalidate(tokenKey(request.registry, auth, scopes))
            if (learned === undefined) {
              return yield* Effect.fail(
                new AuthenticationErrorClass({
                  registry: request.registry,
                  reason: "UnsupportedChallenge",
                  detail: "the registry answered 401 without a Basic or Bearer challenge"
                })
              )
            }
            const retryScopes = mergeScopes(scopes, learned.scopes)
            // An anonymous first try only teaches us the challenge; a try that carried a token earns
            // one re-authentication (it may have expired or been revoked). Basic credentials that
            // were refused once will be refused again.
            const retry = request.body?._tag !== "Stream" &&
              (Option.isNone(header) ? !tried.learned : !tried.reauthenticated && learned.auth._tag === "Bearer")
            if (retry) {
              hostAuth.set(request.registry, learned.auth)
              return yield* attempt(request, base, url, retryScopes, {
                learned: true,
                reauthenticated: tried.reauthenticated || Option.isSome(header)
              })
            }
            const hasCredential = Option.isSome(yield* credential(request.registry))
            if (insufficientScope && hasCredential) {
              return yield* Effect.fail(
                new AuthorizationError({
                  registry: request.registry,
                  reason: "InsufficientScope",
                  scope: retryScopes.join(" ")
                })
              )
            }
            return yield* unauthenticated(request.registry, Option.isSome(header))
          }
        }
        if ((status >= 200 && status < 300) || request.acceptStatus?.includes(status)) return response
        return yield* responseError(response, request.method, url.href, {
          registry: request.registry,
          notFound: request.notFound,
          repository: request.repository,
          reference: request.reference
        })
      })

    const retryPolicy = honourRetryAfter(resolved.retrySchedule, resolved.maxRetryAfter)

    const execute = (request: Request) =>
      Effect.gen(function*() {
        const base = baseUrl(request.registry)
        const url = yield* Effect.try({
          try: () => new URL(request.path, base),
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
          ? Effect.retry(once, { schedule: retryPolicy, while: isRetryable })
          : once
      }).pipe(
        Effect.withSpan("RegistryClient.execute", {
          kind: "client",
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
 * The client as a layer. Needs an `HttpClient` and a `CredentialStore`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<RegistryClient, never, HttpClient.HttpClient | CredentialStore> =>
  Layer.effect(RegistryClient, make(options))
