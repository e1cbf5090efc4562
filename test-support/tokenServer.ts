/**
 * A Docker token server (https://distribution.github.io/distribution/spec/auth/token/) on
 * 127.0.0.1 for integration tests against `docker-registry` configured with `auth.token`.
 *
 * - `GET /token?service=..&scope=..&scope=..` with optional Basic auth (no auth = anonymous),
 *   `offline_token=true` (with credentials) adds a `refresh_token`.
 * - `POST /token` (OAuth2, form body): `grant_type=password` (username, password) or
 *   `grant_type=refresh_token` (refresh_token); `access_type=offline` adds a `refresh_token`.
 * - Answers `{ token, access_token, expires_in, issued_at [, refresh_token] [, scope] }`.
 * - Wrong password or unknown user: 401. Unknown or revoked refresh token: 400 `invalid_grant`.
 *
 * Tokens are JWTs signed with node:crypto (ES256 by default, RS256 on request) whose header `kid`
 * is the libtrust key id of the signing key; distribution 2.8 looks that id up among the public
 * keys of the certificates in its `rootcertbundle` (`certPath`). A second key whose certificate is
 * NOT in the bundle lets a test make the registry reject tokens (`issueWithUntrustedKey`), which is
 * the only honest way to "revoke": the registry validates tokens itself and accepts them until
 * 60 s after `exp`.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as crypto from "node:crypto"
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { exec, HarnessError, onProcessExit, toHarnessError } from "./exec.js"

/**
 * One requested resource scope, e.g. `repository:library/alpine:pull,push` →
 * `{ type: "repository", name: "library/alpine", actions: ["pull", "push"] }`.
 */
export interface ResourceScope {
  readonly type: string
  readonly name: string
  readonly actions: ReadonlyArray<string>
  /** The scope string as requested. */
  readonly raw: string
}

/**
 * Decides which actions `user` (undefined = anonymous) gets on `scope`. The token carries the
 * intersection of these with the requested actions (`"*"` in the answer grants every requested
 * action).
 */
export type Grants = (user: string | undefined, scope: ResourceScope) => ReadonlyArray<string>

/** Options of `startTokenServer`. */
export interface TokenServerOptions {
  /** username → password. */
  readonly users?: Readonly<Record<string, string>>
  /** Default: authenticated users get every requested action, anonymous users get nothing. */
  readonly grants?: Grants
  /** The `service` (JWT `aud`); must equal the registry's `auth.token.service`. Default `"ocireg-test-registry"`. */
  readonly service?: string
  /** The JWT `iss`. Default `"ocireg-test-token-server"`. */
  readonly issuer?: string
  /** Lifetime of access tokens in seconds (`expires_in`). Default 300. */
  readonly expiresIn?: number
  /** Adds `Access-Control-Allow-Origin: *` to every answer and answers `OPTIONS` preflights. */
  readonly cors?: boolean
  /** Signing key type: `"ec"` (P-256, ES256, default) or `"rsa"` (2048 bit, RS256). */
  readonly keyType?: "ec" | "rsa"
  /** How the token names its key: `"kid"` (libtrust key id, default) or `"x5c"` (the certificate). */
  readonly keyHeader?: "kid" | "x5c"
}

/** One request the token server answered. */
export interface TokenRequestRecord {
  readonly method: string
  /** `"password"` or `"refresh_token"` for `POST`, `undefined` for `GET`. */
  readonly grantType: string | undefined
  /** The authenticated user, `undefined` when anonymous or rejected. */
  readonly user: string | undefined
  /** Whether credentials (Basic or password/refresh grant) were presented. */
  readonly authenticated: boolean
  readonly service: string | undefined
  readonly scopes: ReadonlyArray<string>
  readonly offline: boolean
  readonly status: number
}

/** The claims of a token this server signs. */
export interface TokenClaims {
  readonly iss: string
  readonly sub: string
  readonly aud: string
  readonly exp: number
  readonly nbf: number
  readonly iat: number
  readonly jti: string
  readonly access: ReadonlyArray<
    { readonly type: string; readonly name: string; readonly actions: ReadonlyArray<string> }
  >
}

