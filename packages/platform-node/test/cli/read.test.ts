/**
 * The CLI's reading commands beyond the basics: tag filters and sorting, `--format`, `ratelimit`,
 * and `--json` errors (not found, auth) against RegistryServer and docker-registry.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs/promises"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll } from "vitest"
import { describeIntegration, type RunningRegistry, startRegistry } from "../../../../test-support/index.js"
import { requireBin, runCli, startServer, type Stored, storeImage, tempHome, type TestServer } from "./support.js"

let home: string
let server: TestServer
const stored: Record<string, Stored> = {}
const tags = ["v1.0.0", "v1.10.0", "v1.2.0", "v1.2.0-rc.1", "latest", "main-abc", "2.0"]
const created: Record<string, string> = {
  "v1.0.0": "2024-01-01T00:00:00Z",
  "v1.2.0-rc.1": "2024-03-01T00:00:00Z",
  "v1.2.0": "2024-04-01T00:00:00Z",
  "v1.10.0": "2025-01-01T00:00:00Z",
  "2.0": "2025-06-01T00:00:00Z",
  "main-abc": "2025-07-01T00:00:00Z",
  latest: "2025-06-01T00:00:01Z"
}

beforeAll(async () => {
  await requireBin()
  home = await tempHome()
  server = await startServer()
  for (const tag of tags) {
    stored[tag] = storeImage(server.registry, "team/app", tag, { created: created[tag]!, layers: [`layer ${tag}`] })
  }
}, 60_000)

afterAll(async () => {
  await server?.stop()
  if (home) await fs.rm(home, { recursive: true, force: true })
})

describe("tags", () => {
  it("filters with --include and --exclude, sorts by semver, name or date, and reverses", async () => {
    const repo = `${server.host}/team/app`
    const semver = await runCli(home, ["--json", "tags", "--sort", "semver", repo])
    assert.strictEqual(semver.code, 0, semver.stderr)
    assert.deepStrictEqual(JSON.parse(semver.stdout), [
      "v1.0.0",
      "v1.2.0-rc.1",
      "v1.2.0",
      "v1.10.0",
      "2.0",
      "latest",
      "main-abc"
    ])
    const filtered = await runCli(home, [
      "tags",
      "--include",
      "^v1\\.",
      "--exclude",
      "-rc",
      "--sort",
      "semver",
      "--reverse",
      repo
    ])
    assert.strictEqual(filtered.stdout, "v1.10.0\nv1.2.0\nv1.0.0\n")
    const lexical = await runCli(home, ["tags", "--sort", "lexical", "--include", "^v", repo])
    assert.strictEqual(lexical.stdout, "v1.0.0\nv1.10.0\nv1.2.0\nv1.2.0-rc.1\n")
    const dated = await runCli(home, ["--json", "tags", "--sort", "date", "--exclude", "^main", repo])
    assert.strictEqual(dated.code, 0, dated.stderr)
    const list = JSON.parse(dated.stdout) as Array<{ tag: string; created: string; digest: string }>
    assert.deepStrictEqual(list.map((d) => d.tag), ["v1.0.0", "v1.2.0-rc.1", "v1.2.0", "v1.10.0", "2.0", "latest"])
    assert.strictEqual(list[0]!.digest, stored["v1.0.0"]!.digest)
    const formatted = await runCli(home, [
      "tags",
      "--sort",
      "date",
      "--include",
      "^v1\\.1",
      "--format",
      "{{.tag}} {{.created}}",
      repo
    ])
    assert.strictEqual(formatted.stdout, "v1.10.0 2025-01-01T00:00:00Z\n")
  })

  it("bounds --sort date, and refuses a bad regular expression as a usage error", async () => {
    const repo = `${server.host}/team/app`
    const bounded = await runCli(home, ["--json", "tags", "--sort", "date", "--date-limit", "3", repo])
    assert.strictEqual(bounded.code, 2)
    assert.include(JSON.parse(bounded.stderr).message, "--date-limit 3")
    const bad = await runCli(home, ["tags", "--include", "(", repo])
    assert.strictEqual(bad.code, 2)
    assert.include(bad.stderr, "not a regular expression")
  })
})

describe("--format", () => {
  it("formats inspect, manifest, referrers and tags with a template", async () => {
    const ref = `${server.host}/team/app:v1.2.0`
    const inspect = await runCli(home, ["inspect", "--format", "{{.digest}} {{.image.platform}}", ref])
    assert.strictEqual(inspect.code, 0, inspect.stderr)
    assert.strictEqual(inspect.stdout, `${stored["v1.2.0"]!.digest} linux/amd64\n`)
    const manifest = await runCli(home, [
      "manifest",
      "--format",
      "{{range .layers}}{{.digest}}\\n{{end}}",
      ref
    ])
    assert.strictEqual(
      manifest.stdout,
      `${JSON.parse(Buffer.from(stored["v1.2.0"]!.manifest).toString()).layers[0].digest}\n`
    )
    const tagsOut = await runCli(home, [
      "tags",
      "--include",
      "^2",
      "--format",
      "tag={{.tag}}",
      `${server.host}/team/app`
    ])
    assert.strictEqual(tagsOut.stdout, "tag=2.0\n")
    const referrers = await runCli(home, ["referrers", "--format", "{{.digest}}", ref])
    assert.strictEqual(referrers.code, 0, referrers.stderr)
    assert.strictEqual(referrers.stdout, "")
    const bad = await runCli(home, ["--json", "inspect", "--format", "{{range .x}}", ref])
    assert.strictEqual(bad.code, 2)
    assert.strictEqual(JSON.parse(bad.stderr).error, "UsageError")
  })
})

describe("ratelimit", () => {
  it("reads RateLimit-* headers from a manifest HEAD, never a GET", async () => {
    const methods: Array<string> = []
    const limited = http.createServer((req, res) => {
      methods.push(`${req.method} ${req.url}`)
      if (req.url === "/v2/") {
        return void res.writeHead(200, { "docker-distribution-api-version": "registry/2.0" }).end()
      }
      if (req.method === "HEAD" && req.url === "/v2/library/app/manifests/latest") {
        return void res.writeHead(200, {
          "content-type": "application/vnd.oci.image.manifest.v1+json",
          "content-length": "100",
          "docker-content-digest": `sha256:${"a".repeat(64)}`,
          "ratelimit-limit": "100;w=21600",
          "ratelimit-remaining": "76;w=21600"
        }).end()
      }
      res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => limited.listen(0, "127.0.0.1", resolve))
    const host = `127.0.0.1:${(limited.address() as AddressInfo).port}`
    try {
      const text = await runCli(home, ["ratelimit", `${host}/library/app:latest`])
      assert.strictEqual(text.code, 0, text.stderr)
      assert.strictEqual(text.stdout, `${host}/library/app:latest: 76 of 100 pulls left per 21600 s\n`)
      const json = JSON.parse((await runCli(home, ["--json", "ratelimit", `${host}/library/app:latest`])).stdout)
      assert.deepStrictEqual(json, {
        reference: `${host}/library/app:latest`,
        limited: true,
        limit: 100,
        remaining: 76,
        windowSeconds: 21600
      })
      assert.isFalse(methods.some((m) => m.startsWith("GET /v2/library")), methods.join(", "))
    } finally {
      limited.closeAllConnections()
      await new Promise<void>((resolve) => limited.close(() => resolve()))
    }
    const none = await runCli(home, ["--json", "ratelimit", `${server.host}/team/app:latest`])
    assert.strictEqual(JSON.parse(none.stdout).limited, false)
  })
})

describeIntegration("--json errors against docker-registry", ["docker-registry"], () => {
  let registry: RunningRegistry
  beforeAll(async () => {
    registry = await startRegistry({ auth: "basic", users: { alice: "alice-password" } })
  }, 60_000)
  afterAll(async () => {
    await registry?.stop()
  })

  it("exits 3 with AuthenticationError, 4 with NotFound, each as one JSON object", async () => {
    const anonymous = await runCli(home, ["--json", "tags", `${registry.host}/team/app`])
    assert.strictEqual(anonymous.code, 3)
    const auth = JSON.parse(anonymous.stderr)
    assert.strictEqual(auth.error, "AuthenticationError")
    assert.strictEqual(auth.exitCode, 3)
    assert.strictEqual(auth.registry, registry.host)
    const missing = await runCli(
      home,
      ["-u", "alice", "--password-stdin", "--json", "manifest", `${registry.host}/team/app:nope`],
      { input: "alice-password\n" }
    )
    assert.strictEqual(missing.code, 4)
    const notFound = JSON.parse(missing.stderr)
    assert.strictEqual(notFound.error, "NotFound")
    assert.strictEqual(notFound.exitCode, 4)
    assert.notInclude(missing.stderr, "alice-password")
    assert.strictEqual(missing.stdout, "")
  })
})
