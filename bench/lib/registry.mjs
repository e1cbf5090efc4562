// Real `docker-registry` (distribution 2.8) processes on 127.0.0.1 for the benchmark: a config.yml
// with filesystem storage in a fresh temp dir, deletion enabled, redirects off, optional token auth.
// Plain ESM so `node bench/run.mjs` needs no TypeScript loader (test-support/registry.ts is the
// TypeScript original used by the tests).
import * as childProcess from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { onExit } from "./proc.mjs"

/** A free TCP port on 127.0.0.1 (listen on 0, read, close). */
export const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address()
      server.close((err) => (err ? reject(err) : resolve(port)))
    })
  })

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const q = (s) => JSON.stringify(s)

const renderConfig = ({ addr, auth, storageDir }) =>
  [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${q(storageDir)}`,
    "  delete:",
    "    enabled: true",
    "  redirect:",
    "    disable: true",
    "  maintenance:",
    "    uploadpurging:",
    "      enabled: false",
    "http:",
    `  addr: ${q(addr)}`,
    `  secret: ${q(crypto.randomBytes(16).toString("hex"))}`,
    ...(auth === undefined ? [] : [
      "auth:",
      "  token:",
      `    realm: ${q(auth.realm)}`,
      `    service: ${q(auth.service)}`,
      `    issuer: ${q(auth.issuer)}`,
      `    rootcertbundle: ${q(auth.certPath)}`
    ])
  ].join("\n") + "\n"

/**
 * Start `docker-registry serve` on a free loopback port. `auth` (optional) is a token server from
 * `tokenServer.mjs`. Resolves when `GET /v2/` answers; `stop()` kills it and removes its dir.
 */
export const startRegistry = async ({ auth, name = "registry" } = {}) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `ocireg-bench-${name}-`))
  const storageDir = path.join(dir, "storage")
  await fs.mkdir(storageDir)
  const configPath = path.join(dir, "config.yml")
  let lastError
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    await fs.writeFile(configPath, renderConfig({ addr: `127.0.0.1:${port}`, auth, storageDir }))
    const child = childProcess.spawn("docker-registry", ["serve", configPath], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, OTEL_TRACES_EXPORTER: "none" }
    })
    const unregister = onExit(() => {
      child.kill("SIGKILL")
      try {
        // synchronous removal: this may run inside process.on("exit")
        childProcess.execFileSync("rm", ["-rf", dir])
      } catch {
        // best effort
      }
    })
    let output = ""
    child.stdout.on("data", (c) => (output = (output + c).slice(-16384)))
    child.stderr.on("data", (c) => (output = (output + c).slice(-16384)))
    let exited = false
    const exit = new Promise((resolve) => child.once("exit", () => resolve(exited = true)))
    child.once("error", (e) => {
      output += String(e)
      exited = true
    })
    const url = `http://127.0.0.1:${port}`
    let ready = false
    for (let i = 0; i < 100 && !ready && !exited; i++) {
      try {
        const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) })
        await res.arrayBuffer()
        ready = true
      } catch {
        await sleep(100)
      }
    }
    if (ready) {
      let stopped
      return {
        url,
        host: `127.0.0.1:${port}`,
        port,
        dir,
        pid: child.pid,
        logs: () => output,
        stop: () => (stopped ??= (async () => {
          if (!exited) {
            child.kill("SIGTERM")
            const timer = setTimeout(() => child.kill("SIGKILL"), 3000)
            await exit
            clearTimeout(timer)
          }
          await fs.rm(dir, { recursive: true, force: true })
          unregister()
        })())
      }
    }
    if (!exited) child.kill("SIGKILL")
    await exit
    unregister()
    lastError = new Error(`docker-registry did not start on ${url}:\n${output.trim()}`)
    if (!/address already in use/.test(output)) break
  }
  await fs.rm(dir, { recursive: true, force: true })
  throw lastError
}
