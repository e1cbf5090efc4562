/**
 * Proves the fault-injection proxy in `test-support/faultProxy.ts` against a real `docker-registry`:
 * transparent forwarding (including an upload whose `Location`s are rewritten to the proxy) and
 * every action as a plain HTTP client observes it.
 */
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { describeIntegration } from "../../../test-support/binaries.js"
import { Fault, type FaultProxy, startFaultProxy } from "../../../test-support/faultProxy.js"
import { freePort } from "../../../test-support/ports.js"
import { type RunningRegistry, startRegistry } from "../../../test-support/registry.js"

const BLOB_SIZE = 256 * 1024
const blob = crypto.randomBytes(BLOB_SIZE)
const sha256 = (b: Uint8Array) => "sha256:" + crypto.createHash("sha256").update(b).digest("hex")
const digest = sha256(blob)
const REPO = "fault/blob"

interface RawResult {
  readonly status: number | undefined
  readonly headers: http.IncomingHttpHeaders
  readonly body: Buffer
  /** Set when the request failed or the body ended before it was complete. */
  readonly error: Error | undefined
  readonly ms: number
}

/** One request on a fresh connection; never rejects, always settles within `timeoutMs`. */
const raw = (
  url: string,
  options: {
    readonly method?: string
    readonly headers?: http.OutgoingHttpHeaders
    readonly body?: Uint8Array
    readonly timeoutMs?: number
  } = {}
): Promise<RawResult> =>
  new Promise((resolve) => {
    const start = performance.now()
    const chunks: Array<Buffer> = []
    let status: number | undefined
    let headers: http.IncomingHttpHeaders = {}
    let settled = false
    const finish = (error: Error | undefined) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve({ status, headers, body: Buffer.concat(chunks), error, ms: performance.now() - start })
    }
    const req = http.request(url, { method: options.method ?? "GET", headers: options.headers ?? {}, agent: false })
    const timer = setTimeout(() => req.destroy(new Error("client timeout")), options.timeoutMs ?? 5000)
    req.on("error", finish)
    req.on("response", (res) => {
      status = res.statusCode
      headers = res.headers
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("error", finish)
      res.on("end", () => finish(undefined))
      res.on("close", () => finish(res.complete ? undefined : new Error("response incomplete")))
    })
    req.end(options.body)
  })

