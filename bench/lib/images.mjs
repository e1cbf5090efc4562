// What the benchmark cases need in the registries, made without ocireg (so the code under test does
// not seed its own input): a large random blob file, small random blobs, OCI manifests and configs,
// uploads by plain HTTP (and curl for the large blob), 10,000 tags, and skopeo `dir:` layouts.
import * as crypto from "node:crypto"
import { createReadStream } from "node:fs"
import * as fs from "node:fs/promises"
import * as http from "node:http"
import * as path from "node:path"

export const MediaType = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar"
}

export const sha256 = (bytes) => "sha256:" + crypto.createHash("sha256").update(bytes).digest("hex")

/**
 * Write `size` random-looking bytes to `file` (a 1 MiB random block made unique per MiB by a
 * counter), hashing as it goes. Resolves with `{ digest, size, path }`.
 */
export const generateLargeBlobFile = async (file, size) => {
  const block = crypto.randomBytes(1024 * 1024)
  const hash = crypto.createHash("sha256")
  const fh = await fs.open(file, "w")
  try {
    let written = 0
    let counter = 0n
    while (written < size) {
      block.writeBigUInt64LE(counter++, 0)
      const n = Math.min(block.length, size - written)
      const chunk = n === block.length ? block : block.subarray(0, n)
      hash.update(chunk)
      await fh.write(chunk, 0, n)
      written += n
    }
  } finally {
    await fh.close()
  }
  return { digest: "sha256:" + hash.digest("hex"), size, path: file }
}

/** A keep-alive agent for the set-up requests. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 })

/** One HTTP request with a small body; resolves with `{ status, headers, body }`. */
export const request = (method, url, { body, headers = {} } = {}) =>
  new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers }, (res) => {
      const chunks = []
      res.on("data", (c) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on("error", reject)
    })
    req.on("error", reject)
    req.end(body)
  })

const expect = (res, statuses, what) => {
  if (!statuses.includes(res.status)) {
    throw new Error(`${what}: HTTP ${res.status} ${res.body.toString("utf8").slice(0, 300)}`)
  }
  return res
}

const withDigest = (location, digest) =>
  `${location}${location.includes("?") ? "&" : "?"}digest=${encodeURIComponent(digest)}`

/** `POST` an upload session; resolves with its absolute `Location`. */
export const startUpload = async (registry, repository) => {
  const res = expect(
    await request("POST", `${registry.url}/v2/${repository}/blobs/uploads/`, {
      headers: { ...registry.auth(repository), "content-length": "0" }
    }),
    [202],
    `POST upload ${repository}`
  )
  return new URL(res.headers.location, registry.url).href
}

/** Upload bytes held in memory (POST, then one PUT with the body). */
export const uploadBytes = async (registry, repository, bytes) => {
  const digest = sha256(bytes)
  const location = await startUpload(registry, repository)
  expect(
    await request("PUT", withDigest(location, digest), {
      body: bytes,
      headers: {
        ...registry.auth(repository),
        "content-type": "application/octet-stream",
        "content-length": String(bytes.length)
      }
    }),
    [201],
    `PUT blob ${repository}`
  )
  return { mediaType: MediaType.layer, digest, size: bytes.length }
}

/** curl arguments for a file upload (`-T`: a streamed PUT with Content-Length), printing curl's own timing. */
export const curlUploadArgs = (location, digest, file, headers = {}) => [
  "-sS",
  "--fail",
  "-o",
  "/dev/null",
  "-w",
  "%{time_total} %{size_upload}\n",
  "-H",
  "Content-Type: application/octet-stream",
  ...Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
  "-T",
  file,
  withDigest(location, digest)
]

