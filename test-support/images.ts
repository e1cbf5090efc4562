/**
 * Generated OCI image layouts (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
 * with real tar layers, real image configs, manifests and optionally a multi-platform index, plus
 * large random blob files. Everything returned carries its digest and size so tests can assert.
 */
import * as crypto from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as zlib from "node:zlib"

/** OCI media types used by the generated layouts. */
export const OciMediaType = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip"
} as const

/** Platforms the generator knows. */
export type PlatformName =
  | "linux/amd64"
  | "linux/arm64/v8"
  | "linux/arm/v7"
  | "linux/arm64"
  | "linux/386"
  | "linux/ppc64le"
  | "linux/s390x"

/** An OCI platform object. */
export interface Platform {
  readonly architecture: string
  readonly os: string
  readonly variant?: string
}

/** An OCI descriptor. */
export interface Descriptor {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
  readonly platform?: Platform
  readonly annotations?: Readonly<Record<string, string>>
}

/** What to generate. */
export interface ImageSpec {
  /** With platforms: one image per platform under an OCI index. Without: a single image manifest. */
  readonly platforms?: ReadonlyArray<PlatformName>
  /** Layers per image (each image gets its own random layers). */
  readonly layers: number
  /** Size in bytes of the one random file inside each layer's tar (the tar is a little larger). */
  readonly layerSize: number
  /** The tag: `org.opencontainers.image.ref.name` of the entry in index.json. */
  readonly tag: string
  /** gzip the layers (`tar+gzip`); default false (uncompressed `tar`). */
  readonly gzip?: boolean
}

/** A generated layer. */
export interface GeneratedLayer {
  readonly descriptor: Descriptor
  /** sha256 of the uncompressed tar (equals `descriptor.digest` unless gzip). */
  readonly diffId: string
  /** The blob bytes as stored (the tar, or the gzip of it). */
  readonly bytes: Uint8Array
}

/** A generated image (one platform). */
export interface GeneratedManifest {
  /** Descriptor of the image manifest (with `platform` when under an index). */
  readonly descriptor: Descriptor
  readonly platform: Platform | undefined
  /** The exact manifest bytes. */
  readonly bytes: Uint8Array
  readonly manifest: Record<string, unknown>
  readonly config: {
    readonly descriptor: Descriptor
    readonly bytes: Uint8Array
    readonly json: Record<string, unknown>
  }
  readonly layers: ReadonlyArray<GeneratedLayer>
}

/** A generated OCI layout. */
export interface GeneratedImage {
  readonly dir: string
  readonly tag: string
  /** What index.json names with the tag: the index when `platforms` was given, else the manifest. */
  readonly root: Descriptor
  /** The exact bytes of the root (index or manifest). */
  readonly rootBytes: Uint8Array
  readonly index: {
    readonly descriptor: Descriptor
    readonly bytes: Uint8Array
    readonly json: Record<string, unknown>
  } | undefined
  readonly manifests: ReadonlyArray<GeneratedManifest>
  /** Every blob written, by digest. */
  readonly blobs: ReadonlyMap<string, Uint8Array>
}

/** `sha256:<hex>` of some bytes. */
export const sha256Digest = (bytes: Uint8Array): string =>
  "sha256:" + crypto.createHash("sha256").update(bytes).digest("hex")

/** Parses `os/arch[/variant]`. */
export const parsePlatform = (name: string): Platform => {
  const [os, architecture, variant] = name.split("/")
  if (!os || !architecture) throw new Error(`not a platform: ${name}`)
  return variant ? { os, architecture, variant } : { os, architecture }
}

const octal = (value: number, width: number): string => value.toString(8).padStart(width - 1, "0") + "\0"

/**
 * A POSIX ustar archive holding one regular file: 512-byte header (with checksum), the data
 * padded to 512 bytes, and two zero blocks.
 */
export const tarWithOneFile = (name: string, data: Uint8Array, mtime = 0): Buffer => {
  if (Buffer.byteLength(name) > 100) throw new Error("tar: name longer than 100 bytes")
  const header = Buffer.alloc(512, 0)
  header.write(name, 0, 100, "utf8")
  header.write(octal(0o644, 8), 100, 8, "ascii") // mode
  header.write(octal(0, 8), 108, 8, "ascii") // uid
  header.write(octal(0, 8), 116, 8, "ascii") // gid
  header.write(octal(data.length, 12), 124, 12, "ascii") // size
  header.write(octal(mtime, 12), 136, 12, "ascii") // mtime
  header.write("        ", 148, 8, "ascii") // checksum placeholder
  header.write("0", 156, 1, "ascii") // typeflag: regular file
  header.write("ustar\0", 257, 6, "ascii")
  header.write("00", 263, 2, "ascii")
  header.write("root", 265, 32, "ascii")
  header.write("root", 297, 32, "ascii")
  let sum = 0
  for (const b of header) sum += b
  header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii")
  const padding = (512 - (data.length % 512)) % 512
  return Buffer.concat([header, data, Buffer.alloc(padding + 1024, 0)])
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value))

