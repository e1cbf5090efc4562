/**
 * Real `docker-registry` (CNCF distribution 2.8) processes on 127.0.0.1 for integration tests:
 * open, htpasswd (basic) or token auth, each in a fresh temp dir that `stop()` removes.
 */
import bcrypt from "bcryptjs"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as childProcess from "node:child_process"
import * as crypto from "node:crypto"
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { HarnessError, onProcessExit, toHarnessError } from "./exec.js"
import { freePort } from "./ports.js"
import { TestTokenServer, type TokenServer } from "./tokenServer.js"

/** Options of `startRegistry`. */
export interface RegistryOptions {
  readonly auth: "none" | "basic" | "token"
  /** username → password, for `auth: "basic"` (written as a bcrypt htpasswd file). */
  readonly users?: Readonly<Record<string, string>>
  /** `storage.delete.enabled`; default true. */
  readonly deleteEnabled?: boolean
  /** `http.headers`: extra headers on every answer (e.g. CORS). */
  readonly headers?: Readonly<Record<string, ReadonlyArray<string>>>
  /** Required for `auth: "token"`: its realm, service, issuer and certificate configure the registry. */
  readonly tokenServer?: TokenServer
  /** `storage.maintenance.readonly.enabled`: writes answer 405 UNSUPPORTED. Default false. */
  readonly readOnly?: boolean
  /** The realm of basic auth challenges. Default `"ocireg-test"`. */
  readonly basicRealm?: string
}

/** A running registry. */
export interface RunningRegistry {
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  /** `127.0.0.1:PORT` (what goes in an image reference). */
  readonly host: string
  readonly port: number
  /** The temp dir holding config.yml, htpasswd and storage; removed by `stop()`. */
  readonly dir: string
  /** The filesystem storage root (`storage.filesystem.rootdirectory`). */
  readonly storageDir: string
  readonly configPath: string
  readonly auth: RegistryOptions["auth"]
  /** The on-disk data file of a blob: `<root>/docker/registry/v2/blobs/sha256/<2 hex>/<hex>/data`. */
  blobPath(digest: string): string
  /** Flips the bits of the first byte of a stored blob (same size), so the registry serves bytes that do not match the digest. */
  corruptBlob(digest: string): Promise<void>
  /** What the process wrote to stdout/stderr so far (last 64 KiB). */
  logs(): string
  /** Kills the process and removes `dir`. Idempotent. */
  stop(): Promise<void>
}

const LOG_LIMIT = 64 * 1024
const q = (s: string): string => JSON.stringify(s)