/** A running token server. */
export interface TokenServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  readonly port: number
  /** `http://127.0.0.1:PORT/token` — the registry's `auth.token.realm`. */
  readonly realm: string
  readonly service: string
  readonly issuer: string
  /** PEM certificate of the trusted signing key: the registry's `auth.token.rootcertbundle`. */
  readonly certPath: string
  /** PEM certificate of the untrusted key (NOT to be put in the bundle). */
  readonly untrustedCertPath: string
  /** The libtrust key id of the trusted key (the `kid` header). */
  readonly keyId: string
  readonly untrustedKeyId: string
  /** Number of access tokens issued so far (failures excluded). */
  issued(): number
  /** Every token request answered so far, in order. */
  requests(): ReadonlyArray<TokenRequestRecord>
  /** Clears `issued()` and `requests()`. */
  resetCounters(): void
  /** The next `n` tokens are signed by the untrusted key: the registry answers 401 to them. */
  issueWithUntrustedKey(n?: number): void
  /** The next `n` tokens are already expired beyond the registry's 60 s leeway: it answers 401. */
  issueExpired(n?: number): void
  /** The next `n` token requests fail with `status` (e.g. 401, 500, 503) before any other check. */
  rejectNextWith(status: number, n?: number): void
  /** Forgets bad tokens and rejections armed but not used yet (`issueExpired`, `issueWithUntrustedKey`, `rejectNextWith`). */
  disarm(): void
  /** Changes the lifetime (`expires_in`) of tokens issued from now on. */
  setExpiresIn(seconds: number): void
  /** Makes every refresh token issued so far invalid (400 `invalid_grant`). */
  revokeRefreshTokens(): void
  /**
   * Signs a token directly (no HTTP, not counted). `access` defaults to none; `untrusted` signs
   * with the untrusted key; claim overrides win.
   */
  mint(options?: {
    readonly user?: string
    readonly access?: TokenClaims["access"]
    readonly untrusted?: boolean
    readonly claims?: Partial<TokenClaims>
  }): string
  /** Decodes (without verifying) a token this server issued. */
  decode(token: string): { readonly header: Record<string, unknown>; readonly claims: TokenClaims }
  stop(): Promise<void>
}

interface SigningKey {
  readonly privateKey: crypto.KeyObject
  readonly certPem: string
  readonly certDerBase64: string
  readonly keyId: string
  readonly alg: "ES256" | "RS256"
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

const base32 = (bytes: Uint8Array): string => {
  let out = ""
  let bits = 0
  let value = 0
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
    value &= (1 << bits) - 1
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31]
  return out
}

/**
 * The libtrust key id of a public key: base32 (no padding) of the first 240 bits of
 * sha256(DER SubjectPublicKeyInfo), in 12 groups of 4 characters joined by `:`.
 */
export const libtrustKeyId = (publicKey: crypto.KeyObject): string => {
  const der = publicKey.export({ type: "spki", format: "der" })
  const hash = crypto.createHash("sha256").update(der).digest().subarray(0, 30)
  return base32(hash).match(/.{4}/g)!.join(":")
}

/**
 * Parses `type:name:actions` (the name may itself contain `:`, e.g. a host with a port).
 * Returns `undefined` for anything malformed.
 */
