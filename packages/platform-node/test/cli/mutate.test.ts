/**
 * `ocireg append` and `ocireg mutate` against docker-registry, read back with skopeo: labels,
 * env, diff_ids and layer counts as skopeo sees them, untouched config bytes kept, and an
 * appended gzip layer's diff_id equal to the sha256 of its uncompressed tar.
 */
import { assert } from "@effect/vitest"
import * as crypto from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { afterAll, beforeAll, it } from "vitest"
import {
  describeIntegration,
  exec,
  type RunningRegistry,
  seedImage,
  skopeoCopy,
  skopeoInspect,
  startRegistry,
  tarWithOneFile
} from "../../../../test-support/index.js"
import { requireBin, runCli, tempHome } from "./support.js"

const sha256 = (bytes: Uint8Array | string) => `sha256:${crypto.createHash("sha256").update(bytes).digest("hex")}`

/** `skopeo inspect --config --raw`: the config blob's exact bytes. */
const skopeoConfig = async (ref: string) =>
  (await exec("skopeo", ["--insecure-policy", "inspect", "--tls-verify=false", "--no-creds", "--config", "--raw", ref]))
    .stdout

/** The config of the base image: an unknown field, odd key order, and a history. */
const baseConfig = (diffId: string) =>
  `{"zeta":"first","architecture":"amd64","os":"linux","x-ocireg-test":{"keep":[1,"two",null]},` +
  `"config":{"Env":["PATH=/usr/bin:/bin","MODE=base"],"Labels":{"base":"yes"}},` +
  `"rootfs":{"type":"layers","diff_ids":["${diffId}"]},"history":[{"created_by":"base layer"}]}`

/** Write an OCI layout holding one image with `config` (bytes as given) and one uncompressed layer. */
const writeLayout = async (dir: string, layer: Uint8Array, config: string) => {
  const blobs = path.join(dir, "blobs", "sha256")
  await fs.mkdir(blobs, { recursive: true })
  const put = async (bytes: Uint8Array | string) => {
    const digest = sha256(bytes)
    await fs.writeFile(path.join(blobs, digest.slice(7)), bytes)
    return { digest, size: Buffer.byteLength(bytes) }
  }
  const layerBlob = await put(layer)
  const configBlob = await put(config)
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...configBlob },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layerBlob }]
  })
  const manifestBlob = await put(manifest)
  await fs.writeFile(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }))
  await fs.writeFile(
    path.join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        ...manifestBlob,
        annotations: { "org.opencontainers.image.ref.name": "v1" }
      }]
    })
  )
}