/** Upload a file (POST, then one PUT piping the file), for set-up: no curl needed. */
export const uploadFile = async (registry, repository, blob) => {
  const location = await startUpload(registry, repository)
  const res = await new Promise((resolve, reject) => {
    const req = http.request(withDigest(location, blob.digest), {
      method: "PUT",
      agent,
      headers: {
        ...registry.auth(repository),
        "content-type": "application/octet-stream",
        "content-length": String(blob.size)
      }
    }, (r) => {
      r.resume()
      r.on("end", () => resolve(r))
    })
    req.on("error", reject)
    createReadStream(blob.path, { highWaterMark: 1024 * 1024 }).on("error", reject).pipe(req)
  })
  if (res.statusCode !== 201) throw new Error(`PUT ${repository} blob: HTTP ${res.statusCode}`)
  return { mediaType: MediaType.layer, digest: blob.digest, size: blob.size }
}

/** The config and manifest of a single-platform OCI image with these layers (uncompressed: diff_id = digest). */
export const makeImage = (layers, label = "ocireg-bench") => {
  const configBytes = Buffer.from(JSON.stringify({
    created: "2024-01-01T00:00:00Z",
    architecture: "amd64",
    os: "linux",
    config: { Cmd: ["/bin/sh"], Labels: { "org.example.bench": label } },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
    history: layers.map((_, i) => ({ created: "2024-01-01T00:00:00Z", created_by: `${label} layer ${i}` }))
  }))
  const config = { mediaType: MediaType.config, digest: sha256(configBytes), size: configBytes.length }
  const manifestBytes = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.manifest,
    config,
    layers: layers.map(({ digest, mediaType, size }) => ({ mediaType, digest, size }))
  }))
  return { config, configBytes, manifestBytes, digest: sha256(manifestBytes), layers }
}

/** `PUT` a manifest under a tag or digest. */
export const putManifest = async (registry, repository, reference, manifestBytes) =>
  expect(
    await request("PUT", `${registry.url}/v2/${repository}/manifests/${reference}`, {
      body: manifestBytes,
      headers: {
        ...registry.auth(repository),
        "content-type": MediaType.manifest,
        "content-length": String(manifestBytes.length)
      }
    }),
    [201],
    `PUT manifest ${repository}:${reference}`
  )

/** Upload an image's config (the layers must be there already) and put its manifest under `tag`. */
export const pushImage = async (registry, repository, tag, image) => {
  await uploadBytes(registry, repository, image.configBytes)
  await putManifest(registry, repository, tag, image.manifestBytes)
}

/** Run `fn` over `items` with at most `concurrency` at a time. */
export const forEachConcurrently = async (items, concurrency, fn) => {
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      await fn(items[i], i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
}

/** Remove a repository's link to blobs (so a later copy cannot skip or mount them) and its manifest. */
export const deleteRepositoryContent = async (registry, repository, digests, manifestDigest) => {
  await forEachConcurrently(digests, 8, async (digest) => {
    await request("DELETE", `${registry.url}/v2/${repository}/blobs/${digest}`, {
      headers: registry.auth(repository, "delete")
    })
  })
  if (manifestDigest !== undefined) {
    await request("DELETE", `${registry.url}/v2/${repository}/manifests/${manifestDigest}`, {
      headers: registry.auth(repository, "delete")
    })
  }
}

/**
 * A skopeo `dir:` layout of an image (`version`, `manifest.json`, blobs named by their hex digest);
 * large blobs are hard-linked from `files` (digest → path) instead of copied.
 */
export const writeDirLayout = async (dir, image, files = new Map(), smallBlobs = new Map()) => {
  await fs.mkdir(dir, { recursive: true })
  await fs.writeFile(path.join(dir, "version"), "Directory Transport Version: 1.1\n")
  await fs.writeFile(path.join(dir, "manifest.json"), image.manifestBytes)
  await fs.writeFile(path.join(dir, image.config.digest.slice(7)), image.configBytes)
  for (const layer of image.layers) {
    const target = path.join(dir, layer.digest.slice(7))
    const file = files.get(layer.digest)
    if (file !== undefined) {
      await fs.link(file, target).catch(() => fs.copyFile(file, target))
    } else {
      await fs.writeFile(target, smallBlobs.get(layer.digest))
    }
  }
}
