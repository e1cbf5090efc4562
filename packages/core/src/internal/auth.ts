/**
 * The authentication half of the registry client: what a registry asked for (its challenge),
 * bearer tokens fetched from its realm and cached per (registry, realm, service, scope set) until
 * shortly before they expire, shared by concurrent requests (one fetch in flight per key), and the
 * rules on where credentials may be sent.
 *
 * @internal
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Cache from "effect/Cache"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as CredentialStore from "../CredentialStore.js"
import { AuthenticationError, RateLimited, type RegistryError, RegistryResponseError } from "../RegistryError.js"
import { parseRetryAfter } from "./headers.js"
import { discard, displayUrl, headerRecord, readLimited, smallBodyLimit, transportError } from "./http.js"

/** What a registry host wants, learned from its `WWW-Authenticate` challenge. */
export type HostAuth =
  | { readonly _tag: "Anonymous" }
  | { readonly _tag: "Basic" }
  | { readonly _tag: "Bearer"; readonly realm: string; readonly service: string | undefined }

/** The key a bearer token is cached under. */
export class TokenKey extends Data.Class<{
  readonly registry: string
  readonly realm: string
  readonly service: string | undefined
  /** space-separated, sorted, merged scopes */
  readonly scope: string
}> {}

/** A cached bearer token. */
export interface Token {
  readonly token: Redacted.Redacted<string>
  readonly lifetimeMillis: number
}

const TokenResponse = Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
const decodeTokenJson = Schema.decodeUnknownEither(TokenResponse)

/**
 * The fields of a token response, read leniently as registries write them: `token` or
 * `access_token` (Docker Hub sends both, ACR and GAR only `access_token`), `expires_in` as a
 * number, a numeric string (some OAuth servers, couchbase/sync_gateway#1930) or absent, and any
 * other fields ignored. A field of the wrong type counts as absent.
 */
export const decodeTokenResponse = (text: string): Either.Either<
  { readonly token: string | undefined; readonly expiresIn: number | undefined; readonly issuedAt: string | undefined },
  string
> =>
  Either.match(decodeTokenJson(text), {
    onLeft: () => Either.left("the token response is not a JSON object"),
    onRight: (json) => {
      const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined)
      const seconds = (value: unknown) => {
        const n = typeof value === "number" ? value : typeof value === "string" ? Number(value.trim()) : NaN
        return Number.isFinite(n) && n > 0 ? n : undefined
      }
      return Either.right({
        token: text(json["token"]) ?? text(json["access_token"]),
        expiresIn: seconds(json["expires_in"]),
        issuedAt: text(json["issued_at"])
      })
    }
  })

/** Tokens without `expires_in`, or with less than this, live this long (the token spec's minimum). */
export const minimumTokenSeconds = 60

/**
 * How long a token may be used: its lifetime minus a margin (a tenth, at most 30 s) so it is
 * renewed before it expires in flight. `issued_at` shortens the lifetime when the token is already
 * old, but a server clock far off ours is ignored rather than trusted.
 */
export const tokenLifetimeMillis = (expiresIn: number | undefined, issuedAt: string | undefined, now: number) => {
  const seconds = Math.max(minimumTokenSeconds, expiresIn !== undefined && Number.isFinite(expiresIn) ? expiresIn : 0)
  let lifetime = seconds * 1000
  const issued = issuedAt === undefined ? NaN : Date.parse(issuedAt)
  if (Number.isFinite(issued) && issued <= now && now - issued < lifetime) lifetime -= now - issued
  return Math.max(0, lifetime - Math.min(30_000, lifetime / 10))
}

const loopbackHost = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/i

/** Whether a host (`name[:port]`) is on this machine. */
export const isLoopback = (host: string): boolean => loopbackHost.test(host)

const linkLocal = /^(169\.254\.\d{1,3}\.\d{1,3}|\[?fe[89ab][0-9a-f]?:[^\]]*\]?|metadata\.google\.internal|metadata)$/i

/** Whether a host name is link-local or a cloud metadata endpoint (never a registry or realm). */
export const isLinkLocal = (hostname: string): boolean => linkLocal.test(hostname)

const site = (hostname: string): string => {
  if (/^[\d.]+$/.test(hostname) || hostname.startsWith("[")) return hostname
  return hostname.split(".").slice(-2).join(".")
}

/**
 * Whether credentials for `registryOrigin` may be sent to `realm`: the realm must be HTTPS (plain
 * HTTP only on loopback or a host the user marked insecure) and on the registry's own site
 * (`auth.docker.io` for `registry-1.docker.io`), or explicitly trusted.
 */
