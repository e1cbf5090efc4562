/**
 * Credentials per side of a copy (`--src-creds`, `--dest-creds`) between two docker-registry
 * processes with different users, and `--authfile` with a containers auth.json.
 */
import { assert, it } from "@effect/vitest"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import {
  describeIntegration,
  type RunningRegistry,
  type SeededImage,
  seedImage,
  startRegistry
} from "../../../../test-support/index.js"
import { requireBin, runCli, tempHome } from "./support.js"

describeIntegration("copy with per-side credentials and --authfile", ["docker-registry", "skopeo"], () => {
  let home: string
  let source: RunningRegistry
  let target: RunningRegistry
  let image: SeededImage

  beforeAll(async () => {
    await requireBin()
    home = await tempHome()
    source = await startRegistry({ auth: "basic", users: { alice: "alice:pass" } })
    target = await startRegistry({ auth: "basic", users: { bob: "bob-pass" } })
    image = await seedImage(source, "team/app", "v1", { layers: 1, layerSize: 1024 }, {
      username: "alice",
      password: "alice:pass"
    })
  }, 120_000)

  afterAll(async () => {
    await source?.stop()
    await target?.stop()
    if (home) await fs.rm(home, { recursive: true, force: true })
  })

  it("reads the source as one user and writes the target as another", async () => {
    const copied = await runCli(home, [
      "--json",
      "copy",
      "--src-creds",
      "alice:alice:pass",
      "--dest-creds",
      "bob:bob-pass",
      `${source.host}/team/app:v1`,
      `${target.host}/mirror/app:v1`
    ])
    assert.strictEqual(copied.code, 0, copied.stderr)
    assert.strictEqual(JSON.parse(copied.stdout).digest, image.root.digest)
    assert.notInclude(copied.stdout + copied.stderr, "bob-pass")
    const check = await runCli(home, ["--json", "digest", `${target.host}/mirror/app:v1`], {})
    assert.strictEqual(check.code, 3, "the target needs credentials: none are saved")
  })

  it("takes the password from standard input when USER has no :PASS, and fails with 3 on a wrong one", async () => {
    const copied = await runCli(home, [
      "--password-stdin",
      "copy",
      "--src-creds",
      "alice:alice:pass",
      "--dest-creds",
      "bob",
      `${source.host}/team/app:v1`,
      `${target.host}/stdin/app:v1`
    ], { input: "bob-pass\n" })
    assert.strictEqual(copied.code, 0, copied.stderr)
    const wrong = await runCli(home, [
      "--json",
      "copy",
      "--src-creds",
      "alice:alice:pass",
      "--dest-creds",
      "bob:nope",
      `${source.host}/team/app:v1`,
      `${target.host}/wrong/app:v1`
    ])
    assert.strictEqual(wrong.code, 3)
    assert.strictEqual(JSON.parse(wrong.stderr).registry, target.host)
    const noPassword = await runCli(home, ["copy", "--dest-creds", "bob", `${source.host}/a:v1`, `${target.host}/b:v1`])
    assert.strictEqual(noPassword.code, 2)
    const sameHost = await runCli(home, [
      "copy",
      "--src-creds",
      "alice:x",
      "--dest-creds",
      "bob:y",
      `${source.host}/a:v1`,
      `${source.host}/b:v1`
    ])
    assert.strictEqual(sameHost.code, 2)
    assert.include(sameHost.stderr, "one credential per registry")
  })

  it("uses --authfile as the only credential file", async () => {
    const authfile = path.join(home, "auth.json")
    await fs.writeFile(
      authfile,
      JSON.stringify({
        auths: {
          [source.host]: { auth: Buffer.from("alice:alice:pass").toString("base64") },
          [target.host]: { auth: Buffer.from("bob:bob-pass").toString("base64") }
        }
      })
    )
    const copied = await runCli(home, [
      "--json",
      "--authfile",
      authfile,
      "copy",
      `${source.host}/team/app:v1`,
      `${target.host}/authfile/app:v1`
    ])
    assert.strictEqual(copied.code, 0, copied.stderr)
    assert.strictEqual(JSON.parse(copied.stdout).digest, image.root.digest)
    const tags = await runCli(home, ["--json", "--authfile", authfile, "tags", `${target.host}/authfile/app`])
    assert.deepStrictEqual(JSON.parse(tags.stdout), ["v1"])
    const without = await runCli(home, ["tags", `${target.host}/authfile/app`])
    assert.strictEqual(without.code, 3)
  })
})