export const parseScope = (raw: string): ResourceScope | undefined => {
  const first = raw.indexOf(":")
  const last = raw.lastIndexOf(":")
  if (first <= 0 || last === first) return undefined
  const actions = raw.slice(last + 1).split(",").filter((a) => a !== "")
  return { type: raw.slice(0, first), name: raw.slice(first + 1, last), actions, raw }
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString("base64url")

const generateKey = async (dir: string, label: string, keyType: "ec" | "rsa"): Promise<SigningKey> => {
  const keyPath = path.join(dir, `${label}.key.pem`)
  const certPath = path.join(dir, `${label}.cert.pem`)
  const newkey = keyType === "ec"
    ? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    : ["-newkey", "rsa:2048"]
  await exec("openssl", [
    "req",
    "-x509",
    ...newkey,
    "-nodes",
    "-sha256",
    "-days",
    "3650",
    "-subj",
    `/CN=ocireg-test-token-${label}`,
    "-keyout",
    keyPath,
    "-out",
    certPath
  ])
  const [keyPem, certPem] = await Promise.all([fs.readFile(keyPath, "utf8"), fs.readFile(certPath, "utf8")])
  const cert = new crypto.X509Certificate(certPem)
  return {
    privateKey: crypto.createPrivateKey(keyPem),
    certPem,
    certDerBase64: cert.raw.toString("base64"),
    keyId: libtrustKeyId(cert.publicKey),
    alg: keyType === "ec" ? "ES256" : "RS256"
  }
}

const readBody = (req: http.IncomingMessage, limit = 64 * 1024): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (c: Buffer) => {
      size += c.length
      if (size > limit) {
        reject(new Error("body too large"))
        req.destroy()
        return
      }
      chunks.push(c)
    })
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const parseBasic = (header: string | undefined): { user: string; password: string } | undefined => {
  if (header === undefined) return undefined
  const m = /^Basic\s+(\S+)\s*$/i.exec(header)
  if (!m) return undefined
  const decoded = Buffer.from(m[1]!, "base64").toString("utf8")
  const i = decoded.indexOf(":")
  if (i < 0) return undefined
  return { user: decoded.slice(0, i), password: decoded.slice(i + 1) }
}

const defaultGrants: Grants = (user, scope) => (user === undefined ? [] : scope.actions)

const grantedActions = (grants: Grants, user: string | undefined, scope: ResourceScope): Array<string> => {
  const allowed = grants(user, scope)
  if (allowed.includes("*")) return [...scope.actions]
  return scope.actions.filter((a) => allowed.includes(a))
}

/**
 * Starts a token server on 127.0.0.1 (ephemeral port). Generates two signing keys with `openssl`
 * (about 50 ms for EC, more for RSA) in a temp dir that `stop()` removes.
 */