const renderConfig = (o: {
  readonly storageDir: string
  readonly addr: string
  readonly secret: string
  readonly deleteEnabled: boolean
  readonly readOnly: boolean
  readonly headers: Readonly<Record<string, ReadonlyArray<string>>> | undefined
  readonly auth: string
}): string => {
  const lines = [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${q(o.storageDir)}`,
    "  delete:",
    `    enabled: ${o.deleteEnabled}`,
    "  redirect:",
    "    disable: true",
    "  maintenance:",
    "    uploadpurging:",
    "      enabled: false",
    "    readonly:",
    `      enabled: ${o.readOnly}`,
    "http:",
    `  addr: ${q(o.addr)}`,
    `  secret: ${q(o.secret)}`
  ]
  if (o.headers !== undefined && Object.keys(o.headers).length > 0) {
    lines.push("  headers:")
    for (const [name, values] of Object.entries(o.headers)) {
      lines.push(`    ${q(name)}: [${values.map(q).join(", ")}]`)
    }
  }
  return lines.join("\n") + "\n" + o.auth
}

const isDigest = (digest: string): boolean => /^sha256:[a-f0-9]{64}$/.test(digest)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Writes a config for `options` into a fresh temp dir, spawns `docker-registry serve config.yml`
 * on a free loopback port and waits (at most 100 × 100 ms) until `GET /v2/` answers with any
 * status. Rejects with the registry's stderr if it exits early; retries on a port collision.
 */
export const startRegistry = async (options: RegistryOptions): Promise<RunningRegistry> => {
  if (options.auth === "token" && options.tokenServer === undefined) {
    throw new Error("startRegistry: auth \"token\" needs a tokenServer")
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ocireg-registry-"))
  const unregisterDir = onProcessExit(() => fsSync.rmSync(dir, { recursive: true, force: true }))
  try {
    const storageDir = path.join(dir, "storage")
    await fs.mkdir(storageDir)
    let auth = ""
    if (options.auth === "basic") {
      const users = options.users ?? {}
      if (Object.keys(users).length === 0) throw new Error("startRegistry: auth \"basic\" needs users")
      const htpasswd = path.join(dir, "htpasswd")
      const lines = await Promise.all(
        Object.entries(users).map(async ([user, password]) => `${user}:${await bcrypt.hash(password, 5)}`)
      )
      await fs.writeFile(htpasswd, lines.join("\n") + "\n")
      auth = [
        "auth:",
        "  htpasswd:",
        `    realm: ${q(options.basicRealm ?? "ocireg-test")}`,
        `    path: ${q(htpasswd)}`,
        ""
      ].join("\n")
    } else if (options.auth === "token") {
      const ts = options.tokenServer!
      auth = [
        "auth:",
        "  token:",
        `    realm: ${q(ts.realm)}`,
        `    service: ${q(ts.service)}`,
        `    issuer: ${q(ts.issuer)}`,
        `    rootcertbundle: ${q(ts.certPath)}`,
        ""
      ].join("\n")
    }
    const configPath = path.join(dir, "config.yml")
    let lastError: unknown
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort()
      await fs.writeFile(
        configPath,
        renderConfig({
          storageDir,
          addr: `127.0.0.1:${port}`,
          secret: crypto.randomBytes(16).toString("hex"),
          deleteEnabled: options.deleteEnabled ?? true,
          readOnly: options.readOnly ?? false,
          headers: options.headers,
          auth
        })
      )
      try {
        const registry = await spawnRegistry({ dir, storageDir, configPath, port, auth: options.auth })
        return { ...registry, stop: () => registry.stop().finally(unregisterDir) }
      } catch (e) {
        lastError = e
        if (!(e instanceof Error && /address already in use/.test(e.message))) break
      }
    }
    throw lastError
  } catch (e) {
    await fs.rm(dir, { recursive: true, force: true })
    unregisterDir()
    throw e
  }
}

const spawnRegistry = async (o: {
  readonly dir: string
  readonly storageDir: string
  readonly configPath: string
  readonly port: number
  readonly auth: RegistryOptions["auth"]
}): Promise<RunningRegistry> => {
  const child = childProcess.spawn("docker-registry", ["serve", o.configPath], {
    cwd: o.dir,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, OTEL_TRACES_EXPORTER: "none" }
  })
  const unregisterChild = onProcessExit(() => child.kill("SIGKILL"))
  let output = ""
  const append = (chunk: Buffer) => {
    output += chunk.toString("utf8")
    if (output.length > LOG_LIMIT) output = output.slice(-LOG_LIMIT)
  }
  child.stdout!.on("data", append)
  child.stderr!.on("data", append)
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
  let spawnError: Error | undefined
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exit = { code, signal }
      unregisterChild()
      resolve()
    })
    child.once("error", (e) => {
      spawnError = e
      unregisterChild()
      resolve()
    })
  })

  const url = `http://127.0.0.1:${o.port}`
  let ready = false
  for (let i = 0; i < 100 && !ready; i++) {
    if (exit !== undefined || spawnError !== undefined) break
    try {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      ready = true
    } catch {
      await sleep(100)
    }
  }
  if (!ready) {
    if (exit === undefined && spawnError === undefined) {
      child.kill("SIGKILL")
      await exited
      throw new Error(`docker-registry did not answer GET ${url}/v2/ within 10 s; output:\n${output.trim()}`)
    }
    if (spawnError !== undefined) throw new Error(`could not start docker-registry: ${spawnError.message}`)
    // give the pipes a moment to drain the last lines
    await sleep(20)
    throw new Error(
      `docker-registry exited early (code ${exit!.code}, signal ${exit!.signal}); output:\n${output.trim()}`
    )
  }

  let stopped: Promise<void> | undefined
  const blobPath = (digest: string): string => {
    if (!isDigest(digest)) throw new Error(`blobPath: not a sha256 digest: ${digest}`)
    const hex = digest.slice("sha256:".length)
    return path.join(o.storageDir, "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data")
  }
  return {
    url,
    host: `127.0.0.1:${o.port}`,
    port: o.port,
    dir: o.dir,
    storageDir: o.storageDir,
    configPath: o.configPath,
    auth: o.auth,
    blobPath,
    corruptBlob: async (digest) => {
      const fh = await fs.open(blobPath(digest), "r+")
      try {
        const b = Buffer.alloc(1)
        await fh.read(b, 0, 1, 0)
        b[0] = b[0]! ^ 0xff
        await fh.write(b, 0, 1, 0)
      } finally {
        await fh.close()
      }
    },
    logs: () => output,
    stop: () => (stopped ??= (async () => {
      if (exit === undefined && spawnError === undefined) {
        child.kill("SIGTERM")
        const timer = setTimeout(() => child.kill("SIGKILL"), 3000)
        await exited
        clearTimeout(timer)
      }
      await fs.rm(o.dir, { recursive: true, force: true })
    })())
  }
}

/**
 * `startRegistry` as a scoped Effect: the registry stops when the scope closes.
 */
export const acquireRegistry = (options: RegistryOptions): Effect.Effect<RunningRegistry, HarnessError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({ try: () => startRegistry(options), catch: toHarnessError("startRegistry") }),
    (registry) => Effect.promise(() => registry.stop())
  )

/**
 * A service tag for one registry, for `@effect/vitest` `layer(TestRegistry.layer(...))`.
 * Tests that need several registries can make their own tags with `acquireRegistry`.
 */
export class TestRegistry extends Context.Tag("ocireg/test-support/TestRegistry")<TestRegistry, RunningRegistry>() {
  /** A registry with the given options. */
  static readonly layer = (options: RegistryOptions): Layer.Layer<TestRegistry, HarnessError> =>
    Layer.scoped(TestRegistry, acquireRegistry(options))

  /**
   * A token-auth registry wired to the `TestTokenServer` in context; provide
   * `TestTokenServer.layer(...)` to it (e.g. `Layer.provideMerge`).
   */
  static readonly layerToken = (
    options: Omit<RegistryOptions, "auth" | "tokenServer"> = {}
  ): Layer.Layer<TestRegistry, HarnessError, TestTokenServer> =>
    Layer.scoped(
      TestRegistry,
      Effect.flatMap(TestTokenServer, (tokenServer) => acquireRegistry({ ...options, auth: "token", tokenServer }))
    )
}

/** Re-exported for convenience. */
export { HarnessError }
