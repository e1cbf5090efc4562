/**
 * `ocireg index create|add|remove` against docker-registry, read back by ocireg and skopeo.
 */
import { assert } from "@effect/vitest"
import * as fs from "node:fs/promises"
import { afterAll, beforeAll, it } from "vitest"
import {
  describeIntegration,
  type RunningRegistry,
  type SeededImage,
  seedImage,
  skopeoInspect,
  startRegistry
} from "../../../../test-support/index.js"
import { requireBin, runCli, tempHome } from "./support.js"

describeIntegration("index commands", ["docker-registry", "skopeo"], () => {
  let home: string
  let registry: RunningRegistry
  const images: Record<string, SeededImage> = {}

  beforeAll(async () => {
    await requireBin()
    home = await tempHome()
    registry = await startRegistry({ auth: "none" })
    images.amd = await seedImage(registry, "build/amd", "v1", { platforms: ["linux/amd64"], layers: 1, layerSize: 512 })
    images.arm = await seedImage(registry, "build/arm", "v1", {
      platforms: ["linux/arm64/v8"],
      layers: 1,
      layerSize: 512
    })
    images.ppc = await seedImage(registry, "build/ppc", "v1", {
      platforms: ["linux/ppc64le"],
      layers: 1,
      layerSize: 512
    })
  }, 120_000)

  afterAll(async () => {
    await registry?.stop()
    if (home) await fs.rm(home, { recursive: true, force: true })
  })

  const childDigest = (image: SeededImage) => image.manifests[0]!.descriptor.digest

  it("creates an index that skopeo reads, adds a platform and removes one", async () => {
    const host = registry.host
    const created = await runCli(home, [
      "--json",
      "index",
      "create",
      "--annotation",
      "org.opencontainers.image.version=1.0",
      `${host}/team/multi:v1`,
      `${host}/build/amd:v1`,
      `${host}/build/arm:v1`
    ])
    assert.strictEqual(created.code, 0, created.stderr)
    const made = JSON.parse(created.stdout)
    const raw = await skopeoInspect(`docker://${host}/team/multi:v1`, { raw: true })
    const index = raw.json as {
      manifests: Array<{ digest: string; platform: { architecture: string; variant?: string } }>
      annotations: Record<string, string>
    }
    assert.strictEqual(
      made.digest,
      `sha256:${(await import("node:crypto")).createHash("sha256").update(raw.stdout).digest("hex")}`
    )
    assert.deepStrictEqual(index.manifests.map((m) => m.digest), [childDigest(images.amd!), childDigest(images.arm!)])
    assert.strictEqual(index.manifests[1]!.platform.variant, "v8")
    assert.strictEqual(index.annotations["org.opencontainers.image.version"], "1.0")
    const armDigest = await runCli(home, ["--platform", "linux/arm64", "digest", `${host}/team/multi:v1`])
    assert.strictEqual(armDigest.stdout.trim(), childDigest(images.arm!))

    const added = await runCli(home, ["--json", "index", "add", `${host}/team/multi:v1`, `${host}/build/ppc:v1`])
    assert.strictEqual(added.code, 0, added.stderr)
    const inspect = JSON.parse((await runCli(home, ["--json", "inspect", `${host}/team/multi:v1`])).stdout)
    assert.deepStrictEqual(inspect.platforms.map((p: { platform: string }) => p.platform), [
      "linux/amd64",
      "linux/arm64/v8",
      "linux/ppc64le"
    ])
    const removed = await runCli(home, ["index", "remove", `${host}/team/multi:v1`, "linux/amd64"])
    assert.strictEqual(removed.code, 0, removed.stderr)
    assert.notInclude(removed.stdout, childDigest(images.amd!))
    assert.include(removed.stdout, childDigest(images.ppc!))
    const bad = await runCli(home, ["index", "remove", `${host}/team/multi:v1`, "amd64"])
    assert.strictEqual(bad.code, 2)
  })
})
