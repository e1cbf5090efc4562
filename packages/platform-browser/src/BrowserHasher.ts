/**
 * The `Hasher` for browsers. WebCrypto cannot hash incrementally, so streaming verification needs
 * a hash written in WebAssembly or JavaScript. Measured in headless Chromium on 64 MiB hashed in
 * 1 MiB chunks (`bench/hasher.bench.ts`), `hash-wasm` runs sha256 about 4× faster than
 * `@noble/hashes` (about 310 MB/s against 75 MB/s on the project's CI machine), so it is the
 * default. Pages whose Content-Security-Policy forbids WebAssembly (no `'wasm-unsafe-eval'`)
 * fall back to `@noble/hashes` (audited, pure JavaScript).
 *
 * @since 0.1.0
 */
import { sha256, sha512 } from "@noble/hashes/sha2"
import { bytesToHex } from "@noble/hashes/utils"
import { type Algorithm, Hasher, type HashState } from "@ocireg/core/Digest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createSHA256, createSHA512, type IHasher } from "hash-wasm"

/**
 * The pure JavaScript hasher (`@noble/hashes`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const noble: Hasher["Type"] = {
  create: (algorithm) => {
    const hash = algorithm === "sha256" ? sha256.create() : sha512.create()
    return {
      update: (chunk) => {
        hash.update(chunk)
      },
      hex: () => bytesToHex(hash.digest())
    }
  }
}

/**
 * Many running hashes over one WebAssembly instance: the instance holds the state of the hash
 * that was updated last; switching to another saves it and loads the other's (a few hundred
 * bytes), so `create` stays synchronous and a single download pays nothing.
 */
const multiplex = (instance: IHasher) => {
  let active: { saved: Uint8Array | undefined } | undefined
  return (): HashState => {
    const self: { saved: Uint8Array | undefined } = { saved: undefined }
    let result: string | undefined
    const activate = () => {
      if (active === self) return
      if (active !== undefined) active.saved = instance.save()
      if (self.saved === undefined) instance.init()
      else instance.load(self.saved)
      active = self
    }
    return {
      update: (chunk) => {
        if (result !== undefined) throw new Error("Hasher: update after hex()")
        activate()
        instance.update(chunk)
      },
      hex: () => {
        if (result === undefined) {
          activate()
          result = instance.digest("hex")
          active = undefined
        }
        return result
      }
    }
  }
}

/**
 * The WebAssembly hasher (`hash-wasm`). Fails when the page may not compile WebAssembly.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeWasm: Effect.Effect<Hasher["Type"], Error> = Effect.tryPromise({
  try: () => Promise.all([createSHA256(), createSHA512()]),
  catch: (cause) => cause instanceof Error ? cause : new Error(String(cause))
}).pipe(
  Effect.map(([a, b]) => {
    const states: Record<Algorithm, () => HashState> = { sha256: multiplex(a), sha512: multiplex(b) }
    return { create: (algorithm: Algorithm) => states[algorithm]() }
  })
)

/**
 * A `Hasher` backed by `@noble/hashes` only.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNoble: Layer.Layer<Hasher> = Layer.succeed(Hasher, noble)

/**
 * A `Hasher` backed by `hash-wasm`, or by `@noble/hashes` when WebAssembly is not allowed.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Hasher> = Layer.effect(
  Hasher,
  makeWasm.pipe(
    Effect.catchAll((error) =>
      Effect.as(
        Effect.logWarning(`hash-wasm unavailable (${error.message}); hashing with @noble/hashes`),
        noble
      )
    )
  )
)
