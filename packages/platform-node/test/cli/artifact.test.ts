/**
 * `ocireg artifact push|pull`, `attach`, `discover` against docker-registry (no referrers API:
 * the fallback tag), with skopeo reading the pushed artifact manifest.
 */
import { assert } from "@effect/vitest"
import * as crypto from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
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

describeIntegration("artifact commands", ["docker-registry", "skopeo"], () => {
  let home: string
  let registry: RunningRegistry
  let image: SeededImage

  beforeAll(async () => {
    await requireBin()
    home = await tempHome()
    registry = await startRegistry({ auth: "none" })
    image = await seedImage(registry, "team/app", "v1", { layers: 1, layerSize: 256 })
  }, 120_000)

  afterAll(async () => {
    await registry?.stop()
    if (home) await fs.rm(home, { recursive: true, force: true })
  })

  it("pushes an artifact skopeo reads, and pulls its files back by title", async () => {
    const host = registry.host
    const src = path.join(home, "src")
    await fs.mkdir(src)
    await fs.writeFile(path.join(src, "sbom.json"), "{\"packages\":[]}")
    await fs.writeFile(path.join(src, "notes.txt"), "notes")
    const pushed = await runCli(home, [
      "--json",
      "artifact",
      "push",
      "--artifact-type",
      "application/vnd.example.bundle",
      `${host}/team/bundle:v1`,
      `${path.join(src, "sbom.json")}:application/spdx+json`,
      path.join(src, "notes.txt")
    ])
    assert.strictEqual(pushed.code, 0, pushed.stderr)
    const raw = await skopeoInspect(`docker://${host}/team/bundle:v1`, { raw: true })
    assert.strictEqual(
      `sha256:${crypto.createHash("sha256").update(raw.stdout).digest("hex")}`,
      JSON.parse(pushed.stdout).digest
    )
    const manifest = raw.json as {
      artifactType: string
      layers: Array<{ mediaType: string; annotations: Record<string, string> }>
    }
    assert.strictEqual(manifest.artifactType, "application/vnd.example.bundle")
    assert.deepStrictEqual(manifest.layers.map((l) => [l.mediaType, l.annotations["org.opencontainers.image.title"]]), [
      ["application/spdx+json", "sbom.json"],
      ["application/vnd.oci.image.layer.v1.tar", "notes.txt"]
    ])
    const out = path.join(home, "out")
    const pulled = await runCli(home, ["artifact", "pull", "-o", out, `${host}/team/bundle:v1`])
    assert.strictEqual(pulled.code, 0, pulled.stderr)
    assert.strictEqual(await fs.readFile(path.join(out, "sbom.json"), "utf8"), "{\"packages\":[]}")
    assert.strictEqual(await fs.readFile(path.join(out, "notes.txt"), "utf8"), "notes")
  })

  it("attaches to an image and discovers the tree through the fallback tag", async () => {
    const host = registry.host
    const sig = path.join(home, "sig.bin")
    await fs.writeFile(sig, "signature")
    const sbom = path.join(home, "sbom.spdx")
    await fs.writeFile(sbom, "spdx")
    const attached = await runCli(home, [
      "--json",
      "attach",
      "--subject",
      `${host}/team/app:v1`,
      "--artifact-type",
      "application/spdx+json",
      sbom
    ])
    assert.strictEqual(attached.code, 0, attached.stderr)
    const sbomDigest = JSON.parse(attached.stdout).digest as string
    const signed = await runCli(home, [
      "attach",
      "--subject",
      `${host}/team/app@${sbomDigest}`,
      "--artifact-type",
      "application/vnd.example.signature",
      sig
    ])
    assert.strictEqual(signed.code, 0, signed.stderr)
    const tree = await runCli(home, ["discover", `${host}/team/app:v1`])
    assert.strictEqual(tree.code, 0, tree.stderr)
    const lines = tree.stdout.trim().split("\n")
    assert.strictEqual(lines[0], `${host}/team/app:v1@${image.root.digest}`)
    assert.match(lines[1]!, new RegExp(`^└── ${sbomDigest} application/spdx\\+json$`))
    assert.match(lines[2]!, /^ {4}└── sha256:[0-9a-f]{64} application\/vnd\.example\.signature$/)
    const json = JSON.parse((await runCli(home, ["--json", "discover", `${host}/team/app:v1`])).stdout)
    assert.strictEqual(json.referrers[0].descriptor.digest, sbomDigest)
    const referrers = await runCli(home, ["--json", "referrers", `${host}/team/app:v1`])
    assert.deepStrictEqual(JSON.parse(referrers.stdout).map((d: { digest: string }) => d.digest), [sbomDigest])
  })
})
