/**
 * The built `ocireg` binary against the real registry in its three auth modes: output, `--json`
 * shapes and exit codes.
 */
import { assert, describe, it } from "@effect/vitest"
import * as childProcess from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll } from "vitest"
import {
  describeIntegration,
  type RunningRegistry,
  type SeededImage,
  seedImage,
  skopeoCopy,
  startRegistry,
  startTokenServer,
  type TokenServer
} from "../../../../test-support/index.js"

const bin = fileURLToPath(new URL("../../dist/ocireg.mjs", import.meta.url))
const users = { alice: "alice-password" }

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

let home: string

/** Run the CLI with a private Docker config directory and optional standard input. */
const ocireg = (args: ReadonlyArray<string>, input?: string): Promise<Run> =>
  new Promise((resolve) => {
    const child = childProcess.execFile(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH, HOME: home, DOCKER_CONFIG: path.join(home, ".docker") },
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024
    }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr })
    })
    child.stdin?.end(input ?? "")
  })

describeIntegration("the ocireg CLI", ["docker-registry", "skopeo", "openssl"], () => {
  let tokens: TokenServer
  const registries: Record<string, RunningRegistry> = {}
  const images: Record<string, SeededImage> = {}

  beforeAll(async () => {
    await fs.access(bin).catch(() => {
      throw new Error(`${bin} is missing: run npm run build first (npm test does)`)
    })
    home = await fs.mkdtemp(path.join(os.tmpdir(), "ocireg-cli-"))
    tokens = await startTokenServer({ users })
    registries.open = await startRegistry({ auth: "none" })
    registries.basic = await startRegistry({ auth: "basic", users })
    registries.token = await startRegistry({ auth: "token", tokenServer: tokens })
    for (const [name, registry] of Object.entries(registries)) {
      const creds = name === "open" ? undefined : { username: "alice", password: users.alice }
      images[name] = await seedImage(registry, "team/app", "v1", {
        platforms: ["linux/amd64", "linux/arm64/v8"],
        layers: 1,
        layerSize: 2048
      }, creds)
    }
  }, 120_000)

  afterAll(async () => {
    for (const registry of Object.values(registries)) await registry.stop()
    await tokens?.stop()
    if (home) await fs.rm(home, { recursive: true, force: true })
  })

  it("pings, lists tags and prints digests in the open registry", async () => {
    const host = registries.open!.host
    const ping = await ocireg(["ping", host])
    assert.strictEqual(ping.code, 0, ping.stderr)
    assert.include(ping.stdout, "ok (registry/2.0)")
    const tags = await ocireg(["--json", "tags", `${host}/team/app`])
    assert.deepStrictEqual(JSON.parse(tags.stdout), ["v1"])
    const digest = await ocireg(["digest", `${host}/team/app:v1`])
    assert.strictEqual(digest.stdout.trim(), images.open!.root.digest)
    const arm = await ocireg(["--platform", "linux/arm64", "digest", `${host}/team/app:v1`])
    assert.strictEqual(
      arm.stdout.trim(),
      images.open!.manifests.find((m) => m.platform?.architecture === "arm64")!.descriptor.digest
    )
  })

  it("prints manifests, configs and blobs byte for byte", async () => {
    const host = registries.open!.host
    const manifest = await ocireg(["manifest", `${host}/team/app:v1`])
    assert.strictEqual(manifest.stdout, Buffer.from(images.open!.rootBytes).toString())
    const amd = images.open!.manifests.find((m) => m.platform?.architecture === "amd64")!
    const config = await ocireg(["config", `${host}/team/app:v1`])
    assert.strictEqual(config.stdout, Buffer.from(amd.config.bytes).toString())
    const out = path.join(home, "layer.bin")
    const blob = await ocireg(["blob", "-o", out, `${host}/team/app@${amd.layers[0]!.descriptor.digest}`])
    assert.strictEqual(blob.code, 0, blob.stderr)
    assert.isTrue((await fs.readFile(out)).equals(Buffer.from(amd.layers[0]!.bytes)))
  })

  it("inspects as text and as JSON", async () => {
    const host = registries.open!.host
    const text = await ocireg(["inspect", `${host}/team/app:v1`])
    assert.include(text.stdout, "linux/arm64/v8")
    assert.include(text.stdout, images.open!.root.digest)
    const json = JSON.parse((await ocireg(["--json", "inspect", `${host}/team/app:v1`])).stdout)
    assert.strictEqual(json.digest, images.open!.root.digest)
    assert.deepStrictEqual(json.platforms.map((p: { platform: string }) => p.platform), [
      "linux/amd64",
      "linux/arm64/v8"
    ])
  })

  it("copies, tags and deletes", async () => {
    const host = registries.open!.host
    const copy = await ocireg(["--json", "copy", `${host}/team/app:v1`, `${host}/copy/app:v1`])
    assert.strictEqual(copy.code, 0, copy.stderr)
    assert.strictEqual(JSON.parse(copy.stdout).digest, images.open!.root.digest)
    assert.strictEqual(JSON.parse(copy.stdout).blobs.mounted, 4)
    assert.strictEqual((await ocireg(["tag", `${host}/copy/app:v1`, "v2"])).code, 0)
    assert.deepStrictEqual(JSON.parse((await ocireg(["--json", "tags", `${host}/copy/app`])).stdout).sort(), [
      "v1",
      "v2"
    ])
    const deleted = await ocireg(["delete", `${host}/copy/app:v2`])
    assert.strictEqual(deleted.code, 0, deleted.stderr)
    assert.strictEqual((await ocireg(["digest", `${host}/copy/app:v1`])).code, 4, "the manifest is gone, v1 with it")
  })

  it("pulls to an OCI layout that skopeo copies back with identical digests, and pushes from it", async () => {
    const host = registries.open!.host
    const dir = path.join(home, "pulled")
    const pulled = await ocireg(["--json", "pull", `${host}/team/app:v1`, dir])
    assert.strictEqual(pulled.code, 0, pulled.stderr)
    assert.strictEqual(JSON.parse(pulled.stdout).digest, images.open!.root.digest)
    await skopeoCopy(`oci:${dir}:v1`, `docker://${host}/roundtrip/app:v1`, { all: true, preserveDigests: true })
    assert.strictEqual((await ocireg(["digest", `${host}/roundtrip/app:v1`])).stdout.trim(), images.open!.root.digest)
    const pushed = await ocireg(["--json", "push", `${dir}:v1`, `${host}/pushed/app:v1`])
    assert.strictEqual(pushed.code, 0, pushed.stderr)
    assert.strictEqual(JSON.parse(pushed.stdout).digest, images.open!.root.digest)
  })

  it("exits 4 for a missing tag, 2 for bad usage, with one error line", async () => {
    const host = registries.open!.host
    const missing = await ocireg(["manifest", `${host}/team/app:nope`])
    assert.strictEqual(missing.code, 4)
    assert.strictEqual(missing.stderr.trim().split("\n").length, 1)
    assert.include(missing.stderr, "not found")
    assert.strictEqual((await ocireg(["digest", `${host}/Upper/Case:tag`])).code, 2)
    assert.strictEqual((await ocireg(["tags"])).code, 2)
  })

  for (const mode of ["basic", "token"] as const) {
    describe(`${mode} auth`, () => {
      it("exits 3 without credentials and with a wrong password, never printing it", async () => {
        const host = registries[mode]!.host
        const anonymous = await ocireg(["tags", `${host}/team/app`])
        assert.strictEqual(anonymous.code, 3, anonymous.stderr)
        const wrong = await ocireg(
          ["-u", "alice", "--password-stdin", "tags", `${host}/team/app`],
          "not-the-password\n"
        )
        assert.strictEqual(wrong.code, 3)
        assert.notInclude(wrong.stderr + wrong.stdout, "not-the-password")
      })

      it("reads with --username/--password-stdin, and with credentials saved by login", async () => {
        const host = registries[mode]!.host
        const direct = await ocireg(
          ["-u", "alice", "--password-stdin", "--json", "tags", `${host}/team/app`],
          `${users.alice}\n`
        )
        assert.strictEqual(direct.code, 0, direct.stderr)
        assert.deepStrictEqual(JSON.parse(direct.stdout), ["v1"])
        const refused = await ocireg(["-u", "alice", "--password-stdin", "login", host], `${users.alice}\n`)
        assert.notStrictEqual(refused.code, 0, "no helper configured and no --plaintext")
        const login = await ocireg(
          ["-u", "alice", "--password-stdin", "login", "--plaintext", host],
          `${users.alice}\n`
        )
        assert.strictEqual(login.code, 0, login.stderr)
        const saved = await ocireg(["digest", `${host}/team/app:v1`])
        assert.strictEqual(saved.stdout.trim(), images[mode]!.root.digest, saved.stderr)
        assert.strictEqual((await ocireg(["logout", host])).code, 0)
        assert.strictEqual((await ocireg(["digest", `${host}/team/app:v1`])).code, 3)
      })
    })
  }
})
