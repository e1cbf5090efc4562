// Per-request cost: n sequential requests of each kind, with the CPU time (user + system) of this
// process per request measured around each loop (after a warm-up of 50), and the sockets opened.
//
//   node bench/cases/requests.mjs <client> <host/repo> <tag> <manifest digest> <blob digest> <blob size> <n>
//
// Clients: `ocireg` (NodeRegistry.layer: headManifest, getManifest, verified getBlobBytes, and getBlob
// drained as a stream),
// `ocireg-platform` (the same on @effect/platform-node's undici client), and the bare transports
// `node-http` (keep-alive http.Agent) and `undici` (undici.Pool, `request` API), which send the
// same requests (HEAD and GET of the manifest, GET of the blob with sha256) without a library.
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Registry from "@ocireg/core/Registry"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as http from "node:http"
import { countSockets } from "../lib/sockets.mjs"

const [client, repo, tag, manifestDigest, blobDigest, blobSize, count] = process.argv.slice(2)
const n = Number(count)
const warmup = 50
const sockets = countSockets()
const accept = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json"
].join(", ")

const slash = repo.indexOf("/")
const origin = `http://${repo.slice(0, slash)}`
const name = repo.slice(slash + 1)

/** Run `op` (a function returning a promise) `warmup` + n times; CPU and wall ms per request of the last n. */
const loop = async (op) => {
  for (let i = 0; i < warmup; i++) await op()
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) await op()
  const wall = Number(process.hrtime.bigint() - t0) / 1e6
  const cpu = process.cpuUsage(cpu0)
  return { cpuMs: (cpu.user + cpu.system) / 1000 / n, wallMs: wall / n }
}

const bare = async (send) => {
  const manifestPath = `/v2/${name}/manifests/${tag}`
  const blobPath = `/v2/${name}/blobs/${blobDigest}`
  const check = (status) => {
    if (status !== 200) throw new Error(`HTTP ${status}`)
  }
  return {
    head: await loop(async () => check((await send("HEAD", manifestPath, { accept })).status)),
    get: await loop(async () => {
      const r = await send("GET", manifestPath, { accept })
      check(r.status)
      JSON.parse(r.body.toString("utf8"))
      if (`sha256:${crypto.createHash("sha256").update(r.body).digest("hex")}` !== manifestDigest) {
        throw new Error("digest")
      }
    }),
    blob: await loop(async () => {
      const r = await send("GET", blobPath, {})
      check(r.status)
      if (`sha256:${crypto.createHash("sha256").update(r.body).digest("hex")}` !== blobDigest) throw new Error("digest")
    })
  }
}

const nodeHttp = () => {
  const agent = new http.Agent({ keepAlive: true })
  return bare((method, path, headers) =>
    new Promise((resolve, reject) => {
      const req = http.request(`${origin}${path}`, { method, agent, headers }, (res) => {
        const chunks = []
        res.on("data", (c) => chunks.push(c))
        res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }))
        res.on("error", reject)
      })
      req.on("error", reject)
      req.end()
    })
  ).finally(() => agent.destroy())
}

const undici = async () => {
  const { Pool } = await import("undici")
  const pool = new Pool(origin)
  try {
    return await bare(async (method, path, headers) => {
      const r = await pool.request({ method, path, headers })
      const body = Buffer.from(await r.body.arrayBuffer())
      return { status: r.statusCode, body }
    })
  } finally {
    await pool.close()
  }
}

const ocireg = (http) => {
  const ref = `${repo}:${tag}`
  const blob = { digest: blobDigest, size: Number(blobSize) }
  const program = Effect.gen(function*() {
    const runtime = yield* Effect.runtime()
    // one runtime for every request, as an app with a ManagedRuntime runs them (providing the runtime
    // again per request cost ~0.3 ms of CPU that was not the client's)
    const runPromise = Runtime.runPromise(runtime)
    const run = (effect) => () => runPromise(effect)
    return {
      head: yield* Effect.promise(() => loop(run(Registry.headManifest(ref)))),
      get: yield* Effect.promise(() => loop(run(Registry.getManifest(ref)))),
      // a small blob read whole (what a caller reading a config does), and the same as a stream
      blob: yield* Effect.promise(() => loop(run(Registry.getBlobBytes(repo, blob)))),
      blobStream: yield* Effect.promise(() => loop(run(Stream.runDrain(Registry.getBlob(repo, blob)))))
    }
  })
  return Effect.runPromise(
    program.pipe(
      Effect.provide(NodeRegistry.layer({ http })),
      Effect.provide(CredentialStore.layerAnonymous)
    )
  )
}

const clients = {
  "node-http": nodeHttp,
  undici,
  ocireg: () => ocireg("node"),
  "ocireg-platform": () => ocireg("platform")
}

const started = process.hrtime.bigint()
clients[client]().then(
  (result) => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    process.stdout.write(
      JSON.stringify({
        seconds,
        bytes: 0,
        ...result,
        sockets: sockets(),
        maxRssKB: process.resourceUsage().maxRSS
      }) + "\n"
    )
    process.exit(0)
  },
  (error) => {
    process.stderr.write(`${error?.stack ?? error}\n`)
    process.exit(1)
  }
)
