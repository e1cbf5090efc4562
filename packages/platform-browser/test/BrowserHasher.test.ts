import { assert, describe, it } from "@effect/vitest"
import * as Digest from "@ocireg/core/Digest"
import * as BrowserHasher from "@ocireg/platform-browser/BrowserHasher"
import * as Effect from "effect/Effect"

const text = (s: string) => new TextEncoder().encode(s)

const webCrypto = async (algorithm: "SHA-256" | "SHA-512", bytes: Uint8Array<ArrayBuffer>) =>
  Array.from(new Uint8Array(await crypto.subtle.digest(algorithm, bytes)), (b) => b.toString(16).padStart(2, "0"))
    .join("")

const random = (size: number) => {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)))
  return bytes
}

describe("BrowserHasher", () => {
  it.effect("the layer hashes sha256 and sha512 like WebCrypto", () =>
    Effect.gen(function*() {
      const bytes = random(3 * 1024 * 1024 + 17)
      const sha256 = yield* Digest.ofBytes(bytes, "sha256")
      const sha512 = yield* Digest.ofBytes(bytes, "sha512")
      assert.strictEqual(sha256, `sha256:${yield* Effect.promise(() => webCrypto("SHA-256", bytes))}`)
      assert.strictEqual(sha512, `sha512:${yield* Effect.promise(() => webCrypto("SHA-512", bytes))}`)
      assert.strictEqual(
        yield* Digest.ofBytes(text("")),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
      )
    }).pipe(Effect.provide(BrowserHasher.layer)))

  it.effect("many interleaved hashes over the one WebAssembly instance stay apart", () =>
    Effect.gen(function*() {
      const wasm = yield* BrowserHasher.makeWasm
      const inputs = Array.from({ length: 5 }, (_, i) => random(100_000 + i * 7919))
      for (const algorithm of ["sha256", "sha512"] as const) {
        const states = inputs.map(() => wasm.create(algorithm))
        // feed them round-robin in uneven slices, finish them in reverse order
        for (let offset = 0; offset < 140_000; offset += 9_973) {
          inputs.forEach((input, i) => states[i]!.update(input.subarray(offset, offset + 9_973)))
        }
        const expected = inputs.map(() => BrowserHasher.noble.create(algorithm))
        inputs.forEach((input, i) => expected[i]!.update(input))
        for (let i = inputs.length - 1; i >= 0; i--) {
          assert.strictEqual(states[i]!.hex(), expected[i]!.hex())
          assert.strictEqual(states[i]!.hex(), states[i]!.hex(), "hex() can be read again")
        }
      }
    }))

  it.effect("a new hash after an abandoned one starts from scratch", () =>
    Effect.gen(function*() {
      const wasm = yield* BrowserHasher.makeWasm
      wasm.create("sha256").update(text("abandoned"))
      const state = wasm.create("sha256")
      state.update(text("abc"))
      assert.strictEqual(state.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }))
})