/**
 * Writes an OCI image layout into `dir` (created if needed): `oci-layout`, `index.json` and
 * `blobs/sha256/*`. Layers are real tar archives holding one random file each; configs have
 * `rootfs.diff_ids`. With `spec.platforms` the tag names an OCI index of per-platform manifests.
 */
export const generateOciLayout = async (dir: string, spec: ImageSpec): Promise<GeneratedImage> => {
  const blobs = new Map<string, Uint8Array>()
  const put = (mediaType: string, bytes: Uint8Array, extra: Partial<Descriptor> = {}): Descriptor => {
    const digest = sha256Digest(bytes)
    blobs.set(digest, bytes)
    return { mediaType, digest, size: bytes.length, ...extra }
  }

  const makeImage = (platform: Platform | undefined): GeneratedManifest => {
    const layers: Array<GeneratedLayer> = []
    for (let i = 0; i < spec.layers; i++) {
      const tar = tarWithOneFile(`layer-${i}.bin`, crypto.randomBytes(spec.layerSize))
      const diffId = sha256Digest(tar)
      const bytes = spec.gzip ? zlib.gzipSync(tar, { level: 1 }) : tar
      layers.push({ descriptor: put(spec.gzip ? OciMediaType.layerGzip : OciMediaType.layer, bytes), diffId, bytes })
    }
    const p = platform ?? { os: "linux", architecture: "amd64" }
    const configJson: Record<string, unknown> = {
      created: "2024-01-01T00:00:00Z",
      architecture: p.architecture,
      os: p.os,
      ...(p.variant !== undefined ? { variant: p.variant } : {}),
      config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/bin/sh"] },
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((_, i) => ({ created: "2024-01-01T00:00:00Z", created_by: `ocireg test layer ${i}` }))
    }
    const configBytes = json(configJson)
    const config = { descriptor: put(OciMediaType.config, configBytes), bytes: configBytes, json: configJson }
    const manifest: Record<string, unknown> = {
      schemaVersion: 2,
      mediaType: OciMediaType.manifest,
      config: config.descriptor,
      layers: layers.map((l) => l.descriptor)
    }
    const bytes = json(manifest)
    const descriptor = put(OciMediaType.manifest, bytes, platform !== undefined ? { platform } : {})
    return { descriptor, platform, bytes, manifest, config, layers }
  }

  let manifests: Array<GeneratedManifest>
  let index: GeneratedImage["index"]
  let root: Descriptor
  let rootBytes: Uint8Array
  if (spec.platforms !== undefined) {
    manifests = spec.platforms.map((name) => makeImage(parsePlatform(name)))
    const indexJson: Record<string, unknown> = {
      schemaVersion: 2,
      mediaType: OciMediaType.index,
      manifests: manifests.map((m) => m.descriptor)
    }
    const bytes = json(indexJson)
    index = { descriptor: put(OciMediaType.index, bytes), bytes, json: indexJson }
    root = index.descriptor
    rootBytes = bytes
  } else {
    const single = makeImage(undefined)
    manifests = [single]
    index = undefined
    root = { mediaType: single.descriptor.mediaType, digest: single.descriptor.digest, size: single.descriptor.size }
    rootBytes = single.bytes
  }

  const blobDir = path.join(dir, "blobs", "sha256")
  await fs.mkdir(blobDir, { recursive: true })
  await fs.writeFile(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }))
  await Promise.all(
    [...blobs].map(([digest, bytes]) => fs.writeFile(path.join(blobDir, digest.slice("sha256:".length)), bytes))
  )
  await fs.writeFile(
    path.join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OciMediaType.index,
      manifests: [{ ...root, annotations: { "org.opencontainers.image.ref.name": spec.tag } }]
    })
  )
  return { dir, tag: spec.tag, root, rootBytes, index, manifests, blobs }
}

/**
 * Streams `size` bytes of random-looking data to `file` without holding it in memory (a 1 MiB
 * random block, each repetition made unique by an 8-byte counter), hashing as it writes.
 */
export const generateLargeBlobFile = async (
  file: string,
  size: number
): Promise<{ readonly digest: string; readonly size: number; readonly path: string }> => {
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
      let off = 0
      while (off < n) {
        const { bytesWritten } = await fh.write(chunk, off, n - off)
        off += bytesWritten
      }
      written += n
    }
  } finally {
    await fh.close()
  }
  return { digest: "sha256:" + hash.digest("hex"), size, path: file }
}
