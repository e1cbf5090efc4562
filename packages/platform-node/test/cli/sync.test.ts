/**
 * `ocireg sync`: 20 repositories from a RegistryServer into docker-registry, twice (the second
 * run moves nothing), with a dry run first and tag filters; and a whole-registry sync (`type:
 * registry`, from the catalog) of a 20-repository docker-registry into another, twice, with every
 * request counted by a proxy in front of each registry and the result checked with skopeo.
 */
import { assert } from "@effect/vitest"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { afterAll, beforeAll, describe, it } from "vitest"
import {
  describeIntegration,
  type FaultProxy,
  type RunningRegistry,
  skopeoInspect,
  startFaultProxy,
  startRegistry
} from "../../../../test-support/index.js"
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

describeIntegration("sync of a whole registry", ["docker-registry", "skopeo"], () => {
  let home: string
  let seedSource: TestServer
  let registries: Array<RunningRegistry> = []
  let proxies: Array<FaultProxy> = []
  const writes = (proxy: FaultProxy) => proxy.log().filter((e) => ["PUT", "POST", "PATCH"].includes(e.method))
  const blobGets = (proxy: FaultProxy) => proxy.log().filter((e) => e.method === "GET" && e.path.includes("/blobs/"))

  beforeAll(async () => {
    await requireBin()
    home = await tempHome()
    seedSource = await startServer()
    for (let i = 0; i < 20; i++) {
      for (const tag of ["v1", "v2"]) storeImage(seedSource.registry, `team/app${i}`, tag, { layers: [`${i} ${tag}`] })
    }
    registries = [await startRegistry({ auth: "none" }), await startRegistry({ auth: "none" })]
    proxies = await Promise.all(registries.map((r) => startFaultProxy({ target: r.url })))
  }, 120_000)

  afterAll(async () => {
    for (const proxy of proxies) await proxy.stop()
    for (const registry of registries) await registry.stop()
    await seedSource?.stop()
    if (home) await fs.rm(home, { recursive: true, force: true })
  })

  it("mirrors every repository of the catalog; the second run moves nothing", async () => {
    const [a, b] = proxies as [FaultProxy, FaultProxy]
    // seed registry A from the in-memory server's catalog (a whole-registry sync too)
    const seed = path.join(home, "seed.yaml")
    await fs.writeFile(seed, `sync:\n  - type: registry\n    source: ${seedSource.host}\n    target: ${a.host}\n`)
    const seeded = await runCli(home, ["--json", "sync", seed])
    assert.strictEqual(seeded.code, 0, seeded.stderr)
    assert.deepStrictEqual(
      (({ copied, failed, repositories }) => ({ repositories, copied, failed }))(JSON.parse(seeded.stdout)),
      { repositories: 20, copied: 40, failed: 0 }
    )

    const config = path.join(home, "registry.yaml")
    await fs.writeFile(
      config,
      ["sync:", "  - type: registry", `    source: ${a.host}`, `    target: ${b.host}/mirror`, ""].join("\n")
    )
    const dry = await runCli(home, ["--json", "sync", "--dry-run", config])
    assert.strictEqual(dry.code, 0, dry.stderr)
    assert.deepStrictEqual([JSON.parse(dry.stdout).repositories, JSON.parse(dry.stdout).planned], [20, 40])
    assert.strictEqual(writes(b).length, 0, "a dry run writes nothing")

    a.resetLog()
    b.resetLog()
    const first = await runCli(home, ["--json", "sync", config])
    assert.strictEqual(first.code, 0, first.stderr)
    const summary = JSON.parse(first.stdout)
    assert.deepStrictEqual([summary.repositories, summary.copied, summary.skipped, summary.failed], [20, 40, 0, 0])
    assert.isAbove(summary.bytesUploaded, 0)
    const firstWrites = writes(b).length
    // at least a manifest PUT per tag and a blob upload per distinct blob
    assert.isAtLeast(firstWrites, 40)
    assert.isAbove(blobGets(a).length, 0)

    a.resetLog()
    b.resetLog()
    const second = await runCli(home, ["--json", "sync", config])
    assert.strictEqual(second.code, 0, second.stderr)
    const again = JSON.parse(second.stdout)
    assert.deepStrictEqual([again.repositories, again.copied, again.skipped, again.bytesUploaded], [20, 0, 40, 0])
    assert.strictEqual(writes(b).length, 0, "the second run writes nothing to the target")
    assert.strictEqual(blobGets(a).length, 0, "the second run reads no blob from the source")
    // what it did: the catalog, a tag list per repository, a manifest HEAD per tag on each side
    assert.isAtMost(a.log().length + b.log().length, 4 * (1 + 20 + 40 * 2), JSON.stringify(a.log().length))
    console.log(
      `whole-registry sync: first run ${firstWrites} writes to the target; second run ${a.log().length} requests ` +
        `to the source, ${b.log().length} to the target, 0 writes`
    )

    for (const i of [0, 19]) {
      const source = await skopeoInspect(`docker://${registries[0]!.host}/team/app${i}:v2`, { raw: true })
      const mirrored = await skopeoInspect(`docker://${registries[1]!.host}/mirror/team/app${i}:v2`, { raw: true })
      assert.strictEqual(mirrored.stdout, source.stdout, `mirror/team/app${i}:v2 is byte for byte the source`)
    }
  }, 300_000)

  it("a registry source must be a host, and repositories filters need type: registry", async () => {
    const bad = path.join(home, "bad-registry.yaml")
    await fs.writeFile(bad, "sync:\n  - { type: registry, source: a.test/b, target: c.test }\n")
    const run = await runCli(home, ["--json", "sync", bad])
    assert.strictEqual(run.code, 2, run.stderr)
    assert.include(JSON.parse(run.stderr).message, "is a host")
    await fs.writeFile(bad, "sync:\n  - { source: a.test/b, target: c.test/d, repositories: { include: [x] } }\n")
    assert.strictEqual((await runCli(home, ["sync", bad])).code, 2)
  })
})

describe("sync file pathPrefix", () => {
  it(
    "reaches a registry under a path prefix (Artifactory) as the file says; a bad prefix is a usage error",
    async () => {
      await requireBin()
      const home = await tempHome()
      const server = await startServer({ dialect: "artifactory", auth: "none" })
      try {
        for (const name of ["team/a", "team/b"]) storeImage(server.registry, name, "v1", { layers: [name] })
        const config = path.join(home, "art.yaml")
        const body = (prefix: string) =>
          [
            "pathPrefix:",
            `  ${server.host}: ${prefix}`,
            "sync:",
            "  - type: registry",
            `    source: ${server.host}`,
            `    target: ${server.host}/mirror`,
            "    repositories: { include: [\"^team/\"] }",
            ""
          ].join("\n")
        await fs.writeFile(config, body(RegistryTest.artifactoryPrefix))
        const run = await runCli(home, ["--json", "sync", config])
        assert.strictEqual(run.code, 0, run.stderr)
        assert.deepStrictEqual((({ copied, repositories }) => [repositories, copied])(JSON.parse(run.stdout)), [2, 2])
        assert.isTrue(server.registry.tags("mirror/team/b").has("v1"))
        await fs.writeFile(config, body("/a/../b"))
        assert.strictEqual((await runCli(home, ["sync", config])).code, 2)
      } finally {
        await server.stop()
        await fs.rm(home, { recursive: true, force: true })
      }
    },
    120_000
  )
})
