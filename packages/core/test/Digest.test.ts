import { assert, describe, it } from "@effect/vitest"
import * as Digest from "@ocireg/core/Digest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { sha256Hex, TestHasher } from "./support/fakeRegistry.js"

const bytes = (text: string) => new TextEncoder().encode(text)
const hello = `sha256:${sha256Hex("hello world")}` as Digest.Digest

describe("Digest", () => {
  it("validates sha256 and sha512 digests", () => {
    assert.isTrue(Digest.isDigest(hello))
    assert.isTrue(Digest.isDigest(`sha512:${"ab".repeat(64)}`))
    for (
      const bad of [
        "",
        "sha256",
        "sha256:",
        `sha256:${"A".repeat(64)}`,
        `sha256:${"a".repeat(63)}`,
        `sha384:${"a".repeat(96)}`,
        `md5:${"a".repeat(32)}`,
        `sha256:${"a".repeat(64)}/../../etc`,
        `../sha256:${"a".repeat(64)}`
      ]
    ) {
      assert.isTrue(Either.isLeft(Digest.parse(bad)), bad)
    }
  })

  it("splits algorithm and encoded parts", () => {
    assert.strictEqual(Digest.algorithm(hello), "sha256")
    assert.strictEqual(Digest.encoded(hello), sha256Hex("hello world"))
  })

  it.effect("hashes bytes with the Hasher", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Digest.ofBytes(bytes("hello world")), hello)
    }).pipe(Effect.provide(TestHasher)))

  it.effect("verify passes matching bytes through unchanged, chunk by chunk", () =>
    Effect.gen(function*() {
      const out = yield* Stream.make(bytes("hello"), bytes(" "), bytes("world")).pipe(
        Digest.verify({ digest: hello, size: 11 }),
        Stream.runCollect
      )
      assert.deepStrictEqual(Chunk.toArray(out).map((b) => new TextDecoder().decode(b)), ["hello", " ", "world"])
    }).pipe(Effect.provide(TestHasher)))

  it.effect("verify fails on other bytes, a short stream, or a long one", () =>
    Effect.gen(function*() {
      const wrong = yield* Effect.flip(Stream.runDrain(Digest.verify({ digest: hello })(Stream.make(bytes("hello")))))
      assert.strictEqual(wrong._tag, "DigestMismatch")
      assert.strictEqual(wrong._tag === "DigestMismatch" && wrong.actual, `sha256:${sha256Hex("hello")}`)
      const short = yield* Effect.flip(
        Stream.runDrain(Digest.verify({ digest: hello, size: 12 })(Stream.make(bytes("hello world"))))
      )
      assert.strictEqual(short._tag === "DigestMismatch" && short.actualSize, 11)
      let pulled = 0
      const long = yield* Effect.flip(
        Stream.runDrain(
          Digest.verify({ digest: hello, size: 11 })(
            Stream.repeatEffect(Effect.sync(() => (pulled++, bytes("hello world")))).pipe(Stream.take(1000))
          )
        )
      )
      assert.strictEqual(long._tag, "DigestMismatch")
      assert.isBelow(pulled, 10, "stops reading as soon as the size is exceeded")
    }).pipe(Effect.provide(TestHasher)))
})
