/**
 * What every handler of the test registry works with: the settings, the content, the hash
 * functions, the clock and a source of random identifiers.
 *
 * @internal
 */
import type { Algorithm, HashState } from "../../Digest.js"
import type { Options } from "../../RegistryTest.js"
import type { StorageKind } from "./blobStorage.js"
import { defaultsOf, type Dialect, dialects } from "./dialects.js"
import type { Storage } from "./storage.js"

/** The options with their defaults applied. */
export interface Settings {
  readonly auth: NonNullable<Options["auth"]>
  readonly referrersApi: boolean
  readonly deleteEnabled: boolean
  readonly tagDelete: boolean
  readonly monolithicPost: boolean
  readonly chunkMinLength: number | undefined
  readonly pageSize: number | undefined
  readonly maxManifestSize: number
  readonly tokenExpiresIn: number
  readonly service: string | undefined
  readonly realm: string | undefined
  /** The path of the token endpoint in the default realm (`/token`). */
  readonly realmPath: string
  readonly dialect: Dialect
  /** The storage service blob downloads redirect to (when a dialect redirects them). */
  readonly blobStorage: StorageKind | undefined
  /** The origin of that storage service. */
  readonly storageOrigin: string
  /** The key signed storage URLs are signed with. */
  readonly signingKey: string
  /** Whether answers carry CORS headers and preflights are answered. */
  readonly cors: boolean
}

/** 4 MiB, the manifest size limit of distribution and of the OCI distribution specification. */
export const defaultMaxManifestSize = 4 * 1024 * 1024

export const settings = (options: Options): Settings => {
  const dialect = dialects[options.dialect ?? "distribution"] ?? dialects.distribution
  const defaults = defaultsOf(dialect)
  const blobStorage = defaults.blobStorage
  return {
    auth: options.auth ?? defaults.auth ?? "none",
    referrersApi: options.referrersApi ?? defaults.referrersApi ?? true,
    deleteEnabled: options.deleteEnabled ?? true,
    tagDelete: options.tagDelete ?? false,
    monolithicPost: options.monolithicPost ?? true,
    chunkMinLength: options.chunkMinLength ?? defaults.chunkMinLength,
    pageSize: options.pageSize,
    maxManifestSize: options.maxManifestSize ?? defaultMaxManifestSize,
    tokenExpiresIn: options.tokenExpiresIn ?? 300,
    service: options.service,
    realm: options.realm,
    realmPath: defaults.realmPath ?? "/token",
    dialect,
    blobStorage,
    storageOrigin: (options.storageOrigin ?? `https://${blobStorage ?? "s3"}.storage.test`).replace(/\/+$/, ""),
    signingKey: randomHex(16),
    cors: options.cors ?? false
  }
}

/** The environment of the handlers. */
export interface ServerContext {
  readonly settings: Settings
  readonly storage: Storage
  readonly createHash: (algorithm: Algorithm) => HashState
  /** Epoch milliseconds, from the Effect `Clock` the registry was made with. */
  readonly now: () => number
}

/** The digest of some bytes with the given algorithm. */
export const digestOf = (context: ServerContext, bytes: Uint8Array, algorithm: Algorithm = "sha256"): string => {
  const state = context.createHash(algorithm)
  state.update(bytes)
  return `${algorithm}:${state.hex()}`
}

/** A random identifier of `bytes` random bytes in lower-case hex (Web Crypto, in Node and browsers). */
export const randomHex = (bytes: number): string => {
  const buffer = new Uint8Array(bytes)
  globalThis.crypto.getRandomValues(buffer)
  let out = ""
  for (const byte of buffer) out += byte.toString(16).padStart(2, "0")
  return out
}

/** A random UUID (version 4 layout), as distribution names upload sessions. */
export const randomUuid = (): string => {
  const hex = randomHex(16)
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${
    hex.slice(20, 32)
  }`
}
