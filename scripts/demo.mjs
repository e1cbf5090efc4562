#!/usr/bin/env node
// The ocireg demo: start the embedded registry on a loopback port, push a generated
// multi-platform image with the CLI, list its tags, inspect it, copy it to another repository,
// pull it to an OCI layout with verification, and delete a tag, printing each step.
// Needs nothing but Node and a build (npm run demo builds first).
import { execFile, spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const bin = fileURLToPath(new URL("../packages/platform-node/dist/ocireg.mjs", import.meta.url))
const sha256 = (bytes) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

/** A tar archive holding one file (512-byte header, data, padding, two zero blocks). */
const tar = (name, data) => {
  const header = Buffer.alloc(512)
  header.write(name, 0, 100)
  header.write("0000644\0", 100)
  header.write("0000000\0", 108)
  header.write("0000000\0", 116)
  header.write(data.length.toString(8).padStart(11, "0") + "\0", 124)
  header.write("00000000000\0", 136)
  header.write("        ", 148)
  header.write("0", 156)
  header.write("ustar\0", 257)
  header.write("00", 263)
  let sum = 0
  for (const byte of header) sum += byte
  header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148)
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512)
  return Buffer.concat([header, data, padding, Buffer.alloc(1024)])
}

/** Write an OCI image layout with one small image per platform under an index tagged `tag`. */
const generateLayout = async (dir, tag, platforms) => {
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true })
  const put = async (bytes) => {
    const digest = sha256(bytes)
    await writeFile(join(dir, "blobs", "sha256", digest.slice(7)), bytes)
    return { digest, size: bytes.length }
  }
  const manifests = []
  for (const platform of platforms) {
    const [os, architecture, variant] = platform.split("/")
    const layer = tar("hello.txt", Buffer.concat([Buffer.from(`hello from ${platform}\n`), randomBytes(256 * 1024)]))
    const layerDesc = await put(layer)
    const config = Buffer.from(JSON.stringify({
      architecture,
      os,
      ...(variant ? { variant } : {}),
      created: new Date().toISOString(),
      rootfs: { type: "layers", diff_ids: [layerDesc.digest] },
      config: { Cmd: ["cat", "/hello.txt"] }
    }))
    const configDesc = await put(config)
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...configDesc },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layerDesc }]
    }))
    manifests.push({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      ...(await put(manifest)),
      platform: { architecture, os, ...(variant ? { variant } : {}) }
    })
  }
  const index = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests })
  )
  const indexDesc = await put(index)
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }))
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{
        mediaType: "application/vnd.oci.image.index.v1+json",
        ...indexDesc,
        annotations: { "org.opencontainers.image.ref.name": tag }
      }]
    })
  )
  return indexDesc.digest
}

const run = (args) =>
  new Promise((resolve, reject) => {
    execFile(process.execPath, [bin, ...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`ocireg ${args.join(" ")} failed (exit ${error.code}): ${stderr.trim()}`))
      else resolve(stdout)
    })
  })

const step = async (title, args) => {
  console.log(`\n$ ocireg ${args.join(" ")}    # ${title}`)
  const out = await run(args)
  process.stdout.write(out.endsWith("\n") || out === "" ? out : `${out}\n`)
  return out
}

const work = await mkdtemp(join(tmpdir(), "ocireg-demo-"))
const server = spawn(process.execPath, [bin, "--json", "registry", "serve"], { stdio: ["ignore", "pipe", "inherit"] })
try {
  const host = await new Promise((resolve, reject) => {
    let text = ""
    const timer = setTimeout(() => reject(new Error("the registry did not start within 10 s")), 10_000)
    server.stdout.on("data", (chunk) => {
      text += chunk
      const match = /"host":\s*"([^"]+)"/.exec(text)
      if (match) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    server.once("exit", (code) => reject(new Error(`the registry exited with ${code}`)))
  })
  console.log(`embedded registry listening on http://${host}`)

  const layout = join(work, "generated")
  const digest = await generateLayout(layout, "v1", ["linux/amd64", "linux/arm64/v8"])
  console.log(`generated a two-platform image in ${layout} (${digest})`)

  await step("push the generated image", ["push", `${layout}:v1`, `${host}/demo/hello:v1`])
  await step("list its tags", ["tags", `${host}/demo/hello`])
  await step("inspect it (arm64)", ["--platform", "linux/arm64", "inspect", `${host}/demo/hello:v1`])
  await step("copy it to another repository (blobs are mounted)", [
    "copy",
    `${host}/demo/hello:v1`,
    `${host}/demo/copy:v1`
  ])
  await step("tag the copy", ["tag", `${host}/demo/copy:v1`, "stable"])
  const pulled = join(work, "pulled")
  await step("pull it to an OCI layout, verifying every digest", ["pull", `${host}/demo/copy:stable`, pulled])
  console.log(`  ${(await readdir(join(pulled, "blobs", "sha256"))).length} blobs in ${pulled}`)
  await step("delete the tag v1 of the copy", ["delete", "--tag-only", `${host}/demo/copy:v1`])
  await step("the copy's tags now", ["tags", `${host}/demo/copy`])
  await step("the digest is still the generated one", ["digest", `${host}/demo/copy:stable`])
  console.log("\ndemo finished")
} finally {
  server.kill()
  await rm(work, { recursive: true, force: true })
}