/** Starts an upload session directly at `base`; answers the session URL (absolute). */
const startUpload = async (base: string, repo: string): Promise<string> => {
  const res = await raw(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST", headers: { "content-length": 0 } })
  expect(res.status).toBe(202)
  return new URL(String(res.headers.location), base).toString()
}

const withDigest = (location: string, d: string): string => {
  const u = new URL(location)
  u.searchParams.set("digest", d)
  return u.toString()
}

describeIntegration("fault proxy", ["docker-registry"], () => {
  let registry: RunningRegistry
  let proxy: FaultProxy
  let blobUrl: string

  beforeAll(async () => {
    registry = await startRegistry({ auth: "none" })
    proxy = await startFaultProxy({ target: registry.url })
    const session = await startUpload(registry.url, REPO)
    const put = await raw(withDigest(session, digest), {
      method: "PUT",
      headers: { "content-type": "application/octet-stream", "content-length": blob.length },
      body: blob
    })
    expect(put.status).toBe(201)
    blobUrl = `${proxy.url}/v2/${REPO}/blobs/${digest}`
  })

  afterEach(() => {
    proxy.clearRules()
    proxy.resetLog()
  })

  afterAll(async () => {
    await proxy?.stop()
    await registry?.stop()
  })

  it("forwards GET /v2/ and blob bytes verbatim", async () => {
    const ping = await raw(`${proxy.url}/v2/`)
    expect(ping.status).toBe(200)
    expect(ping.headers["docker-distribution-api-version"]).toBe("registry/2.0")
    const res = await raw(blobUrl)
    expect(res.error).toBeUndefined()
    expect(res.status).toBe(200)
    expect(res.headers["docker-content-digest"]).toBe(digest)
    expect(res.body.equals(blob)).toBe(true)
    const log = proxy.log()
    expect(log.map((e) => [e.method, e.path, e.status, e.fired])).toEqual([
      ["GET", "/v2/", 200, undefined],
      ["GET", `/v2/${REPO}/blobs/${digest}`, 200, undefined]
    ])
    expect(log[1]!.responseBytes).toBe(BLOB_SIZE)
    expect(log[1]!.state).toBe("finished")
  })

  it("forwards an upload (POST, PATCH, PUT) and rewrites Location to the proxy", async () => {
    const data = crypto.randomBytes(100_000)
    const d = sha256(data)
    const post = await raw(`${proxy.url}/v2/fault/upload/blobs/uploads/`, {
      method: "POST",
      headers: { "content-length": 0 }
    })
    expect(post.status).toBe(202)
    expect(String(post.headers.location).startsWith(`${proxy.url}/v2/fault/upload/blobs/uploads/`)).toBe(true)
    const patch = await raw(String(post.headers.location), {
      method: "PATCH",
      headers: { "content-type": "application/octet-stream", "content-length": 60_000, "content-range": "0-59999" },
      body: data.subarray(0, 60_000)
    })
    expect(patch.status).toBe(202)
    expect(patch.headers.range).toBe("0-59999")
    expect(String(patch.headers.location).startsWith(proxy.url)).toBe(true)
    const put = await raw(withDigest(String(patch.headers.location), d), {
      method: "PUT",
      headers: { "content-type": "application/octet-stream", "content-length": 40_000 },
      body: data.subarray(60_000)
    })
    expect(put.status).toBe(201)
    expect(put.headers.location).toBe(`${proxy.url}/v2/fault/upload/blobs/${d}`)
    const direct = await raw(`${registry.url}/v2/fault/upload/blobs/${d}`)
    expect(direct.body.equals(data)).toBe(true)
    expect(proxy.log().map((e) => [e.method, e.status, e.requestBytes])).toEqual([
      ["POST", 202, 0],
      ["PATCH", 202, 60_000],
      ["PUT", 201, 40_000]
    ])
  })

  it("status answers directly, `times` times, then falls through", async () => {
    proxy.addRule({ name: "unavailable", path: "/v2/", times: 2, action: Fault.status(503, { body: "down" }) })
    const a = await raw(`${proxy.url}/v2/`)
    const b = await raw(`${proxy.url}/v2/`)
    const c = await raw(`${proxy.url}/v2/`)
    expect([a.status, b.status, c.status]).toEqual([503, 503, 200])
    expect(a.body.toString()).toBe("down")
    expect(proxy.log().map((e) => e.fired)).toEqual(["unavailable", "unavailable", undefined])
    expect(proxy.log().map((e) => e.upstreamStatus)).toEqual([undefined, undefined, 200])

    proxy.addRule({ action: Fault.status(429, { headers: { "retry-after": "1" } }) })
    const limited = await raw(blobUrl)
    expect(limited.status).toBe(429)
    expect(limited.headers["retry-after"]).toBe("1")
    expect(proxy.log()[3]!.fired).toBe("Status")
  })

  it("predicates see method, path, query, headers, index and matchCount; rules can be removed", async () => {
    const seen: Array<[number, number]> = []
    const remove = proxy.addRule({
      times: Infinity,
      match: (r) => {
        seen.push([r.index, r.matchCount])
        return r.method === "GET" && r.query.get("n") === "1" && r.headers["x-test"] === "yes"
      },
      action: Fault.status(418)
    })
    expect((await raw(`${proxy.url}/v2/_catalog?n=1`, { headers: { "x-test": "yes" } })).status).toBe(418)
    expect((await raw(`${proxy.url}/v2/_catalog?n=1`)).status).toBe(200)
    expect((await raw(`${proxy.url}/v2/_catalog?n=1`, { headers: { "x-test": "yes" } })).status).toBe(418)
    remove()
    expect((await raw(`${proxy.url}/v2/_catalog?n=1`, { headers: { "x-test": "yes" } })).status).toBe(200)
    const first = seen[0]![0]
    expect(seen).toEqual([[first, 0], [first + 1, 1], [first + 2, 1]])
    expect(proxy.log()[0]!.query).toBe("n=1")
  })

  it("resetResponseAfter: the client sees a reset mid-download", async () => {
    proxy.addRule({ method: "GET", path: /\/blobs\//, action: Fault.resetResponseAfter(1000) })
    const res = await raw(blobUrl)
    expect(res.status).toBe(200)
    expect(res.error).toBeDefined()
    expect(res.body.length).toBeLessThanOrEqual(1000)
    expect(proxy.log()[0]!.state).toBe("closed")
    expect((await raw(blobUrl)).body.equals(blob)).toBe(true)
  })

  it("resetBeforeResponse: the client sees a reset and nothing is forwarded", async () => {
    proxy.addRule({ action: Fault.resetBeforeResponse() })
    const res = await raw(blobUrl)
    expect(res.status).toBeUndefined()
    expect(res.error).toBeDefined()
    expect(proxy.log()[0]!.upstreamStatus).toBeUndefined()
  })

  it("truncateResponseAfter: fewer bytes than the declared Content-Length, then a clean close", async () => {
    proxy.addRule({ action: Fault.truncateResponseAfter(1000) })
    const res = await raw(blobUrl)
    expect(res.headers["content-length"]).toBe(String(BLOB_SIZE))
    expect(res.body.equals(blob.subarray(0, 1000))).toBe(true)
    expect(res.error).toBeDefined()
  })

  it("flipByte: same length, one byte changed", async () => {
    proxy.addRule({ action: Fault.flipByte(1000) })
    const res = await raw(blobUrl)
    expect(res.error).toBeUndefined()
    expect(res.body.length).toBe(BLOB_SIZE)
    expect(res.body.equals(blob)).toBe(false)
    expect(res.body[1000]).toBe(blob[1000]! ^ 0xff)
    res.body[1000] = blob[1000]!
    expect(res.body.equals(blob)).toBe(true)
  })

  it("extendResponse: a chunked body longer than the blob (or extra bytes after a kept Content-Length)", async () => {
    const extra = Buffer.from("trailing garbage")
    proxy.addRule({ action: Fault.extendResponse(extra) })
    const res = await raw(blobUrl)
    expect(res.error).toBeUndefined()
    expect(res.headers["content-length"]).toBeUndefined()
    expect(res.headers["transfer-encoding"]).toBe("chunked")
    expect(res.body.equals(Buffer.concat([blob, extra]))).toBe(true)

    proxy.addRule({ action: Fault.extendResponse(extra, { keepContentLength: true }) })
    const kept = await raw(blobUrl)
    expect(kept.headers["content-length"]).toBe(String(BLOB_SIZE))
    expect(kept.body.equals(blob)).toBe(true) // the client reads what was declared
    expect(proxy.log()[1]!.responseBytes).toBe(BLOB_SIZE + extra.length)
  })

  it("stallResponseAfter: a measured pause, then the whole body", async () => {
    proxy.addRule({ action: Fault.stallResponseAfter(100, 300) })
    const res = await raw(blobUrl)
    expect(res.error).toBeUndefined()
    expect(res.body.equals(blob)).toBe(true)
    expect(res.ms).toBeGreaterThanOrEqual(290)
  })

  it("stallResponseAfter(Infinity): hangs until the client gives up", async () => {
    proxy.addRule({ action: Fault.stallResponseAfter(100, Infinity) })
    const res = await raw(blobUrl, { timeoutMs: 300 })
    expect(res.error?.message).toBe("client timeout")
    expect(res.body.length).toBe(100)
    await new Promise((r) => setTimeout(r, 50))
    expect(proxy.log()[0]!.state).toBe("closed")
  })

  it("delay: waits before forwarding", async () => {
    proxy.addRule({ action: Fault.delay(200) })
    const res = await raw(`${proxy.url}/v2/`)
    expect(res.status).toBe(200)
    expect(res.ms).toBeGreaterThanOrEqual(190)
  })

  it("redirect: answers with a redirect to any URL", async () => {
    const elsewhere = `${registry.url}/v2/${REPO}/blobs/${digest}`
    proxy.addRule({ action: Fault.redirect(elsewhere) })
    const res = await raw(blobUrl)
    expect(res.status).toBe(307)
    expect(res.headers.location).toBe(elsewhere)
    expect((await raw(String(res.headers.location))).body.equals(blob)).toBe(true)
  })

  it("ignoreRange: a Range request answered 200 with the whole blob", async () => {
    const range = { range: "bytes=10-19" }
    const partial = await raw(blobUrl, { headers: range })
    expect(partial.status).toBe(206)
    expect(partial.body.equals(blob.subarray(10, 20))).toBe(true)
    proxy.addRule({ action: Fault.ignoreRange() })
    const whole = await raw(blobUrl, { headers: range })
    expect(whole.status).toBe(200)
    expect(whole.body.equals(blob)).toBe(true)
    expect(proxy.log()[1]!.requestHeaders.range).toBe("bytes=10-19")
  })

  it("mapResponseHeaders: drops and adds upstream headers", async () => {
    proxy.addRule({
      action: Fault.mapResponseHeaders((h) => {
        const { "docker-content-digest": _digest, ...rest } = h
        return { ...rest, warning: "299 - \"deprecated\"" }
      })
    })
    const res = await raw(blobUrl)
    expect(res.headers["docker-content-digest"]).toBeUndefined()
    expect(res.headers.warning).toBe("299 - \"deprecated\"")
    expect(res.body.equals(blob)).toBe(true)
  })

  it("respond: full control of odd answers", async () => {
    proxy.addRule({
      name: "hostile",
      action: Fault.respond((_req, res) => {
        res.writeHead(200, { "content-type": "application/octet-stream", "x-odd": "\u00ff" })
        res.end(Buffer.from("hello"))
      })
    })
    const res = await raw(blobUrl)
    expect(res.status).toBe(200)
    expect(res.body.toString()).toBe("hello")
    expect(proxy.log()[0]).toMatchObject({ fired: "hostile", status: 200, responseBytes: 5 })
  })

  describe("an interrupted PATCH (distribution 2.8)", () => {
    const data = crypto.randomBytes(1024 * 1024)
    const octets = (n: number) => ({ "content-type": "application/octet-stream", "content-length": n })

    /** Opens a session through the proxy and sends one PATCH of `data` cut after `cut` bytes. */
    const cutPatch = async (repo: string, cut: number) => {
      const session = await startUpload(proxy.url, repo)
      proxy.addRule({ method: "PATCH", action: Fault.resetBeforeResponse({ afterRequestBytes: cut }) })
      const patch = await raw(session, { method: "PATCH", headers: octets(data.length), body: data })
      const entry = proxy.log().find((e) => e.method === "PATCH")!
      const uuid = new URL(session).pathname.split("/").pop()!
      const file = path.join(registry.storageDir, "docker/registry/v2/repositories", repo, "_uploads", uuid, "data")
      return { session, patch, entry, file }
    }

    /** The size of the registry's upload file once it reached `expected` (polled, at most 2 s). */
    const storedSize = async (file: string, expected: number): Promise<number> => {
      let size = -1
      for (let i = 0; i < 100; i++) {
        size = fs.existsSync(file) ? fs.statSync(file).size : -1
        if (size === expected) break
        await new Promise((r) => setTimeout(r, 20))
      }
      return size
    }

    it("keeps every byte that arrived, but the session URL is dead afterwards", async () => {
      const cut = 300_000
      const { entry, file, patch, session } = await cutPatch("fault/cut", cut)
      expect(patch.status).toBeUndefined()
      expect(patch.error).toBeDefined()
      expect(entry).toMatchObject({ requestBytes: cut, status: undefined, upstreamStatus: undefined, state: "closed" })
      expect(await storedSize(file, cut)).toBe(cut)
      // the client's URL still carries `_state` offset 0; the registry sees 300000 bytes and refuses it
      const status = await raw(session)
      expect(status.status).toBe(404)
      expect(status.headers.range).toBeUndefined()
      expect(JSON.parse(status.body.toString()).errors[0].code).toBe("BLOB_UPLOAD_INVALID")
      const resume = await raw(session, {
        method: "PATCH",
        headers: { ...octets(data.length - cut), "content-range": `${cut}-${data.length - 1}` },
        body: data.subarray(cut)
      })
      expect(resume.status).toBe(404)
      expect(JSON.parse(resume.body.toString()).errors[0].code).toBe("BLOB_UPLOAD_INVALID")
      // the only way on is a new session
      const fresh = await startUpload(proxy.url, "fault/cut")
      const put = await raw(withDigest(fresh, sha256(data)), {
        method: "PUT",
        headers: octets(data.length),
        body: data
      })
      expect(put.status).toBe(201)
    })

    it("keeps the session usable when no byte arrived (and reports Range 0-0)", async () => {
      const { file, patch, session } = await cutPatch("fault/cut0", 0)
      expect(patch.error).toBeDefined()
      expect(await storedSize(file, 0)).toBe(0)
      const status = await raw(session)
      expect(status.status).toBe(204)
      expect(status.headers.range).toBe("0-0")
      const resume = await raw(String(status.headers.location), {
        method: "PATCH",
        headers: octets(data.length),
        body: data
      })
      expect(resume.status).toBe(202)
      expect(resume.headers.range).toBe(`0-${data.length - 1}`)
      const put = await raw(withDigest(String(resume.headers.location), sha256(data)), {
        method: "PUT",
        headers: { "content-length": 0 }
      })
      expect(put.status).toBe(201)
    })

    it("loses the session too when the whole body arrived and only the answer was lost", async () => {
      const { entry, file, patch, session } = await cutPatch("fault/lost", Infinity)
      expect(patch.error).toBeDefined()
      expect(entry).toMatchObject({ requestBytes: data.length, upstreamStatus: 202, status: undefined })
      expect(await storedSize(file, data.length)).toBe(data.length)
      expect((await raw(session)).status).toBe(404)
    })
  })

  it("answers 502 when the target is down", async () => {
    const dead = await startFaultProxy({ target: `http://127.0.0.1:${await freePort()}` })
    try {
      const res = await raw(`${dead.url}/v2/`)
      expect(res.status).toBe(502)
      expect(dead.log()[0]!.error).toMatch(/ECONNREFUSED/)
    } finally {
      await dead.stop()
    }
  })

  it("stop() ends hanging responses and closes everything", async () => {
    const other = await startFaultProxy({ target: registry.url })
    other.addRule({ action: Fault.stallResponseAfter(10, Infinity) })
    const pending = raw(`${other.url}/v2/${REPO}/blobs/${digest}`)
    await new Promise((r) => setTimeout(r, 100))
    const start = performance.now()
    await other.stop()
    const res = await pending
    expect(performance.now() - start).toBeLessThan(1000)
    expect(res.error).toBeDefined()
    expect(res.body.length).toBe(10)
    const refused = await raw(`${other.url}/v2/`, { timeoutMs: 1000 })
    expect(refused.status).toBeUndefined()
  })
})
