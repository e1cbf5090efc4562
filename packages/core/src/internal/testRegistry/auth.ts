/**
 * Authentication of the test registry: HTTP Basic against a table of users, or the Docker token
 * protocol (a `Bearer` challenge naming the realm, service and scope; a token endpoint at
 * `/token` that answers `GET` with optional Basic credentials and the OAuth2 `POST` form; opaque
 * random tokens remembered with their grants and expiry; `invalid_token` and
 * `insufficient_scope` challenges).
 *
 * @internal
 */
import type { BearerOptions, IssuedToken, Users } from "../../RegistryTest.js"
import { mergeScopes, parseScopes } from "../challenge.js"
import { randomHex, type ServerContext } from "./context.js"
import * as Responses from "./responses.js"
import { type Access, formatAccess } from "./routing.js"

/** A token the token endpoint issued, with what it grants. */
export interface TokenRecord extends IssuedToken {
  readonly grants: ReadonlyMap<string, ReadonlySet<string>>
}

/** Who is calling, once authenticated. */
export type Identity =
  | { readonly _tag: "Anonymous" }
  | { readonly _tag: "User"; readonly user: string }
  | { readonly _tag: "Token"; readonly token: TokenRecord }

/** The tokens of one registry. */
export class TokenStore {
  readonly tokens = new Map<string, TokenRecord>()
  readonly refreshTokens = new Map<string, string>()
  readonly issued: Array<IssuedToken> = []

  revoke(): void {
    this.tokens.clear()
  }

  clear(): void {
    this.tokens.clear()
    this.refreshTokens.clear()
    this.issued.length = 0
  }
}

/** The answer of an authentication check. */
export type Outcome =
  | { readonly _tag: "Allowed"; readonly identity: Identity }
  | { readonly _tag: "Denied"; readonly response: Response }

const isLoopback = (hostname: string): boolean =>
  hostname === "localhost" || hostname.endsWith(".localhost") || hostname === "[::1]" ||
  /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)

/** The token realm: `https://<host>/token`, or `http` for a loopback host, unless configured. */
export const realmOf = (context: ServerContext, url: URL): string =>
  context.settings.realm ??
    `${isLoopback(url.hostname) ? "http" : "https"}://${url.host}${context.settings.realmPath}`

/** The `service` of the challenge and the token request: the host, unless configured. */
export const serviceOf = (context: ServerContext, url: URL): string => context.settings.service ?? url.host

const hasOwn = (record: Readonly<Record<string, string>>, key: string): boolean =>
  Object.prototype.hasOwnProperty.call(record, key)

/** The user and password of a `Basic` authorization header. */
const basicCredentials = (
  header: string | null
): { readonly user: string; readonly password: string } | undefined => {
  if (header === null) return undefined
  const match = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)
  if (match === null) return undefined
  try {
    const binary = atob(match[1])
    const text = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)))
    const colon = text.indexOf(":")
    return colon === -1 ? undefined : { user: text.slice(0, colon), password: text.slice(colon + 1) }
  } catch {
    return undefined
  }
}

const checkPassword = (users: Users, user: string, password: string): boolean =>
  typeof users === "function" ? users(user, password) : hasOwn(users, user) && users[user] === password

const bearerToken = (header: string | null): string | undefined => {
  if (header === null) return undefined
  const match = /^bearer\s+(\S+)\s*$/i.exec(header)
  return match === null ? undefined : match[1]
}

/** The detail distribution puts in an `UNAUTHORIZED` error: one record per action. */
const accessDetail = (access: ReadonlyArray<Access>) =>
  access.flatMap((a) => a.actions.map((action) => ({ Type: a.type, Class: "", Name: a.name, Action: action })))

const unauthorized = (access: ReadonlyArray<Access>, challenge: string): Response =>
  Responses.fail(401, "UNAUTHORIZED", accessDetail(access), { "www-authenticate": challenge })

