/**
 * A smoke subset of the demo path with the built `ocireg` CLI against `RegistryServer` in each
 * dialect: ping, tags, digest, inspect, pull to an OCI layout, copy (with mount), tag, mutate and append.
 * Artifactory is reached with `--path-prefix HOST=/artifactory/api/docker/<key>`. The newer
 * commands too: archive pull / push (gzip), artifact push / pull, index create, and sync (a whole
 * registry where the dialect has a catalog; Docker Hub and GHCR have none, so there the CLI must
 * say CatalogUnavailable and a per-repository sync runs instead).
 */
import { assert, describe, it } from "@effect/vitest"
import * as MediaType from "@ocireg/core/MediaType"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as childProcess from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll } from "vitest"
import { tarWithOneFile } from "../../../../test-support/images.js"
import { catalogOf, serve, type Served, users } from "./support.js"

const bin = fileURLToPath(new URL("../../dist/ocireg.mjs", import.meta.url))

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

let home: string

/** Runs the CLI as alice (password on standard input), with a private HOME. */
const run = (args: ReadonlyArray<string>, globals: ReadonlyArray<string> = []): Promise<Run> =>
  new Promise((resolve) => {
    const child = childProcess.execFile(
      process.execPath,
      [bin, "-u", "alice", "--password-stdin", ...globals, ...args],
      {
        env: { PATH: process.env.PATH, HOME: home, DOCKER_CONFIG: path.join(home, ".docker") },
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr })
    )
    child.stdin?.end(`${users.alice}\n`)
  })

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

/** Seeds a small image without HTTP; returns its manifest digest. */
const seed = (registry: RegistryTest.Service): string => {
  const layer = new TextEncoder().encode("hello from the dialect matrix\n".repeat(40))
  const config = json({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } })
  const layerDigest = registry.putBlob("team/app", layer)
  const configDigest = registry.putBlob("team/app", config)
  return registry.putManifest(
    "team/app",
    "v1",
    json({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configDigest, size: config.length },
      layers: [{ mediaType: MediaType.ociLayerTar, digest: layerDigest, size: layer.length }]
    }),
    MediaType.ociManifest
  )
}

beforeAll(async () => {
  await fs.access(bin).catch(() => {
    throw new Error(`${bin} is missing: run npm run build first (npm test does)`)
  })
  home = await fs.mkdtemp(path.join(os.tmpdir(), "ocireg-dialect-cli-"))
})

afterAll(async () => {
  if (home) await fs.rm(home, { recursive: true, force: true })
})

