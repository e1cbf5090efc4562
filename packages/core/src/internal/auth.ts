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
import * as Schema from "effect/Schema"
import type * as CredentialStore from "../CredentialStore.js"
import { AuthenticationError, type RegistryError } from "../RegistryError.js"
import { displayUrl, readLimited, smallBodyLimit, transportError } from "./http.js"

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

const TokenResponse = Schema.Struct({
  token: Schema.optional(Schema.String),
  access_token: Schema.optional(Schema.String),
  expires_in: Schema.optional(Schema.Number),
  issued_at: Schema.optional(Schema.String)
})
const decodeTokenResponse = Schema.decodeUnknownEither(Schema.parseJson(TokenResponse))

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

    const send = (request: HttpClientRequest.HttpClientRequest) =>
      client.execute(request).pipe(
        Effect.mapError(transportError(request.method, realm.href)),
        Effect.mapError((e) => fail("TokenExchangeFailed", e.message))
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
    if (response.status < 200 || response.status >= 300) {
      return yield* fail("TokenExchangeFailed", `the token realm answered ${response.status}`)
    }
    const parsed = decodeTokenResponse(new TextDecoder().decode(body))
    if (Either.isLeft(parsed)) return yield* fail("TokenExchangeFailed", "the token response is not valid JSON")
    const token = parsed.right.token ?? parsed.right.access_token
    if (token === undefined || token === "") {
      return yield* fail("TokenExchangeFailed", "the token response has no token")
    }
    yield* options.onTokenIssued(key)
    return {
      token: Redacted.make(token),
      lifetimeMillis: tokenLifetimeMillis(parsed.right.expires_in, parsed.right.issued_at, now)
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