const quote = (value: string): string => `"${value.replace(/["\\]/g, "\\$&")}"`

/** A `Bearer` challenge for the access a request needs, with an optional error. */
export const bearerChallenge = (
  context: ServerContext,
  url: URL,
  access: ReadonlyArray<Access>,
  error?: "invalid_token" | "insufficient_scope"
): string => {
  let challenge = `Bearer realm=${quote(realmOf(context, url))},service=${quote(serviceOf(context, url))}`
  if (access.length > 0) challenge += `,scope=${quote(access.map(formatAccess).join(" "))}`
  if (error !== undefined) challenge += `,error=${quote(error)}`
  return challenge
}

const grantKey = (type: string, name: string): string => `${type}:${name}`

/** Whether an authenticated caller may do everything an access asks for. */
export const allows = (identity: Identity, access: Access): boolean => {
  if (identity._tag !== "Token") return true
  const granted = identity.token.grants.get(grantKey(access.type, access.name))
  if (granted === undefined) return false
  return granted.has("*") || access.actions.every((action) => granted.has(action))
}

/** Checks the credentials of a registry request against the access it needs. */
export const authorize = (
  context: ServerContext,
  tokens: TokenStore,
  request: Request,
  url: URL,
  access: ReadonlyArray<Access>
): Outcome => {
  const auth = context.settings.auth
  if (auth === "none") return { _tag: "Allowed", identity: { _tag: "Anonymous" } }
  const header = request.headers.get("authorization")
  if ("basic" in auth) {
    const credentials = basicCredentials(header)
    return credentials !== undefined && checkPassword(auth.basic, credentials.user, credentials.password)
      ? { _tag: "Allowed", identity: { _tag: "User", user: credentials.user } }
      : { _tag: "Denied", response: unauthorized(access, `Basic realm="RegistryTest"`) }
  }
  const value = bearerToken(header)
  if (value === undefined) {
    return { _tag: "Denied", response: unauthorized(access, bearerChallenge(context, url, access)) }
  }
  const token = tokens.tokens.get(value)
  if (token === undefined || token.expiresAt <= context.now()) {
    return { _tag: "Denied", response: unauthorized(access, bearerChallenge(context, url, access, "invalid_token")) }
  }
  const identity: Identity = { _tag: "Token", token }
  return access.every((a) => allows(identity, a))
    ? { _tag: "Allowed", identity }
    : { _tag: "Denied", response: unauthorized(access, bearerChallenge(context, url, access, "insufficient_scope")) }
}

/** The actions granted on one requested scope, or `undefined` for a scope that grants nothing. */
const grantScope = (
  bearer: BearerOptions,
  user: string | undefined,
  scope: string
): { readonly type: string; readonly name: string; readonly actions: ReadonlyArray<string> } | undefined => {
  const first = scope.indexOf(":")
  const last = scope.lastIndexOf(":")
  if (first <= 0 || last === first) return undefined
  const type = scope.slice(0, first)
  const name = scope.slice(first + 1, last)
  const requested = scope.slice(last + 1).split(",").filter((a) => a !== "")
  let actions: ReadonlyArray<string> = []
  if (type === "repository") {
    if (user === undefined) {
      actions = bearer.anonymousPull === true && requested.some((a) => a === "pull" || a === "*") ? ["pull"] : []
    } else if (bearer.grants !== undefined) {
      const granted = bearer.grants(user, name, requested)
      actions = requested.includes("*") ? granted : granted.filter((a) => requested.includes(a))
    } else {
      actions = requested
    }
  } else if (type === "registry" && name === "catalog" && user !== undefined) {
    actions = requested
  }
  return actions.length === 0 ? undefined : { type, name, actions }
}