describe("ocireg registry serve --dialect", () => {
  it("serves the dialect it is given (Nexus: manifest HEAD refused, the CLI falls back to GET)", async () => {
    const server = childProcess.spawn(process.execPath, [bin, "--json", "registry", "serve", "--dialect", "nexus"], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    try {
      const started = await new Promise<{ host: string; dialect: string }>((resolve, reject) => {
        let text = ""
        const timer = setTimeout(() => reject(new Error("the registry did not start within 30 s")), 30_000)
        server.stdout.on("data", (chunk) => {
          text += chunk
          // one pretty-printed JSON object
          if (text.includes("}")) {
            clearTimeout(timer)
            resolve(JSON.parse(text.slice(0, text.indexOf("}") + 1)))
          }
        })
        server.once("exit", (code) => reject(new Error(`the registry exited with ${code}`)))
      })
      assert.strictEqual(started.dialect, "nexus")
      const head = await fetch(`http://${started.host}/v2/team/app/manifests/v1`, { method: "HEAD" })
      assert.strictEqual(head.status, 405, "the nexus rule answers")
      const ping = await run(["ping", started.host])
      assert.strictEqual(ping.code, 0, ping.stderr)
    } finally {
      server.kill()
    }
  })
})

describe("--path-prefix", () => {
  it("refuses a value that is not HOST=PREFIX as a usage error", async () => {
    for (const bad of ["nohost", "=/x", "h.test=/", "h.test=/a/../b", "h.test=http://x/y"]) {
      const refused = await run(["--json", "ping", "h.test"], ["--path-prefix", bad])
      assert.strictEqual(refused.code, 2, `${bad}: ${refused.stderr}`)
    }
  })
})

for (const dialect of RegistryTest.dialects) {
  describe(`ocireg against the ${dialect} dialect`, () => {
    let served: Served
    let digest: string
    let globals: ReadonlyArray<string> = []
    const ocireg = (args: ReadonlyArray<string>) => run(args, globals)
    beforeAll(async () => {
      served = await serve(dialect)
      digest = seed(served.running.registry)
      // Artifactory serves the API under /artifactory/api/docker/<key>: the CLI is told so
      globals = dialect === "artifactory" ? ["--path-prefix", `${served.prefix}=${RegistryTest.artifactoryPrefix}`] : []
    }, 60_000)
    afterAll(async () => {
      await served?.close()
    })

    it("pings, lists tags, resolves and inspects", async () => {
      const ping = await ocireg(["ping", served.prefix])
      assert.strictEqual(ping.code, 0, ping.stderr)
      const tags = await ocireg(["--json", "tags", `${served.prefix}/team/app`])
      assert.strictEqual(tags.code, 0, tags.stderr)
      assert.deepStrictEqual(JSON.parse(tags.stdout), ["v1"])
      const resolved = await ocireg(["digest", `${served.prefix}/team/app:v1`])
      assert.strictEqual(resolved.stdout.trim(), digest, resolved.stderr)
      const inspect = await ocireg(["--json", "inspect", `${served.prefix}/team/app:v1`])
      assert.strictEqual(inspect.code, 0, inspect.stderr)
      assert.strictEqual(JSON.parse(inspect.stdout).digest, digest)
    })

    it("pulls to an OCI layout, copies and tags", async () => {
      const dir = await fs.mkdtemp(path.join(home, "layout-"))
      const pulled = await ocireg(["--json", "pull", `${served.prefix}/team/app:v1`, dir])
      assert.strictEqual(pulled.code, 0, pulled.stderr)
      const index = JSON.parse(await fs.readFile(path.join(dir, "index.json"), "utf8"))
      assert.strictEqual(index.manifests[0].digest, digest)
      const copied = await ocireg(["copy", `${served.prefix}/team/app:v1`, `${served.prefix}/team/copy:v1`])
      assert.strictEqual(copied.code, 0, copied.stderr)
      assert.strictEqual(served.running.registry.tags("team/copy").get("v1"), digest)
      const tagged = await ocireg(["tag", `${served.prefix}/team/copy:v1`, "v2"])
      assert.strictEqual(tagged.code, 0, tagged.stderr)
      assert.strictEqual(served.running.registry.tags("team/copy").get("v2"), digest)
    })

    it("mutates and appends", async () => {
      const mutated = await ocireg([
        "--json",
        "mutate",
        `${served.prefix}/team/app:v1`,
        "--label",
        `dialect=${dialect}`,
        "-t",
        `${served.prefix}/team/app:mutated`
      ])
      assert.strictEqual(mutated.code, 0, mutated.stderr)
      assert.strictEqual(served.running.registry.tags("team/app").get("mutated"), JSON.parse(mutated.stdout).digest)
      const layer = path.join(home, `layer-${dialect}.tar`)
      await fs.writeFile(layer, tarWithOneFile("dialect.txt", new TextEncoder().encode(dialect)))
      const appended = await ocireg([
        "--json",
        "append",
        "-b",
        `${served.prefix}/team/app:mutated`,
        "-t",
        `${served.prefix}/team/app:appended`,
        "-f",
        layer
      ])
      assert.strictEqual(appended.code, 0, appended.stderr)
      assert.strictEqual(served.running.registry.tags("team/app").get("appended"), JSON.parse(appended.stdout).digest)
    })

    it("archive pull (gzip) and push, artifact push and pull, index create", async () => {
      const dir = await fs.mkdtemp(path.join(home, `new-${dialect}-`))
      const archive = path.join(dir, "app.docker.tar.gz")
      const pulled = await ocireg([
        "--json",
        "pull",
        "--format",
        "docker-archive",
        `${served.prefix}/team/app:v1`,
        archive
      ])
      assert.strictEqual(pulled.code, 0, pulled.stderr)
      assert.isTrue(JSON.parse(pulled.stdout).compressed)
      const pushed = await ocireg(["--json", "push", archive, `${served.prefix}/team/fromarchive:v1`])
      assert.strictEqual(pushed.code, 0, pushed.stderr)
      assert.strictEqual(served.running.registry.tags("team/fromarchive").get("v1"), JSON.parse(pushed.stdout).digest)

      const notes = path.join(dir, "notes.txt")
      await fs.writeFile(notes, `notes for ${dialect}`)
      const artifact = await ocireg([
        "--json",
        "artifact",
        "push",
        "--artifact-type",
        "application/vnd.example.notes",
        `${served.prefix}/team/notes:v1`,
        `${notes}:text/plain`
      ])
      assert.strictEqual(artifact.code, 0, artifact.stderr)
      const out = path.join(dir, "out")
      const fetched = await ocireg(["artifact", "pull", "-o", out, `${served.prefix}/team/notes:v1`])
      assert.strictEqual(fetched.code, 0, fetched.stderr)
      assert.strictEqual(await fs.readFile(path.join(out, "notes.txt"), "utf8"), `notes for ${dialect}`)

      const index = await ocireg([
        "--json",
        "index",
        "create",
        `${served.prefix}/team/multi:v1`,
        `${served.prefix}/team/app:v1`
      ])
      assert.strictEqual(index.code, 0, index.stderr)
      const resolved = await ocireg(["--platform", "linux/amd64", "digest", `${served.prefix}/team/multi:v1`])
      assert.strictEqual(resolved.stdout.trim(), digest, resolved.stderr)
    })

    it(
      catalogOf(dialect) === "listed" ? "sync of the whole registry" : "sync: no catalog, said so; by repository",
      async () => {
        const dir = await fs.mkdtemp(path.join(home, `sync-${dialect}-`))
        const whole = path.join(dir, "registry.yaml")
        await fs.writeFile(
          whole,
          [
            "sync:",
            "  - type: registry",
            `    source: ${served.prefix}`,
            `    target: ${served.prefix}/mirror`,
            "    repositories: { include: [\"^team/app$\"] }",
            ""
          ].join("\n")
        )
        // every tag team/app has by now (earlier tests of this dialect add some) is mirrored once
        const tagCount = served.running.registry.tags("team/app").size
        const run = await ocireg(["--json", "sync", whole])
        if (catalogOf(dialect) === "listed") {
          assert.strictEqual(run.code, 0, run.stderr)
          assert.deepStrictEqual(
            (({ copied, repositories }) => [repositories, copied])(JSON.parse(run.stdout)),
            [1, tagCount]
          )
          assert.strictEqual(served.running.registry.tags("mirror/team/app").get("v1"), digest)
          const again = await ocireg(["--json", "sync", whole])
          assert.deepStrictEqual((({ copied, skipped }) => [copied, skipped])(JSON.parse(again.stdout)), [0, tagCount])
        } else {
          assert.strictEqual(run.code, 1, run.stdout)
          const error = JSON.parse(run.stderr)
          assert.strictEqual(error.error, "CatalogUnavailable")
          assert.include(error.message, "one by one")
          const single = path.join(dir, "repository.yaml")
          await fs.writeFile(
            single,
            `sync:\n  - source: ${served.prefix}/team/app\n    target: ${served.prefix}/mirror/team/app\n`
          )
          const byRepository = await ocireg(["--json", "sync", single])
          assert.strictEqual(byRepository.code, 0, byRepository.stderr)
          assert.strictEqual(served.running.registry.tags("mirror/team/app").get("v1"), digest)
        }
      }
    )
  })
}
