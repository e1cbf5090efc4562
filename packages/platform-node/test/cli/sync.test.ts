/**
 * `ocireg sync`: 20 repositories from a RegistryServer into docker-registry, twice (the second
 * run moves nothing), with a dry run first and tag filters.
 */
import { assert } from "@effect/vitest"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { afterAll, beforeAll, it } from "vitest"
import { describeIntegration, type RunningRegistry, startRegistry } from "../../../../test-support/index.js"
import { requireBin, runCli, startServer, storeImage, tempHome, type TestServer } from "./support.js"

describeIntegration("sync", ["docker-registry"], () => {
  let home: string
  let source: TestServer
  let target: RunningRegistry
  let config: string

  beforeAll(async () => {
    await requireBin()
    home = await tempHome()
    source = await startServer()
    target = await startRegistry({ auth: "none" })
    const lines = ["defaults:", "  tags:", "    exclude: [\"^dev\"]", "sync:"]
    for (let i = 0; i < 20; i++) {
      for (const tag of ["v1", "v2", "dev"]) {
        storeImage(source.registry, `team/app${i}`, tag, { layers: [`${i} ${tag}`] })
      }
      lines.push(`  - source: ${source.host}/team/app${i}`, `    target: ${target.host}/mirror/app${i}`)
    }
    config = path.join(home, "sync.yaml")
    await fs.writeFile(config, lines.join("\n") + "\n")
  }, 120_000)

  afterAll(async () => {
    await source?.stop()
    await target?.stop()
    if (home) await fs.rm(home, { recursive: true, force: true })
  })

  it("mirrors 20 repositories; a second run moves nothing", async () => {
    const dry = await runCli(home, ["--json", "sync", "--dry-run", config])
    assert.strictEqual(dry.code, 0, dry.stderr)
    assert.deepStrictEqual(
      (({ copied, planned, repositories, tags }) => ({ repositories, tags, copied, planned }))(JSON.parse(dry.stdout)),
      { repositories: 20, tags: 40, copied: 0, planned: 40 }
    )
    const first = await runCli(home, ["--json", "sync", config])
    assert.strictEqual(first.code, 0, first.stderr)
    const summary = JSON.parse(first.stdout)
    assert.deepStrictEqual([summary.copied, summary.skipped, summary.failed], [40, 0, 0])
    assert.isAbove(summary.bytesUploaded, 0)
    const tags = await runCli(home, ["--json", "tags", `${target.host}/mirror/app19`])
    assert.deepStrictEqual(JSON.parse(tags.stdout).sort(), ["v1", "v2"])
    const second = await runCli(home, ["sync", config])
    assert.strictEqual(second.code, 0, second.stderr)
    assert.strictEqual(
      second.stdout.trim(),
      "20 repositories, 40 tags: 0 copied (0 B uploaded), 40 already there, 0 to copy, 0 failed"
    )
    assert.strictEqual(second.stderr, "", "no per-tag lines: nothing copied")
  }, 300_000)

  it("refuses a malformed sync file as a usage error", async () => {
    const bad = path.join(home, "bad.yaml")
    await fs.writeFile(bad, "sync:\n  - source: a\n")
    const run = await runCli(home, ["--json", "sync", bad])
    assert.strictEqual(run.code, 2)
    assert.include(JSON.parse(run.stderr).message, "target")
    await fs.writeFile(bad, "sync:\n  - { source: a/b, target: c/d, tags: { include: [\"(\"] } }\n")
    assert.strictEqual((await runCli(home, ["sync", bad])).code, 2)
  })
})