export const startTokenServer = async (options: TokenServerOptions = {}): Promise<TokenServer> => {
  const users = options.users ?? {}
  const grants = options.grants ?? defaultGrants
  const service = options.service ?? "ocireg-test-registry"
  const issuer = options.issuer ?? "ocireg-test-token-server"
  const keyType = options.keyType ?? "ec"
  const keyHeader = options.keyHeader ?? "kid"
  let expiresIn = options.expiresIn ?? 300

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ocireg-token-"))
  const unregisterDir = onProcessExit(() => fsSync.rmSync(dir, { recursive: true, force: true }))
  let trusted: SigningKey
  let untrusted: SigningKey
  try {
    ;[trusted, untrusted] = await Promise.all([
      generateKey(dir, "trusted", keyType),
      generateKey(dir, "untrusted", keyType)
    ])
  } catch (e) {
    await fs.rm(dir, { recursive: true, force: true })
    unregisterDir()
    throw e
  }
  const certPath = path.join(dir, "trusted.cert.pem")
  const untrustedCertPath = path.join(dir, "untrusted.cert.pem")

  let issuedCount = 0
  let log: Array<TokenRequestRecord> = []
  let untrustedLeft = 0
  let expiredLeft = 0
  const rejections: Array<number> = []
  const refreshTokens = new Map<string, string>() // token → user

  const sign = (key: SigningKey, claims: TokenClaims): string => {
    const header: Record<string, unknown> = { typ: "JWT", alg: key.alg }
    if (keyHeader === "x5c") header.x5c = [key.certDerBase64]
    else header.kid = key.keyId
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`
    const signature = key.alg === "ES256"
      ? crypto.sign("sha256", Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" })
      : crypto.sign("sha256", Buffer.from(input), key.privateKey)
    return `${input}.${b64url(signature)}`
  }

  const claimsFor = (
    user: string | undefined,
    access: TokenClaims["access"],
    now: number,
    lifetime: number
  ): TokenClaims => ({
    iss: issuer,
    sub: user ?? "",
    aud: service,
    exp: now + lifetime,
    nbf: now - 1,
    iat: now,
    jti: crypto.randomBytes(12).toString("hex"),
    access
  })

  const mint: TokenServer["mint"] = (o = {}) => {
    const now = Math.floor(Date.now() / 1000)
    const claims = { ...claimsFor(o.user, o.access ?? [], now, expiresIn), ...o.claims }
    return sign(o.untrusted ? untrusted : trusted, claims)
  }

  const issue = (user: string | undefined, scopes: ReadonlyArray<string>) => {
    const access: Array<{ type: string; name: string; actions: Array<string> }> = []
    for (const raw of scopes) {
      const scope = parseScope(raw)
      if (scope === undefined) continue
      access.push({ type: scope.type, name: scope.name, actions: grantedActions(grants, user, scope) })
    }
    const now = Math.floor(Date.now() / 1000)
    let key = trusted
    let claims = claimsFor(user, access, now, expiresIn)
    if (untrustedLeft > 0) {
      untrustedLeft--
      key = untrusted
    }
    if (expiredLeft > 0) {
      expiredLeft--
      claims = { ...claims, iat: now - 600, nbf: now - 600, exp: now - 300 }
    }
    issuedCount++
    return { token: sign(key, claims), issuedAt: new Date(claims.iat * 1000).toISOString(), expiresIn }
  }

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1")
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = JSON.stringify(body)
      res.writeHead(status, {
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(text),
        "Cache-Control": "no-store",
        ...(options.cors ? { "Access-Control-Allow-Origin": "*" } : {}),
        ...headers
      })
      res.end(text)
    }
    if (options.cors && req.method === "OPTIONS") {
      res.writeHead(204, {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": req.headers["access-control-request-headers"] ?? "Authorization, Content-Type",
        "Access-Control-Max-Age": "600"
      })
      res.end()
      return
    }
    if (url.pathname !== "/token" || (req.method !== "GET" && req.method !== "POST")) {
      send(404, { errors: [{ code: "NOT_FOUND", message: "not found" }] })
      return
    }

    let grantType: string | undefined
    let scopes: Array<string>
    let serviceParam: string | undefined
    let offline = false
    let credentials: { user: string; password: string } | undefined
    let refreshToken: string | undefined

    if (req.method === "GET") {
      scopes = url.searchParams.getAll("scope").flatMap((s) => s.split(" ")).filter((s) => s !== "")
      serviceParam = url.searchParams.get("service") ?? undefined
      offline = url.searchParams.get("offline_token") === "true"
      credentials = parseBasic(req.headers.authorization)
    } else {
      const form = new URLSearchParams(await readBody(req))
      grantType = form.get("grant_type") ?? undefined
      scopes = form.getAll("scope").flatMap((s) => s.split(" ")).filter((s) => s !== "")
      serviceParam = form.get("service") ?? undefined
      offline = form.get("access_type") === "offline"
      if (grantType === "password") {
        credentials = { user: form.get("username") ?? "", password: form.get("password") ?? "" }
      } else if (grantType === "refresh_token") {
        refreshToken = form.get("refresh_token") ?? ""
      }
    }
    const record = (status: number, user: string | undefined) =>
      log.push({
        method: req.method!,
        grantType,
        user,
        authenticated: credentials !== undefined || refreshToken !== undefined,
        service: serviceParam,
        scopes,
        offline,
        status
      })

    const rejection = rejections.shift()
    if (rejection !== undefined) {
      record(rejection, undefined)
      send(rejection, { errors: [{ code: "UNAVAILABLE", message: `rejected on request (status ${rejection})` }] })
      return
    }
    if (req.method === "POST" && grantType !== "password" && grantType !== "refresh_token") {
      record(400, undefined)
      send(400, { error: "unsupported_grant_type" })
      return
    }

    let user: string | undefined
    if (credentials !== undefined) {
      const expected = users[credentials.user]
      if (expected === undefined || expected !== credentials.password) {
        record(401, undefined)
        send(
          401,
          req.method === "POST"
            ? { error: "invalid_grant", error_description: "incorrect username or password" }
            : { errors: [{ code: "UNAUTHORIZED", message: "incorrect username or password" }] },
          req.method === "GET" ? { "WWW-Authenticate": `Basic realm="${issuer}"` } : {}
        )
        return
      }
      user = credentials.user
    } else if (refreshToken !== undefined) {
      user = refreshTokens.get(refreshToken)
      if (user === undefined) {
        record(400, undefined)
        send(400, { error: "invalid_grant", error_description: "unknown or revoked refresh token" })
        return
      }
    }

    const { expiresIn: lifetime, issuedAt, token } = issue(user, scopes)
    const body: Record<string, unknown> = { token, access_token: token, expires_in: lifetime, issued_at: issuedAt }
    if (req.method === "POST") body.scope = scopes.join(" ")
    if (refreshToken !== undefined) {
      body.refresh_token = refreshToken
    } else if (offline && user !== undefined) {
      const fresh = crypto.randomBytes(24).toString("hex")
      refreshTokens.set(fresh, user)
      body.refresh_token = fresh
    }
    record(200, user)
    send(200, body)
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) {
        res.writeHead(500, { "Content-Type": "text/plain" })
        res.end(String(e))
      } else {
        res.destroy()
      }
    })
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject)
      server.listen(0, "127.0.0.1", () => resolve())
    })
  } catch (e) {
    await fs.rm(dir, { recursive: true, force: true })
    unregisterDir()
    throw e
  }
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  const url = `http://127.0.0.1:${port}`

  let stopped: Promise<void> | undefined
  return {
    url,
    port,
    realm: `${url}/token`,
    service,
    issuer,
    certPath,
    untrustedCertPath,
    keyId: trusted.keyId,
    untrustedKeyId: untrusted.keyId,
    issued: () => issuedCount,
    requests: () => [...log],
    resetCounters: () => {
      issuedCount = 0
      log = []
    },
    issueWithUntrustedKey: (n = 1) => {
      untrustedLeft += n
    },
    issueExpired: (n = 1) => {
      expiredLeft += n
    },
    disarm: () => {
      untrustedLeft = 0
      expiredLeft = 0
      rejections.length = 0
    },
    rejectNextWith: (status, n = 1) => {
      for (let i = 0; i < n; i++) rejections.push(status)
    },
    setExpiresIn: (seconds) => {
      expiresIn = seconds
    },
    revokeRefreshTokens: () => refreshTokens.clear(),
    mint,
    decode: (token) => {
      const [h, c] = token.split(".")
      return {
        header: JSON.parse(Buffer.from(h ?? "", "base64url").toString("utf8")),
        claims: JSON.parse(Buffer.from(c ?? "", "base64url").toString("utf8"))
      }
    },
    stop: () => (stopped ??= (async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await fs.rm(dir, { recursive: true, force: true })
      unregisterDir()
    })())
  }
}

/**
 * `startTokenServer` as a scoped Effect: the server stops when the scope closes.
 */
export const acquireTokenServer = (
  options: TokenServerOptions = {}
): Effect.Effect<TokenServer, HarnessError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({ try: () => startTokenServer(options), catch: toHarnessError("startTokenServer") }),
    (server) => Effect.promise(() => server.stop())
  )

/**
 * A service tag for one token server, for `@effect/vitest` `layer(TestTokenServer.layer(...))`.
 */
export class TestTokenServer
  extends Context.Tag("ocireg/test-support/TestTokenServer")<TestTokenServer, TokenServer>()
{
  static readonly layer = (options: TokenServerOptions = {}): Layer.Layer<TestTokenServer, HarnessError> =>
    Layer.scoped(TestTokenServer, acquireTokenServer(options))
}
