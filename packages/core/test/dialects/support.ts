/**
 * Shared set-up of the dialect rule tests: a test registry in a dialect with the real
 * `RegistryClient` on top (in memory), a credential store that counts its look-ups, and seeding
 * of small images without HTTP.
 */
import { sha256 } from "@noble/hashes/sha2"
import { bytesToHex } from "@noble/hashes/utils"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as MediaType from "@ocireg/core/MediaType"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { TestHasher } from "../support/fakeRegistry.js"

export const host = "registry.test"
export const users = { alice: "alice-password" }

/** Counts how often the client asked for credentials. */
export interface Lookups {
  count: number
}

/**
 * A layer with the test registry in `dialect`, the client, the hasher, and alice's credentials
 * (unless `anonymous`); users are always configured so that pushes can authenticate.
 */
export const dialectLayer = (
  dialect: RegistryTest.Dialect,
  options: {
    readonly anonymous?: boolean
    readonly registry?: RegistryTest.Options
    readonly client?: RegistryClient.Options
    readonly lookups?: Lookups
  } = {}
) => {
  const info = RegistryTest.dialectInfo(dialect)
  const tokens = info.rules.some((r) => r.name === "anonymous-pull-tokens") || dialect !== "distribution"
  const auth: RegistryTest.Auth = tokens ? { bearer: { users, anonymousPull: true } } : "none"
  const credential = CredentialStore.basic("alice", Redacted.make(users.alice))
  const store = Layer.succeed(CredentialStore.CredentialStore, {
    get: (registry: string) =>
      Effect.sync(() => {
        if (options.lookups) options.lookups.count++
        return options.anonymous === true || registry !== host ? Option.none() : Option.some(credential)
      })
  })
  const registry = RegistryTest.layer({ dialect, auth, tagDelete: true, ...options.registry })
  return Layer.mergeAll(
    RegistryClient.layer({
      retrySchedule: undefined,
      // Artifactory's API lives under its path prefix: the client is told, references stay host/name
      ...(dialect === "artifactory" ? { pathPrefix: { [host]: RegistryTest.artifactoryPrefix } } : {}),
      ...options.client
    }).pipe(Layer.provide(store)),
    Layer.empty
  ).pipe(Layer.provideMerge(registry), Layer.provideMerge(TestHasher))
}

export const digestOf = (bytes: Uint8Array): string => `sha256:${bytesToHex(sha256(bytes))}`
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

/** Deterministic pseudo-random bytes (xorshift), so blobs are not compressible patterns. */
export const randomBytes = (size: number, seed = 1): Uint8Array => {
  const out = new Uint8Array(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** An image seeded without HTTP: config, one layer, a manifest under `tag`. */
export interface Seeded {
  readonly repository: string
  readonly tag: string
  readonly manifest: { readonly digest: string; readonly size: number; readonly bytes: Uint8Array }
  readonly layer: { readonly digest: string; readonly size: number; readonly bytes: Uint8Array }
  readonly config: { readonly digest: string; readonly size: number }
}

export const seed = (
  registry: RegistryTest.Service,
  repository: string,
  tag: string,
  layerSize = 1024,
  seedValue = 7
): Seeded => {
  const layerBytes = randomBytes(layerSize, seedValue)
  const configBytes = encode({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } })
  const layer = { digest: registry.putBlob(repository, layerBytes), size: layerBytes.length, bytes: layerBytes }
  const config = { digest: registry.putBlob(repository, configBytes), size: configBytes.length }
  const manifestBytes = encode({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, ...config },
    layers: [{ mediaType: MediaType.ociLayerTarGzip, digest: layer.digest, size: layer.size }]
  })
  const digest = registry.putManifest(repository, tag, manifestBytes, MediaType.ociManifest)
  return {
    repository,
    tag,
    manifest: { digest, size: manifestBytes.length, bytes: manifestBytes },
    layer,
    config
  }
}

/** An artifact manifest that refers to `subject` (for the referrers tests). */
export const referrerOf = (subject: Seeded["manifest"], emptyDigest: string) =>
  encode({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: "application/vnd.example.sbom",
    config: { mediaType: "application/vnd.oci.empty.v1+json", digest: emptyDigest, size: 2 },
    layers: [{ mediaType: "application/vnd.oci.empty.v1+json", digest: emptyDigest, size: 2 }],
    subject: { mediaType: MediaType.ociManifest, digest: subject.digest, size: subject.size }
  })
