/**
 * Proves the integration-test harness in `test-support/`: real `docker-registry` processes (open,
 * basic, token auth), the token server, OCI layout generation and seeding with skopeo.
 */
import { assert as effectAssert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import { describeIntegration } from "../../../test-support/binaries.js"
import {
  generateLargeBlobFile,
  generateOciLayout,
  OciMediaType,
  sha256Digest,
  tarWithOneFile
} from "../../../test-support/images.js"
import { freePort } from "../../../test-support/ports.js"
import { type RunningRegistry, startRegistry, TestRegistry } from "../../../test-support/registry.js"
import { seedImage, skopeoInspect } from "../../../test-support/skopeo.js"
import {
  libtrustKeyId,
  parseScope,
  startTokenServer,
  TestTokenServer,
  type TokenServer
} from "../../../test-support/tokenServer.js"

const basic = (user: string, password: string) => "Basic " + Buffer.from(`${user}:${password}`).toString("base64")

const getToken = async (ts: TokenServer, scopes: ReadonlyArray<string>, auth?: string) => {
  const url = new URL(ts.realm)
  url.searchParams.set("service", ts.service)
  for (const s of scopes) url.searchParams.append("scope", s)
  const res = await fetch(url, auth !== undefined ? { headers: { authorization: auth } } : {})
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

describeIntegration("test-support harness", ["docker-registry", "skopeo", "openssl"], () => {
  let open: RunningRegistry
  let basicRegistry: RunningRegistry
  let tokenRegistry: RunningRegistry
  let tokenServer: TokenServer
  const cleanups: Array<() => Promise<void>> = []

  beforeAll(async () => {
    const started = await Promise.allSettled([
      startRegistry({ auth: "none" }),
      startRegistry({ auth: "basic", users: { alice: "wonderland" } }),
      startTokenServer({
        users: { bob: "builder" },
        grants: (user, scope) => (scope.name.startsWith("public/") ? ["pull"] : user === "bob" ? ["*"] : [])
      })
    ])
    for (const s of started) if (s.status === "fulfilled") cleanups.push(() => s.value.stop())
    for (const s of started) if (s.status === "rejected") throw s.reason
    ;[open, basicRegistry] = started.map((s) => (s as PromiseFulfilledResult<RunningRegistry>).value)
    tokenServer = (started[2] as PromiseFulfilledResult<TokenServer>).value
    tokenRegistry = await startRegistry({ auth: "token", tokenServer })
    cleanups.push(() => tokenRegistry.stop())
  })

  afterAll(async () => {
    const dirs = [open?.dir, basicRegistry?.dir, tokenRegistry?.dir].filter((d): d is string => d !== undefined)
    await Promise.allSettled(cleanups.reverse().map((c) => c()))
    for (const dir of dirs) await expect(fs.stat(dir)).rejects.toThrow()
  })

  it("open registry answers 200 on /v2/", async () => {
    const res = await fetch(`${open.url}/v2/`)
    expect(res.status).toBe(200)
    expect(res.headers.get("docker-distribution-api-version")).toBe("registry/2.0")
    expect(open.host).toBe(`127.0.0.1:${open.port}`)
  })

  it("basic-auth registry: 401 without or with wrong credentials, 200 with them", async () => {
    const none = await fetch(`${basicRegistry.url}/v2/`)
    expect(none.status).toBe(401)
    expect(none.headers.get("www-authenticate")).toBe(`Basic realm="ocireg-test"`)
    expect((await fetch(`${basicRegistry.url}/v2/`, { headers: { authorization: basic("alice", "nope") } })).status)
      .toBe(401)
    expect(
      (await fetch(`${basicRegistry.url}/v2/`, { headers: { authorization: basic("alice", "wonderland") } })).status
    ).toBe(200)
  })

  it("token registry: Bearer challenge, token exchange, scoped access", async () => {
    const challenge = await fetch(`${tokenRegistry.url}/v2/x/tags/list`)
    expect(challenge.status).toBe(401)
    expect(challenge.headers.get("www-authenticate")).toBe(
      `Bearer realm="${tokenServer.realm}",service="${tokenServer.service}",scope="repository:x:pull"`
    )

    const { body, status } = await getToken(tokenServer, ["repository:x:pull,push"], basic("bob", "builder"))
    expect(status).toBe(200)
    expect(body.token).toBe(body.access_token)
    expect(body.expires_in).toBe(300)
    const { claims, header } = tokenServer.decode(body.token as string)
    expect(header.kid).toBe(tokenServer.keyId)
    expect(claims.access).toEqual([{ type: "repository", name: "x", actions: ["pull", "push"] }])
    expect(claims.aud).toBe(tokenServer.service)

    const bearer = { authorization: `Bearer ${body.token as string}` }
    expect((await fetch(`${tokenRegistry.url}/v2/`, { headers: bearer })).status).toBe(200)
    // push permission works: open an upload session
    const upload = await fetch(`${tokenRegistry.url}/v2/x/blobs/uploads/`, { method: "POST", headers: bearer })
    expect(upload.status).toBe(202)
    await fetch(new URL(upload.headers.get("location")!, tokenRegistry.url), { method: "DELETE", headers: bearer })
    // the token does not cover another repository
    const other = await fetch(`${tokenRegistry.url}/v2/y/tags/list`, { headers: bearer })
    expect(other.status).toBe(401)
    expect(other.headers.get("www-authenticate")).toContain(`error="insufficient_scope"`)
  })

  it("token server: wrong password 401, anonymous grants, OAuth2 password and refresh grants", async () => {
    expect((await getToken(tokenServer, ["repository:x:pull"], basic("bob", "wrong"))).status).toBe(401)
    const anon = await getToken(tokenServer, ["repository:public/a:pull,push", "repository:x:pull"])
    expect(tokenServer.decode(anon.body.token as string).claims.access).toEqual([
      { type: "repository", name: "public/a", actions: ["pull"] },
      { type: "repository", name: "x", actions: [] }
    ])

    const form = (fields: Record<string, string>) =>
      fetch(tokenServer.realm, { method: "POST", body: new URLSearchParams(fields) })
    const bad = await form({
      grant_type: "password",
      username: "bob",
      password: "x",
      service: tokenServer.service,
      client_id: "t"
    })
    expect(bad.status).toBe(401)
    const pw = await form({
      grant_type: "password",
      username: "bob",
      password: "builder",
      service: tokenServer.service,
      scope: "repository:x:pull",
      client_id: "t",
      access_type: "offline"
    })
    expect(pw.status).toBe(200)
    const pwBody = (await pw.json()) as Record<string, string>
    expect(typeof pwBody.refresh_token).toBe("string")
    const refreshed = await form({
      grant_type: "refresh_token",
      refresh_token: pwBody.refresh_token!,
      service: tokenServer.service,
      scope: "repository:x:pull",
      client_id: "t"
    })
    expect(refreshed.status).toBe(200)
    expect(tokenServer.decode(((await refreshed.json()) as Record<string, string>).access_token!).claims.sub).toBe(
      "bob"
    )
    tokenServer.revokeRefreshTokens()
    const revoked = await form({
      grant_type: "refresh_token",
      refresh_token: pwBody.refresh_token!,
      service: tokenServer.service
    })
    expect(revoked.status).toBe(400)

    tokenServer.rejectNextWith(503)
    expect((await getToken(tokenServer, ["repository:x:pull"], basic("bob", "builder"))).status).toBe(503)
    const log = tokenServer.requests()
    expect(log.at(-1)).toMatchObject({ method: "GET", status: 503 })
    expect(log.some((r) => r.method === "POST" && r.grantType === "refresh_token" && r.user === "bob")).toBe(true)
  })

  it("tokens signed by the untrusted key, or expired, are rejected with 401", async () => {
    const auth = basic("bob", "builder")
    tokenServer.issueWithUntrustedKey(1)
    const untrusted = await getToken(tokenServer, ["repository:x:pull"], auth)
    expect(tokenServer.decode(untrusted.body.token as string).header.kid).toBe(tokenServer.untrustedKeyId)
    const r1 = await fetch(`${tokenRegistry.url}/v2/`, {
      headers: { authorization: `Bearer ${untrusted.body.token as string}` }
    })
    expect(r1.status).toBe(401)
    expect(r1.headers.get("www-authenticate")).toContain(`error="invalid_token"`)

    tokenServer.issueExpired(1)
    const expired = await getToken(tokenServer, ["repository:x:pull"], auth)
    expect(
      (await fetch(`${tokenRegistry.url}/v2/`, {
        headers: { authorization: `Bearer ${expired.body.token as string}` }
      })).status
    ).toBe(401)

    // the next one is good again
    const good = await getToken(tokenServer, ["repository:x:pull"], auth)
    expect(
      (await fetch(`${tokenRegistry.url}/v2/`, { headers: { authorization: `Bearer ${good.body.token as string}` } }))
        .status
    ).toBe(200)
  })

  it("seedImage pushes a multi-platform image; the registry serves the index by the layout's digest", async () => {
    const image = await seedImage(
      tokenRegistry,
      "team/app",
      "v1",
      { platforms: ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"], layers: 2, layerSize: 2048 },
      "bob:builder"
    )
    expect(image.index?.descriptor.digest).toBe(image.root.digest)
    expect(image.manifests.map((m) => m.platform)).toEqual([
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64", variant: "v8" },
      { os: "linux", architecture: "arm", variant: "v7" }
    ])
    const { body } = await getToken(tokenServer, ["repository:team/app:pull"], basic("bob", "builder"))
    const headers = {
      authorization: `Bearer ${body.token as string}`,
      accept: `${OciMediaType.index}, ${OciMediaType.manifest}`
    }
    const head = await fetch(`${tokenRegistry.url}/v2/team/app/manifests/v1`, { method: "HEAD", headers })
    expect(head.status).toBe(200)
    expect(head.headers.get("docker-content-digest")).toBe(image.root.digest)
    const get = await fetch(`${tokenRegistry.url}/v2/team/app/manifests/${image.root.digest}`, { headers })
    expect(get.headers.get("content-type")).toBe(OciMediaType.index)
    expect(Buffer.from(await get.arrayBuffer()).equals(Buffer.from(image.rootBytes))).toBe(true)
    // every uncompressed layer is stored byte for byte
    const layer = image.manifests[2]!.layers[1]!
    const stored = await fs.readFile(tokenRegistry.blobPath(layer.descriptor.digest))
    expect(sha256Digest(stored)).toBe(layer.descriptor.digest)
    expect(layer.descriptor.mediaType).toBe(OciMediaType.layer)
    // skopeo sees the same bytes
    const inspected = await skopeoInspect(`docker://${image.reference}`, { raw: true, creds: "bob:builder" })
    expect(inspected.stdout).toBe(Buffer.from(image.rootBytes).toString("utf8"))
  })

  it("seedImage into an open registry: single gzip image; corruptBlob keeps the size", async () => {
    const image = await seedImage(open, "single", "latest", { layers: 1, layerSize: 300, gzip: true })
    expect(image.index).toBeUndefined()
    const head = await fetch(`${open.url}/v2/single/manifests/latest`, {
      method: "HEAD",
      headers: { accept: OciMediaType.manifest }
    })
    expect(head.headers.get("docker-content-digest")).toBe(image.root.digest)
    const layer = image.manifests[0]!.layers[0]!
    expect(layer.descriptor.mediaType).toBe(OciMediaType.layerGzip)
    await open.corruptBlob(layer.descriptor.digest)
    const blob = await fetch(`${open.url}/v2/single/blobs/${layer.descriptor.digest}`)
    const bytes = Buffer.from(await blob.arrayBuffer())
    expect(bytes.length).toBe(layer.descriptor.size)
    expect(sha256Digest(bytes)).not.toBe(layer.descriptor.digest)
  })
})

describeIntegration("test-support pure helpers", ["openssl"], () => {
  it("tar, layout, large blob, ports, scope parsing", async () => {
    const tar = tarWithOneFile("a.txt", Buffer.from("hello"))
    expect(tar.length).toBe(512 + 512 + 1024)
    // ustar checksum: sum of header bytes with the checksum field as spaces
    const header = Buffer.from(tar.subarray(0, 512))
    const stored = parseInt(header.subarray(148, 154).toString("ascii"), 8)
    header.write("        ", 148, 8, "ascii")
    expect(stored).toBe(header.reduce((a, b) => a + b, 0))

    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ocireg-harness-"))
    try {
      const image = await generateOciLayout(path.join(dir, "layout"), { layers: 2, layerSize: 10, tag: "t" })
      const indexJson = JSON.parse(await fs.readFile(path.join(dir, "layout", "index.json"), "utf8"))
      expect(indexJson.manifests[0].digest).toBe(image.root.digest)
      expect(indexJson.manifests[0].annotations["org.opencontainers.image.ref.name"]).toBe("t")
      expect(image.blobs.size).toBe(4)
      const big = await generateLargeBlobFile(path.join(dir, "big"), 3 * 1024 * 1024 + 17)
      expect((await fs.stat(big.path)).size).toBe(big.size)
      expect(sha256Digest(await fs.readFile(big.path))).toBe(big.digest)
    } finally {
      await fs.rm(dir, { recursive: true, force: true })
    }
    expect(await freePort()).toBeGreaterThan(0)
    expect(parseScope("repository:localhost:5000/a/b:pull,push")).toEqual({
      type: "repository",
      name: "localhost:5000/a/b",
      actions: ["pull", "push"],
      raw: "repository:localhost:5000/a/b:pull,push"
    })
    expect(libtrustKeyId((await import("node:crypto")).generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey))
      .toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/)
  })
})

describeIntegration("test-support Effect layers", ["docker-registry", "openssl"], () => {
  layer(TestRegistry.layerToken().pipe(Layer.provideMerge(TestTokenServer.layer({ users: { u: "p" } }))))(
    "TestRegistry.layerToken",
    (it) => {
      it.effect("the scoped registry answers with a Bearer challenge", () =>
        Effect.gen(function*() {
          const registry = yield* TestRegistry
          const tokenServer = yield* TestTokenServer
          const res = yield* Effect.promise(() => fetch(`${registry.url}/v2/`))
          effectAssert.strictEqual(res.status, 401)
          effectAssert.include(res.headers.get("www-authenticate") ?? "", tokenServer.realm)
        }))
    }
  )
})
