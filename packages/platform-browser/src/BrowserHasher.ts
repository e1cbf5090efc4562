/**
 * The `Hasher` for browsers. WebCrypto cannot hash incrementally, so streaming verification uses
 * `@noble/hashes` (audited, dependency-free, pure JavaScript).
 *
 * @since 0.1.0
 */
import { sha256, sha512 } from "@noble/hashes/sha2"
import { bytesToHex } from "@noble/hashes/utils"
import { Hasher } from "@ocireg/core/Digest"
import * as Layer from "effect/Layer"

/**
 * A `Hasher` backed by `@noble/hashes`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Hasher> = Layer.succeed(Hasher, {
  create: (algorithm) => {
    const hash = algorithm === "sha256" ? sha256.create() : sha512.create()
    return {
      update: (chunk) => {
        hash.update(chunk)
      },
      hex: () => bytesToHex(hash.digest())
    }
  }
})
