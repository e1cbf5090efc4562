// A minimal Docker token server on 127.0.0.1 for `--auth token` runs: anonymous requests get every
// scope they ask for (so skopeo and the npm clients work without credentials too), tokens are ES256
// JWTs whose `kid` is the libtrust key id of a key whose certificate the registry trusts, and the
// server counts the tokens it issues. test-support/tokenServer.ts is the full TypeScript version.
import * as crypto from "node:crypto"
import * as fs from "node:fs/promises"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { run } from "./proc.mjs"

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
const base32 = (bytes) => {
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

/** libtrust key id: base32 of the first 240 bits of sha256(DER SPKI), groups of 4 joined by ':'. */
const libtrustKeyId = (publicKey) => {
  const der = publicKey.export({ type: "spki", format: "der" })
  return base32(crypto.createHash("sha256").update(der).digest().subarray(0, 30)).match(/.{4}/g).join(":")
}

const b64url = (data) => Buffer.from(data).toString("base64url")

const parseScope = (raw) => {
  const first = raw.indexOf(":")
  const last = raw.lastIndexOf(":")
  if (first <= 0 || last === first) return undefined
  return { type: raw.slice(0, first), name: raw.slice(first + 1, last), actions: raw.slice(last + 1).split(",") }
}

/** Start the token server. `issued()` counts tokens handed out over HTTP; `mint` signs one directly. */
export const startTokenServer = async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ocireg-bench-token-"))
  const keyPath = path.join(dir, "key.pem")
  const certPath = path.join(dir, "cert.pem")
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-sha256",
    "-days",
    "30",
    "-subj",
    "/CN=ocireg-bench-token",
    "-keyout",
    keyPath,
    "-out",
    certPath
  ])
  const privateKey = crypto.createPrivateKey(await fs.readFile(keyPath, "utf8"))
  const cert = new crypto.X509Certificate(await fs.readFile(certPath, "utf8"))
  const kid = libtrustKeyId(cert.publicKey)
  const service = "ocireg-bench-registry"
  const issuer = "ocireg-bench-token-server"
  let issued = 0
  const requests = []

  const mint = (access) => {
    const now = Math.floor(Date.now() / 1000)
    const header = { typ: "JWT", alg: "ES256", kid }
    const claims = {
      iss: issuer,
      sub: "",
      aud: service,
      exp: now + 900,
      nbf: now - 1,
      iat: now,
      jti: crypto.randomBytes(12).toString("hex"),
      access
    }
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`
    const signature = crypto.sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" })
    return `${input}.${b64url(signature)}`
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x")
    const scopes = url.searchParams.getAll("scope").flatMap((s) => s.split(" ")).filter(Boolean)
    const access = scopes.map(parseScope).filter(Boolean)
    const token = mint(access)
    issued++
    requests.push({ scopes, user: req.headers.authorization ? "basic" : "anonymous" })
    const body = JSON.stringify({ token, access_token: token, expires_in: 900, issued_at: new Date().toISOString() })
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
    res.end(body)
  })
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = server.address().port
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPath,
    issued: () => issued,
    requests: () => requests,
    /** An `Authorization` header granting everything on `repository` (for set-up, not counted). */
    authFor: (repository, extra = []) => ({
      authorization: `Bearer ${
        mint([{ type: "repository", name: repository, actions: ["pull", "push", "delete"] }, ...extra])
      }`
    }),
    stop: async () => {
      server.closeAllConnections?.()
      await new Promise((resolve) => server.close(() => resolve()))
      await fs.rm(dir, { recursive: true, force: true })
    }
  }
}
