/**
 * sha256 throughput in headless Chromium: `@noble/hashes` against `hash-wasm`, 64 MiB hashed in
 * 1 MiB chunks (and in 64 KiB chunks, the size fetch tends to deliver), plus `BrowserHasher`'s
 * multiplexed WebAssembly hasher alone and with two hashes interleaved chunk by chunk (its worst
 * case: a state save and load per chunk). Prints MB/s; asserts only that all agree. Run with
 * `OCIREG_BENCH=1 npx vitest run --project platform-browser`.
 */
import { sha256 } from "@noble/hashes/sha2"
import { bytesToHex } from "@noble/hashes/utils"
import * as BrowserHasher from "@ocireg/platform-browser/BrowserHasher"
import * as Effect from "effect/Effect"
import { createSHA256 } from "hash-wasm"
import { assert, describe, it } from "vitest"

const total = 64 * 1024 * 1024

const random = (size: number) => {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536))
  return bytes
}

interface State {
  update(bytes: Uint8Array): void
  hex(): string
}

/** Best of 3 rounds of hashing `total` bytes in `chunk`-sized pieces over `streams` interleaved states. */
const measure = async (name: string, data: Uint8Array, make: () => Promise<State>, streams = 1) => {
  const chunk = data.length
  const rounds: Array<number> = []
  let hex = ""
  for (let round = 0; round < 3; round++) {
    const states = await Promise.all(Array.from({ length: streams }, make))
    const start = performance.now()
    for (let i = 0; i < total / chunk; i++) states[i % streams]!.update(data)
    hex = states.map((s) => s.hex()).join(",")
    rounds.push(performance.now() - start)
  }
  const best = Math.min(...rounds)
  console.log(
    `${name.padEnd(44)} ${(total / 1e6 / (best / 1000)).toFixed(0).padStart(4)} MB/s ` +
      `(64 MiB in ${(chunk / 1024).toFixed(0)} KiB chunks, best of 3: ${best.toFixed(0)} ms)`
  )
  return hex.split(",")[0]!
}

const noble = async (): Promise<State> => {
  const h = sha256.create()
  return { update: (b) => void h.update(b), hex: () => bytesToHex(h.digest()) }
}

const wasm = async (): Promise<State> => {
  const h = await createSHA256()
  h.init()
  return { update: (b) => void h.update(b), hex: () => h.digest("hex") }
}

describe("sha256 in Chromium", () => {
  it("noble vs hash-wasm vs BrowserHasher", async () => {
    const multiplexed = await Effect.runPromise(BrowserHasher.makeWasm)
    const browserHasher = async (): Promise<State> => multiplexed.create("sha256")
    for (const chunk of [1024 * 1024, 64 * 1024]) {
      const data = random(chunk)
      const a = await measure("@noble/hashes 1.8", data, noble)
      const b = await measure("hash-wasm 4.13", data, wasm)
      const c = await measure("BrowserHasher (hash-wasm, multiplexed)", data, browserHasher)
      const d = await measure("BrowserHasher, 2 hashes interleaved", data, browserHasher, 2)
      assert.strictEqual(a, b)
      assert.strictEqual(a, c)
      assert.strictEqual(d.length, a.length)
    }
  })
})
