/**
 * Seeding a test registry with a whole image without HTTP: configs, layers and manifests for each
 * platform, an index over them when platforms are named, and tags. Digests come from the
 * registry's own hashing, so what is seeded is what the registry serves.
 *
 * @internal
 */
import { jsHasher } from "../../Digest.js"
import * as MediaType from "../../MediaType.js"
import type { SeededImage, SeedImageOptions, Service } from "../../RegistryTest.js"

const encoder = new TextEncoder()
const json = (value: unknown) => encoder.encode(JSON.stringify(value))
const bytesOf = (content: Uint8Array | string) => typeof content === "string" ? encoder.encode(content) : content

const sha256 = (bytes: Uint8Array) => {
  const state = jsHasher.create("sha256")
  state.update(bytes)
  return `sha256:${state.hex()}`
}

/** Store manifest bytes by their digest (no tag). */
const storeByDigest = (registry: Service, repository: string, bytes: Uint8Array, mediaType: string) =>
  registry.putManifest(repository, sha256(bytes), bytes, mediaType)

const splitPlatform = (platform: string) => {
  const [os = "linux", architecture = "amd64", variant] = platform.split("/")
  return variant === undefined ? { os, architecture } : { os, architecture, variant }
}

/** Store an image (or an index of images) in a registry; returns every digest written. */
export const seedImage = (registry: Service, options: SeedImageOptions): SeededImage => {
  const repository = options.repository
  const docker = options.format === "docker"
  const types = docker
    ? {
      manifest: MediaType.dockerManifest,
      index: MediaType.dockerManifestList,
      config: MediaType.dockerConfig,
      layer: "application/vnd.docker.image.rootfs.diff.tar"
    }
    : {
      manifest: MediaType.ociManifest,
      index: MediaType.ociIndex,
      config: MediaType.ociConfig,
      layer: MediaType.ociLayerTar
    }
  const platforms = options.platforms ?? ["linux/amd64"]
  const layerCount = typeof options.layers === "number" ? options.layers : undefined
  const images = platforms.map((platform) => {
    const contents = Array.isArray(options.layers)
      ? options.layers as ReadonlyArray<Uint8Array | string>
      : Array.from({ length: layerCount ?? 1 }, (_, i) => `${repository} ${platform} layer ${i + 1}\n`)
    const layers = contents.map((content) => {
      const bytes = bytesOf(content)
      return { mediaType: types.layer, digest: registry.putBlob(repository, bytes), size: bytes.length }
    })
    const configBytes = json({
      ...splitPlatform(platform),
      created: options.created ?? "2024-01-01T00:00:00Z",
      config: {},
      // the layers are stored as given (uncompressed): a diff id is the layer's digest
      rootfs: { type: "layers", diff_ids: layers.map((layer) => layer.digest) }
    })
    const config = {
      mediaType: types.config,
      digest: registry.putBlob(repository, configBytes),
      size: configBytes.length
    }
    const manifestBytes = json({ schemaVersion: 2, mediaType: types.manifest, config, layers })
    const digest = storeByDigest(registry, repository, manifestBytes, types.manifest)
    return { platform, digest, bytes: manifestBytes, config: config.digest, layers: layers.map((l) => l.digest) }
  })
  const single = options.platforms === undefined
  const rootType = single ? types.manifest : types.index
  const rootBytes = single ? images[0]!.bytes : json({
    schemaVersion: 2,
    mediaType: types.index,
    manifests: images.map((image) => ({
      mediaType: types.manifest,
      digest: image.digest,
      size: image.bytes.length,
      platform: splitPlatform(image.platform)
    }))
  })
  const digest = storeByDigest(registry, repository, rootBytes, rootType)
  const tags = options.tags ?? ["latest"]
  for (const tag of tags) registry.putManifest(repository, tag, rootBytes, rootType)
  return {
    repository,
    digest,
    mediaType: rootType,
    tags,
    images: images.map(({ bytes: _bytes, ...image }) => image),
    blobs: [...new Set(images.flatMap((image) => [image.config, ...image.layers]))]
  }
}