const issue = (
  context: ServerContext,
  tokens: TokenStore,
  bearer: BearerOptions,
  user: string | undefined,
  scopes: ReadonlyArray<string>,
  via: "GET" | "POST"
): TokenRecord => {
  const requested = mergeScopes(scopes, [])
  const grants = new Map<string, Set<string>>()
  const granted: Array<string> = []
  for (const scope of requested) {
    const grant = grantScope(bearer, user, scope)
    if (grant === undefined) continue
    grants.set(grantKey(grant.type, grant.name), new Set(grant.actions))
    granted.push(`${grant.type}:${grant.name}:${grant.actions.join(",")}`)
  }
  const issuedAt = context.now()
  const record: TokenRecord = {
    token: randomHex(24),
    user,
    scopes: granted,
    requested,
    via,
    issuedAt,
    expiresAt: issuedAt + context.settings.tokenExpiresIn * 1000,
    grants
  }
  tokens.tokens.set(record.token, record)
  const { grants: _grants, ...issued } = record
  tokens.issued.push(issued)
  return record
}

const refreshTokenFor = (tokens: TokenStore, user: string): string => {
  const refresh = randomHex(24)
  tokens.refreshTokens.set(refresh, user)
  return refresh
}

const tokenFields = (context: ServerContext, record: TokenRecord) => ({
  expires_in: context.settings.tokenExpiresIn,
  issued_at: new Date(record.issuedAt).toISOString()
})

/**
 * The token endpoint: `GET /token?service=&scope=` with optional Basic credentials (bad ones get
 * 401), answering `{ token, access_token, expires_in, issued_at }` (and a `refresh_token` when
 * `offline_token=true`), or the OAuth2 form `POST` with `grant_type` `password` or `refresh_token`.
 * Anonymous callers get a token with the anonymous grants (pull when `anonymousPull`), as Docker
 * Hub does, so the registry answers them with `insufficient_scope` where they may not go.
 */
export const tokenEndpoint = async (
  context: ServerContext,
  tokens: TokenStore,
  bearer: BearerOptions,
  request: Request,
  url: URL
): Promise<Response> => {
  if (request.method === "GET") {
    const header = request.headers.get("authorization")
    let user: string | undefined
    if (header !== null) {
      const credentials = basicCredentials(header)
      if (credentials === undefined || !checkPassword(bearer.users, credentials.user, credentials.password)) {
        return Responses.fail(401, "UNAUTHORIZED", "invalid username or password")
      }
      user = credentials.user
    }
    const scopes = url.searchParams.getAll("scope").flatMap(parseScopes)
    const record = issue(context, tokens, bearer, user, scopes, "GET")
    const offline = url.searchParams.get("offline_token") === "true" && user !== undefined
    return Responses.json(200, {
      token: record.token,
      access_token: record.token,
      ...tokenFields(context, record),
      ...(offline && user !== undefined ? { refresh_token: refreshTokenFor(tokens, user) } : {})
    })
  }
  const text = await request.text()
  const form = new URLSearchParams(text.length > 65536 ? "" : text)
  const grantType = form.get("grant_type")
  let user: string | undefined
  let refresh: string | undefined
  if (grantType === "password") {
    const name = form.get("username") ?? ""
    if (!checkPassword(bearer.users, name, form.get("password") ?? "")) {
      return Responses.json(401, { error: "invalid_grant", error_description: "invalid username or password" })
    }
    user = name
    if (form.get("access_type") === "offline") refresh = refreshTokenFor(tokens, name)
  } else if (grantType === "refresh_token") {
    user = tokens.refreshTokens.get(form.get("refresh_token") ?? "")
    if (user === undefined) {
      return Responses.json(401, { error: "invalid_grant", error_description: "unknown refresh token" })
    }
  } else {
    return Responses.json(400, { error: "unsupported_grant_type" })
  }
  const record = issue(context, tokens, bearer, user, parseScopes(form.get("scope") ?? ""), "POST")
  return Responses.json(200, {
    access_token: record.token,
    scope: record.scopes.join(" "),
    ...tokenFields(context, record),
    ...(refresh !== undefined ? { refresh_token: refresh } : {})
  })
}
