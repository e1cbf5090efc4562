/**
 * The `Hasher` for Node: native `node:crypto` hashes, the fastest incremental sha256 Node has.
 *
 * @since 0.1.0
 */
import { Hasher } from "@ocireg/core/Digest"
import * as Layer from "effect/Layer"
import * as Crypto from "node:crypto"

/**
 * A `Hasher` backed by `node:crypto`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Hasher> = Layer.succeed(Hasher, {
  create: (algorithm) => {
    const hash = Crypto.createHash(algorithm)
    return {
      update: (chunk) => {
        hash.update(chunk)
      },
      hex: () => hash.digest("hex")
    }
  }
})