describeIntegration("append and mutate commands", ["docker-registry", "skopeo"], () => {
  let home: string
  let registry: RunningRegistry
  const baseLayer = tarWithOneFile("etc/base.txt", new TextEncoder().encode("base\n"))

  beforeAll(async () => {
    await requireBin()
    home = await tempHome()
    registry = await startRegistry({ auth: "none" })
    const layout = path.join(home, "base-layout")
    await writeLayout(layout, baseLayer, baseConfig(sha256(baseLayer)))
    await skopeoCopy(`oci:${layout}:v1`, `docker://${registry.host}/team/base:v1`, { preserveDigests: true })
  }, 120_000)

  afterAll(async () => {
    await registry?.stop()
    if (home) await fs.rm(home, { recursive: true, force: true })
  })

  it("appends a gzip and a plain tar; skopeo reads the layers, diff_ids and the untouched config fields", async () => {
    const host = registry.host
    const before = await skopeoConfig(`docker://${host}/team/base:v1`)
    assert.strictEqual(before, baseConfig(sha256(baseLayer)))
    const tar = tarWithOneFile("app/hello.txt", crypto.randomBytes(100_000))
    const gz = zlib.gzipSync(tar)
    const plain = tarWithOneFile("app/plain.txt", new TextEncoder().encode("plain\n"))
    await fs.writeFile(path.join(home, "layer.tar.gz"), gz)
    await fs.writeFile(path.join(home, "plain.tar"), plain)
    const appended = await runCli(home, [
      "--json",
      "append",
      "--base",
      `${host}/team/base:v1`,
      "-t",
      `${host}/team/app:v2`,
      "-f",
      path.join(home, "layer.tar.gz"),
      "-f",
      path.join(home, "plain.tar"),
      "--created",
      "2026-12-03T12:00:00Z"
    ])
    assert.strictEqual(appended.code, 0, appended.stderr)
    const made = JSON.parse(appended.stdout)
    const raw = await skopeoInspect(`docker://${host}/team/app:v2`, { raw: true })
    assert.strictEqual(made.digest, sha256(raw.stdout))
    const manifest = raw.json as { layers: Array<{ mediaType: string; digest: string }> }
    assert.deepStrictEqual(manifest.layers.map((l) => l.mediaType), [
      "application/vnd.oci.image.layer.v1.tar",
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.v1.tar"
    ])
    assert.strictEqual(manifest.layers[1]!.digest, sha256(gz))
    const configBytes = await skopeoConfig(`docker://${host}/team/app:v2`)
    const config = JSON.parse(configBytes)
    // the gzip layer's diff_id is the sha256 of the tar inside it, not of the gzip
    assert.deepStrictEqual(config.rootfs.diff_ids, [sha256(baseLayer), sha256(tar), sha256(plain)])
    // every other byte is the base's: rebuild the expected config from the base's own bytes
    const expected = JSON.parse(before)
    expected.rootfs.diff_ids.push(sha256(tar), sha256(plain))
    expected.history.push(
      { created: "2026-12-03T12:00:00Z", created_by: "ocireg append -f layer.tar.gz" },
      { created: "2026-12-03T12:00:00Z", created_by: "ocireg append -f plain.tar" }
    )
    assert.strictEqual(configBytes, JSON.stringify(expected))
    // skopeo's own summary agrees
    const summary = (await skopeoInspect(`docker://${host}/team/app:v2`)).json as { Layers: Array<string> }
    assert.strictEqual(summary.Layers.length, 3)
  }, 180_000)

  it("mutates labels, env, entrypoint, cmd, user, workdir, annotations and created, keeping the rest", async () => {
    const host = registry.host
    const mutated = await runCli(home, [
      "--json",
      "mutate",
      `${host}/team/base:v1`,
      "--label",
      "org.opencontainers.image.version=1.2",
      "--env",
      "MODE=prod",
      "--env",
      "EXTRA=a=b",
      "--entrypoint",
      "/bin/sh,-c",
      "--cmd",
      "[\"echo a,b\"]",
      "--user",
      "1000:1000",
      "--workdir",
      "/srv",
      "--exposed-ports",
      "8080,53/udp",
      "--annotation",
      "org.example.note=mutated",
      "--created",
      "2026-12-03T13:00:00Z",
      "-t",
      `${host}/team/base:mutated`
    ])
    assert.strictEqual(mutated.code, 0, mutated.stderr)
    const made = JSON.parse(mutated.stdout)
    const summary = (await skopeoInspect(`docker://${host}/team/base:mutated`)).json as {
      Digest: string
      Labels: Record<string, string>
      Env: Array<string>
      Layers: Array<string>
      Created: string
    }
    assert.strictEqual(summary.Digest, made.digest)
    assert.deepStrictEqual(summary.Labels, { base: "yes", "org.opencontainers.image.version": "1.2" })
    assert.deepStrictEqual(summary.Env, ["PATH=/usr/bin:/bin", "MODE=prod", "EXTRA=a=b"])
    assert.deepStrictEqual(summary.Layers, [sha256(baseLayer)])
    assert.strictEqual(new Date(summary.Created).toISOString(), "2026-12-03T13:00:00.000Z")
    const config = JSON.parse(await skopeoConfig(`docker://${host}/team/base:mutated`))
    assert.deepStrictEqual(Object.keys(config), [
      "zeta",
      "architecture",
      "os",
      "x-ocireg-test",
      "config",
      "rootfs",
      "history",
      "created"
    ])
    assert.deepStrictEqual(config["x-ocireg-test"], { keep: [1, "two", null] })
    assert.deepStrictEqual(config.config.Entrypoint, ["/bin/sh", "-c"])
    assert.deepStrictEqual(config.config.Cmd, ["echo a,b"])
    assert.strictEqual(config.config.User, "1000:1000")
    assert.strictEqual(config.config.WorkingDir, "/srv")
    assert.deepStrictEqual(config.config.ExposedPorts, { "8080/tcp": {}, "53/udp": {} })
    const raw = (await skopeoInspect(`docker://${host}/team/base:mutated`, { raw: true })).json as {
      annotations: Record<string, string>
    }
    assert.strictEqual(raw.annotations["org.example.note"], "mutated")
    // without -t the tag itself moves; the source tag was left alone above
    const again = await runCli(home, ["--json", "mutate", `${host}/team/base:mutated`, "--user", "root"])
    assert.strictEqual(again.code, 0, again.stderr)
    const moved = (await skopeoInspect(`docker://${host}/team/base:mutated`)).json as { Digest: string }
    assert.strictEqual(moved.Digest, JSON.parse(again.stdout).digest)
    const base = (await skopeoInspect(`docker://${host}/team/base:v1`)).json as { Labels: Record<string, string> }
    assert.deepStrictEqual(base.Labels, { base: "yes" })
  }, 180_000)

  it("mutates one platform of an index, makes docker images on scratch, and reports bad input", async () => {
    const host = registry.host
    const seeded = await seedImage(registry, "team/multi", "v1", {
      platforms: ["linux/amd64", "linux/arm64"],
      layers: 1,
      layerSize: 256
    })
    const one = await runCli(home, [
      "--json",
      "--platform",
      "linux/arm64",
      "mutate",
      `${host}/team/multi:v1`,
      "-l",
      "k=v"
    ])
    assert.strictEqual(one.code, 0, one.stderr)
    const index = (await skopeoInspect(`docker://${host}/team/multi:v1`, { raw: true })).json as {
      manifests: Array<{ digest: string }>
    }
    assert.strictEqual(index.manifests[0]!.digest, seeded.manifests[0]!.descriptor.digest)
    assert.strictEqual(index.manifests[1]!.digest, JSON.parse(one.stdout).images[0].digest)
    const arm = (await skopeoInspect(`docker://${host}/team/multi@${index.manifests[1]!.digest}`)).json as {
      Labels: Record<string, string>
    }
    assert.strictEqual(arm.Labels.k, "v")

    const tar = tarWithOneFile("only.txt", new TextEncoder().encode("only\n"))
    await fs.writeFile(path.join(home, "only.tar.gz"), zlib.gzipSync(tar))
    const scratch = await runCli(home, [
      "append",
      "--scratch-format",
      "docker",
      "-t",
      `${host}/team/scratch:v1`,
      "-f",
      path.join(home, "only.tar.gz")
    ])
    assert.strictEqual(scratch.code, 0, scratch.stderr)
    const raw = (await skopeoInspect(`docker://${host}/team/scratch:v1`, { raw: true })).json as {
      mediaType: string
      layers: Array<{ mediaType: string }>
    }
    assert.strictEqual(raw.mediaType, "application/vnd.docker.distribution.manifest.v2+json")
    assert.deepStrictEqual(raw.layers.map((l) => l.mediaType), ["application/vnd.docker.image.rootfs.diff.tar.gzip"])
    const config = JSON.parse(await skopeoConfig(`docker://${host}/team/scratch:v1`))
    assert.deepStrictEqual(config.rootfs.diff_ids, [sha256(tar)])

    await fs.writeFile(path.join(home, "notes.txt"), "not a tar archive\n".repeat(64))
    const notTar = await runCli(home, [
      "--json",
      "append",
      "-t",
      `${host}/team/bad:v1`,
      "-f",
      path.join(home, "notes.txt")
    ])
    assert.strictEqual(notTar.code, 1)
    const error = JSON.parse(notTar.stderr)
    assert.strictEqual(error.error, "ImageMutateError")
    assert.strictEqual(error.reason, "NotATar")
    const nothing = await runCli(home, ["mutate", `${host}/team/base:v1`])
    assert.strictEqual(nothing.code, 2)
    const unknown = await runCli(home, ["--platform", "linux/s390x", "mutate", `${host}/team/multi:v1`, "-l", "a=b"])
    assert.strictEqual(unknown.code, 1)
    assert.include(unknown.stderr, "UnknownPlatform")
  }, 180_000)
})
