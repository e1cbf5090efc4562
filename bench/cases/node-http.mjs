// Reference points in plain Node, no library: what one core can do.
//
//   node bench/cases/node-http.mjs pull <url> <digest> <file|null> [authorization]
//     GET the blob with node:http, sha256 every chunk with node:crypto as it arrives, write it to
//     the file (backpressure respected) or drop it, and check the digest at the end.
//   node bench/cases/node-http.mjs pull-undici <url> <digest> null [authorization]
//     the same pull to nowhere on undici's Pool `request` API (the other bare transport).
//   node bench/cases/node-http.mjs tags <url of /v2/<name>/tags/list> <pageSize> [authorization]
//     follow `Link: <…>; rel="next"` with JSON.parse of each page.
//   node bench/cases/node-http.mjs push <url of /v2/<name>/blobs/uploads/> <file> <digest> <chunk|0> [authorization]
//     POST a session, then either one PUT with the file piped from fs.createReadStream (chunk 0),
//     or PATCH after PATCH of `chunk` bytes read into one reused buffer, then PUT ?digest=.
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import { cpuClock } from "../lib/stats.mjs"

const [op, url, ...rest] = process.argv.slice(2)
const agent = new http.Agent({ keepAlive: true })

const get = (target, headers) =>
  new Promise((resolve, reject) => {
    const req = http.get(target, { agent, headers }, resolve)
    req.on("error", reject)
  })

const pull = async (digest, out, authorization) => {
  const headers = authorization ? { authorization } : {}
  const res = await get(url, headers)
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode}`)
  const hash = crypto.createHash("sha256")
  const file = out === "null" ? undefined : fs.createWriteStream(out)
  let bytes = 0
  await new Promise((resolve, reject) => {
    res.on("data", (chunk) => {
      bytes += chunk.length
      hash.update(chunk)
      if (file !== undefined && !file.write(chunk)) {
        res.pause()
        file.once("drain", () => res.resume())
      }
    })
    res.on("end", resolve)
    res.on("error", reject)
  })
  if (file !== undefined) await new Promise((resolve) => file.end(resolve))
  const actual = `sha256:${hash.digest("hex")}`
  if (actual !== digest) throw new Error(`digest mismatch: ${actual}`)
  return { bytes }
}

const pullUndici = async (digest, authorization) => {
  const { Pool } = await import("undici")
  const target = new URL(url)
  const pool = new Pool(target.origin)
  const res = await pool.request({
    method: "GET",
    path: target.pathname + target.search,
    headers: authorization ? { authorization } : {}
  })
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode}`)
  const hash = crypto.createHash("sha256")
  let bytes = 0
  for await (const chunk of res.body) {
    bytes += chunk.length
    hash.update(chunk)
  }
  await pool.close()
  const actual = `sha256:${hash.digest("hex")}`
  if (actual !== digest) throw new Error(`digest mismatch: ${actual}`)
  return { bytes }
}

const tags = async (pageSize, authorization) => {
  const headers = authorization ? { authorization } : {}
  let next = pageSize === "default" ? url : `${url}?n=${pageSize}`
  let count = 0
  let pages = 0
  while (next !== undefined) {
    const res = await get(next, headers)
    const chunks = []
    for await (const chunk of res) chunks.push(chunk)
    if (res.statusCode !== 200) throw new Error(`GET ${next}: ${res.statusCode}`)
    count += JSON.parse(Buffer.concat(chunks).toString("utf8")).tags?.length ?? 0
    pages++
    const link = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.link ?? "")
    next = link ? new URL(link[1], next).href : undefined
  }
  return { bytes: 0, count, pages }
}

const send = (method, target, headers, body) =>
  new Promise((resolve, reject) => {
    const req = http.request(target, { method, agent, headers }, (res) => {
      res.resume()
      res.on("end", () => resolve(res))
      res.on("error", reject)
    })
    req.on("error", reject)
    if (body === undefined) req.end()
    else if (body instanceof Uint8Array) req.end(body)
    else body.pipe(req)
  })

const push = async (file, digest, chunk, authorization) => {
  const auth = authorization ? { authorization } : {}
  const size = fs.statSync(file).size
  const started = await send("POST", url, { ...auth, "content-length": "0" })
  if (started.statusCode !== 202) throw new Error(`POST ${url}: ${started.statusCode}`)
  let location = new URL(started.headers.location, url).href
  const withDigest = (loc) => `${loc}${loc.includes("?") ? "&" : "?"}digest=${encodeURIComponent(digest)}`
  const octets = { ...auth, "content-type": "application/octet-stream" }
  if (chunk === 0) {
    const res = await send(
      "PUT",
      withDigest(location),
      { ...octets, "content-length": String(size) },
      fs.createReadStream(file, { highWaterMark: 1024 * 1024 })
    )
    if (res.statusCode !== 201) throw new Error(`PUT: ${res.statusCode}`)
    return { bytes: size }
  }
  const fd = fs.openSync(file, "r")
  const buffer = Buffer.allocUnsafe(chunk)
  try {
    for (let offset = 0; offset < size;) {
      const n = fs.readSync(fd, buffer, 0, Math.min(chunk, size - offset), offset)
      const res = await send("PATCH", location, {
        ...octets,
        "content-length": String(n),
        "content-range": `${offset}-${offset + n - 1}`
      }, buffer.subarray(0, n))
      if (res.statusCode !== 202) throw new Error(`PATCH: ${res.statusCode}`)
      location = new URL(res.headers.location, location).href
      offset += n
    }
  } finally {
    fs.closeSync(fd)
  }
  const res = await send("PUT", withDigest(location), { ...auth, "content-length": "0" })
  if (res.statusCode !== 201) throw new Error(`PUT: ${res.statusCode}`)
  return { bytes: size }
}

const started = process.hrtime.bigint()
const opCpu = cpuClock()
const work = op === "pull"
  ? pull(rest[0], rest[1], rest[2])
  : op === "pull-undici"
  ? pullUndici(rest[0], rest[2])
  : op === "push"
  ? push(rest[0], rest[1], Number(rest[2]), rest[3])
  : tags(rest[0], rest[1])
work.then(
  (result) => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    process.stdout.write(
      JSON.stringify({ seconds, opCpuSeconds: opCpu(), ...result, maxRssKB: process.resourceUsage().maxRSS }) + "\n"
    )
    agent.destroy()
  },
  (error) => {
    process.stderr.write(`${error?.message ?? error}\n`)
    process.exit(1)
  }
)
