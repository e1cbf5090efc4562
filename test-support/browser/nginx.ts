/**
 * nginx (Debian's package) as the CORS front of registries that require authentication, the way
 * real deployments do it: `docker-registry` answers a preflight (`OPTIONS`, which browsers send
 * without credentials) with 401, so nginx answers every `OPTIONS` itself with 204 and the CORS
 * headers, and proxies everything else unchanged. The registry's own `http.headers` put the CORS
 * headers on the proxied answers (nginx adds none, so no header appears twice).
 */
import * as childProcess from "node:child_process"
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { onProcessExit } from "../exec.js"
import { freePort } from "../ports.js"

/** One server block: `127.0.0.1:<port>` in front of `upstream`. */
export interface ProxySite {
  /** `http://127.0.0.1:PORT` of the registry behind. */
  readonly upstream: string
  /** The headers of the 204 answer to preflights (name → value). */
  readonly preflightHeaders: Readonly<Record<string, string>>
}

/** A running nginx. */
export interface RunningProxy {
  /** One `{ url, host }` per site, in order. */
  readonly sites: ReadonlyArray<{ readonly url: string; readonly host: string }>
  /** What nginx wrote to its error log so far. */
  logs(): string
  /** Stops nginx and removes its temp dir. Idempotent. */
  stop(): Promise<void>
}

/** The nginx binary: `$OCIREG_NGINX`, else `nginx` on `PATH` (Debian installs `/usr/sbin/nginx`). */
export const nginxBinary = (): string | undefined => {
  const candidates = process.env.OCIREG_NGINX
    ? [process.env.OCIREG_NGINX]
    : [...(process.env.PATH ?? "").split(path.delimiter), "/usr/sbin", "/usr/local/sbin"]
      .filter((dir) => dir !== "")
      .map((dir) => path.join(dir, "nginx"))
  for (const candidate of candidates) {
    try {
      fsSync.accessSync(candidate, fsSync.constants.X_OK)
      return candidate
    } catch {
      // next
    }
  }
  return undefined
}

const quote = (value: string) => `"${value.replace(/["\\]/g, "\\$&")}"`

const renderConfig = (dir: string, sites: ReadonlyArray<ProxySite & { readonly port: number }>): string => {
  const servers = sites.map((site) => {
    const preflight = Object.entries(site.preflightHeaders)
      .map(([name, value]) => `        add_header ${name} ${quote(value)} always;`)
      .join("\n")
    return `
  server {
    listen 127.0.0.1:${site.port};
    client_max_body_size 0;
    location / {
      if ($request_method = OPTIONS) {
${preflight}
        add_header Content-Length 0 always;
        return 204;
      }
      proxy_pass ${site.upstream};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_read_timeout 300s;
    }
  }`
  })
  return `
${process.getuid?.() === 0 ? "user root;" : ""}
worker_processes 1;
daemon off;
master_process on;
pid ${path.join(dir, "nginx.pid")};
error_log ${path.join(dir, "error.log")} warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${path.join(dir, "body")};
  proxy_temp_path ${path.join(dir, "proxy")};
  fastcgi_temp_path ${path.join(dir, "fastcgi")};
  uwsgi_temp_path ${path.join(dir, "uwsgi")};
  scgi_temp_path ${path.join(dir, "scgi")};
${servers.join("\n")}
}
`
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Starts one nginx with a server block per site on free loopback ports and waits until every
 * site answers a preflight. Rejects with nginx's error log if it exits early.
 */
export const startCorsProxy = async (sites: ReadonlyArray<ProxySite>): Promise<RunningProxy> => {
  const binary = nginxBinary()
  if (binary === undefined) throw new Error("startCorsProxy: nginx not found (apt-get install nginx)")
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ocireg-nginx-"))
  const unregisterDir = onProcessExit(() => fsSync.rmSync(dir, { recursive: true, force: true }))
  const withPorts = await Promise.all(sites.map(async (site) => ({ ...site, port: await freePort() })))
  const configPath = path.join(dir, "nginx.conf")
  await fs.writeFile(configPath, renderConfig(dir, withPorts))
  const child = childProcess.spawn(binary, ["-p", dir, "-c", configPath], { stdio: ["ignore", "pipe", "pipe"] })
  const unregisterChild = onProcessExit(() => child.kill("SIGKILL"))
  let output = ""
  child.stdout!.on("data", (b: Buffer) => (output += b.toString("utf8")))
  child.stderr!.on("data", (b: Buffer) => (output += b.toString("utf8")))
  let exited = false
  const exit = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true
      unregisterChild()
      resolve()
    })
    child.once("error", (e) => {
      output += e.message
      exited = true
      unregisterChild()
      resolve()
    })
  })
  const logs = () => {
    let log = ""
    try {
      log = fsSync.readFileSync(path.join(dir, "error.log"), "utf8")
    } catch {
      // not written yet
    }
    return (output + log).trim()
  }
  const result = {
    sites: withPorts.map((s) => ({ url: `http://127.0.0.1:${s.port}`, host: `127.0.0.1:${s.port}` })),
    logs
  }
  let stopped: Promise<void> | undefined
  const stop = () => (stopped ??= (async () => {
    if (!exited) {
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000)
      await exit
      clearTimeout(timer)
    }
    await fs.rm(dir, { recursive: true, force: true })
    unregisterDir()
  })())
  for (const site of result.sites) {
    let ready = false
    for (let i = 0; i < 100 && !ready && !exited; i++) {
      try {
        const res = await fetch(`${site.url}/v2/`, { method: "OPTIONS", signal: AbortSignal.timeout(1000) })
        await res.arrayBuffer()
        ready = res.status === 204
      } catch {
        await sleep(50)
      }
    }
    if (!ready) {
      const log = logs()
      await stop()
      throw new Error(`nginx did not answer on ${site.url}; output:\n${log}`)
    }
  }
  return { ...result, stop }
}