export const realmPolicy = (
  realm: URL,
  registryUrl: URL,
  options: { readonly insecure: (host: string) => boolean; readonly trustedRealms: ReadonlyArray<string> }
): Either.Either<void, string> => {
  if (realm.protocol !== "https:" && realm.protocol !== "http:") return Either.left(`realm scheme ${realm.protocol}`)
  if (isLinkLocal(realm.hostname)) return Either.left(`realm ${realm.hostname} is a link-local or metadata address`)
  if (realm.protocol === "http:" && !isLoopback(realm.host) && !options.insecure(realm.host)) {
    return Either.left(`realm ${displayUrl(realm.href)} is plain HTTP`)
  }
  if (options.trustedRealms.includes(realm.host)) return Either.right(undefined)
  if (realm.host === registryUrl.host || site(realm.hostname) === site(registryUrl.hostname)) {
    return Either.right(undefined)
  }
  if (isLoopback(realm.host) && isLoopback(registryUrl.host)) return Either.right(undefined)
  return Either.left(`realm ${realm.host} is not on the registry's site ${registryUrl.host}`)
}

/** The `Authorization` value for Basic credentials. */
export const basicHeader = (username: string, password: Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.make(`Basic ${Encoding.encodeBase64(`${username}:${Redacted.value(password)}`)}`)

/** The `Authorization` value for a bearer token. */
export const bearerHeader = (token: Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.make(`Bearer ${Redacted.value(token)}`)

/** Everything the token fetcher needs to know about the client's options. */
export interface TokenOptions {
  readonly userAgent: string
  readonly insecure: (host: string) => boolean
  readonly trustedRealms: ReadonlyArray<string>
  readonly registryUrl: (registry: string) => URL
  readonly credential: (
    registry: string
  ) => Effect.Effect<Option.Option<CredentialStore.Credential>, AuthenticationError>
  readonly onTokenIssued: (key: TokenKey) => Effect.Effect<void>
  /** How a realm that answers 429 or 5xx is asked again (the client's retry schedule with `Retry-After`). */
  readonly retrySchedule?: Schedule.Schedule<unknown, RegistryError> | undefined
}

/**
 * Fetch a token from a realm: OAuth2 `POST` for refresh tokens (falling back to `GET` when the
 * realm answers 404 or 405), otherwise `GET realm?service=&scope=` with Basic credentials when we
 * have them, anonymously when we do not.
 */
const fetchToken = (client: HttpClient.HttpClient, options: TokenOptions) => (key: TokenKey) =>
  Effect.gen(function*() {
    const fail = (reason: AuthenticationError["reason"], detail?: string) =>
      new AuthenticationError({ registry: key.registry, reason, detail })
    const realm = yield* Effect.try({
      try: () => new URL(key.realm),
      catch: () => fail("TokenExchangeFailed", "the challenge's realm is not a URL")
    })
    if (isLinkLocal(realm.hostname)) {
      return yield* fail("InsecureTransport", `the realm ${realm.hostname} is a link-local or metadata address`)
    }
    const credential = yield* options.credential(key.registry)
    const scopes = key.scope === "" ? [] : key.scope.split(" ")
    if (Option.isSome(credential)) {
      const allowed = realmPolicy(realm, options.registryUrl(key.registry), options)
      if (Either.isLeft(allowed)) {
        return yield* fail("InsecureTransport", `refusing to send credentials: ${allowed.left}`)
      }
    }
    const now = yield* Clock.currentTimeMillis

    const get = (basic: Option.Option<Redacted.Redacted<string>>) => {
      const url = new URL(realm.href)
      if (key.service !== undefined) url.searchParams.set("service", key.service)
      for (const scope of scopes) url.searchParams.append("scope", scope)
      let request = HttpClientRequest.get(url.href, { headers: { "user-agent": options.userAgent } })
      if (Option.isSome(basic)) {
        request = HttpClientRequest.setHeader(request, "authorization", Redacted.value(basic.value))
      }
      return request
    }
    const post = (refreshToken: Redacted.Redacted<string>) =>
      HttpClientRequest.post(realm.href, {
        headers: { "user-agent": options.userAgent },
        body: HttpBody.text(
          new URLSearchParams({
            grant_type: "refresh_token",
            refresh_token: Redacted.value(refreshToken),
            client_id: "ocireg",
            ...(key.service !== undefined ? { service: key.service } : {}),
            scope: key.scope
          }).toString(),
          "application/x-www-form-urlencoded"
        )
      })

    // A realm that is briefly unwell (429, 5xx) is asked again on the client's schedule, honouring
    // `Retry-After`; what it still answers after that is reported as the exchange failing.
    const sendOnce = (request: HttpClientRequest.HttpClientRequest) =>
      Effect.flatMap(
        Effect.mapError(client.execute(request), transportError(request.method, realm.href)),
        (response): Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError> => {
          if (response.status !== 429 && response.status < 500) return Effect.succeed(response)
          const retryAfterMillis = parseRetryAfter(headerRecord(response)["retry-after"], Date.now())
          return Effect.zipRight(
            discard(response),
            Effect.fail(
              response.status === 429
                ? new RateLimited({ registry: key.registry, retryAfterMillis })
                : new RegistryResponseError({
                  method: request.method,
                  url: displayUrl(realm.href),
                  status: response.status,
                  retryAfterMillis
                })
            )
          )
        }
      )
    const send = (request: HttpClientRequest.HttpClientRequest) =>
      (options.retrySchedule === undefined
        ? sendOnce(request)
        : Effect.retry(sendOnce(request), {
          schedule: options.retrySchedule,
          while: (e) => e._tag === "TransportError" || e._tag === "RateLimited" || e._tag === "RegistryResponseError"
        })).pipe(
          Effect.mapError((e) =>
            e._tag === "RegistryResponseError"
              ? fail("TokenExchangeFailed", `the token realm answered ${e.status}`)
              : e._tag === "RateLimited"
              ? fail("TokenExchangeFailed", "the token realm answered 429 (rate limited)")
              : fail("TokenExchangeFailed", e.message)
          )
        )

    const c = Option.getOrUndefined(credential)
    let response = yield* send(
      c?._tag === "IdentityToken"
        ? post(c.token)
        : get(c?._tag === "Basic" ? Option.some(basicHeader(c.username, c.password)) : Option.none())
    )
    if (c?._tag === "IdentityToken" && (response.status === 404 || response.status === 405)) {
      response = yield* send(get(Option.some(basicHeader(c.username ?? "<token>", c.token))))
    }
    const body = yield* readLimited(response, smallBodyLimit, "token response", "GET", realm.href).pipe(
      Effect.mapError((e) => fail("TokenExchangeFailed", e.message))
    )
    if (response.status === 401 || response.status === 403) {
      return yield* fail(c === undefined ? "MissingCredentials" : "RejectedCredentials", "the token realm refused them")
    }
    if (
      response.status === 400 && c?._tag === "IdentityToken" && /invalid_grant/.test(new TextDecoder().decode(body))
    ) {
      // an expired or revoked refresh token (OAuth2 `invalid_grant`) is a refused credential
      return yield* fail("RejectedCredentials", "the token realm refused the identity token (invalid_grant)")
    }
    if (response.status < 200 || response.status >= 300) {
      return yield* fail("TokenExchangeFailed", `the token realm answered ${response.status}`)
    }
    const parsed = decodeTokenResponse(new TextDecoder().decode(body))
    if (Either.isLeft(parsed)) return yield* fail("TokenExchangeFailed", parsed.left)
    const token = parsed.right.token
    if (token === undefined) {
      return yield* fail("TokenExchangeFailed", "the token response has no token")
    }
    yield* options.onTokenIssued(key)
    return {
      token: Redacted.make(token),
      lifetimeMillis: tokenLifetimeMillis(parsed.right.expiresIn, parsed.right.issuedAt, now)
    } satisfies Token
  })

/** The token cache: one entry per key, fetched once however many fibers ask at the same time. */
export interface TokenCache {
  readonly get: (key: TokenKey) => Effect.Effect<Token, RegistryError>
  readonly invalidate: (key: TokenKey) => Effect.Effect<void>
  readonly invalidateAll: Effect.Effect<void>
}

/** Build the token cache over an `HttpClient`. */
export const makeTokenCache = (
  client: HttpClient.HttpClient,
  options: TokenOptions
): Effect.Effect<TokenCache> =>
  Effect.map(
    Cache.makeWith({
      capacity: 1024,
      lookup: fetchToken(client, options),
      timeToLive: (exit) => Exit.isSuccess(exit) ? Duration.millis(exit.value.lifetimeMillis) : Duration.zero
    }),
    (cache) => ({
      get: (key) => cache.get(key),
      invalidate: (key) => cache.invalidate(key),
      invalidateAll: cache.invalidateAll
    })
  )
