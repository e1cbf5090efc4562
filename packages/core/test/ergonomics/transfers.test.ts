/**
 * Friction 5 of issue 16: transfers that mean what they say. One `concurrency` cap per copy shared
 * by index children and by `copyAllTags({ tagConcurrency })`, `BlobStarted` once the slot is
 * taken, progress that never goes backwards (`BlobRestarted` instead), `onEvent` generic in R.
 */
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as BlobSource from "@ocireg/core/BlobSource"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Image from "@ocireg/core/Image"
import * as Reference from "@ocireg/core/Reference"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import type { RegistryError } from "@ocireg/core/RegistryError"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const stack = RegistryClient.layer().pipe(
  Layer.provideMerge(RegistryTest.layerHosts({ "src.test": {}, "dst.test": {} })),
  Layer.provide(CredentialStore.layerAnonymous)
)

/** Counts blobs between `BlobStarted` and `BlobFinished`; each start lingers so transfers overlap. */
const inFlight = () => {
  let now = 0
  let max = 0
  const onEvent = (event: Image.TransferEvent) =>
    Effect.gen(function*() {
      if (event._tag === "BlobStarted") {
        now++
        max = Math.max(max, now)
        yield* Effect.sleep("20 millis")
      } else if (event._tag === "BlobFinished") now--
    })
  return { onEvent, max: () => max }
}

const seed = (options: RegistryTest.SeedImageOptions) =>
  Effect.map(
    RegistryTest.TestRegistries,
    (registries) => RegistryTest.seedImageInto(registries.get("src.test")!, options)
  )

describe("one concurrency cap per copy (friction 5)", () => {
  it.live("index children share the copy's `concurrency`: never more blobs in flight than asked", () =>
    Effect.gen(function*() {
      yield* seed({
        repository: "team/app",
        tags: ["1.0"],
        platforms: ["linux/amd64", "linux/arm64", "linux/s390x", "linux/ppc64le"],
        layers: 2
      })
      const watch = inFlight()
      const result = yield* Image.copy("src.test/team/app:1.0", "dst.test/team/app:1.0", {
        concurrency: 2,
        onEvent: watch.onEvent
      })
      assert.strictEqual(result.blobs.uploaded, 12)
      // before: children ran 2 at a time, each with its own `concurrency` of blobs (up to 4 here)
      assert.strictEqual(watch.max(), 2)
    }).pipe(Effect.provide(stack)))

  it.live("copyAllTags copies tags side by side, under the same single cap", () =>
    Effect.gen(function*() {
      for (const tag of ["a", "b", "c"]) {
        yield* seed({ repository: "team/tags", tags: [tag], created: `2024-01-0${tag.charCodeAt(0) - 96}T00:00:00Z` })
      }
      const watch = inFlight()
      const results = yield* Image.copyAllTags("src.test/team/tags", "dst.test/team/tags", {
        concurrency: 3,
        tagConcurrency: 3,
        onEvent: watch.onEvent
      })
      assert.deepStrictEqual(
        results.map((r) => r.tag),
        ["a", "b", "c"]
      )
      // each tag has 2 blobs: more than 2 in flight means tags ran side by side (before: one tag at a time)
      assert.strictEqual(watch.max(), 3)
    }).pipe(Effect.provide(stack)))

  it.live("a blob shared by several tags moves once", () =>
    Effect.gen(function*() {
      yield* seed({ repository: "team/same", tags: ["x", "y", "z"] })
      const results = yield* Image.copyAllTags("src.test/team/same", "dst.test/team/same", { tagConcurrency: 3 })
      const uploaded = results.reduce((n, r) => n + r.result.blobs.uploaded, 0)
      assert.strictEqual(uploaded, 2)
      const registries = yield* RegistryTest.TestRegistries
      const puts = registries.get("dst.test")!.requests().filter((r) =>
        r.method === "PUT" && r.path.includes("/blobs/uploads/")
      )
      assert.strictEqual(puts.length, 2)
    }).pipe(Effect.provide(stack)))
})

describe("events that mean what they say (friction 5)", () => {
  it.effect("progress never goes backwards when an upload restarts; BlobRestarted says so", () =>
    Effect.gen(function*() {
      const registries = yield* RegistryTest.TestRegistries
      const dst = registries.get("dst.test")!
      const bytes = new Uint8Array(64 * 1024).map((_, i) => i % 251)
      const source = yield* BlobSource.fromBytes(bytes)
      // the first complete-upload PUT fails after its body was sent: the upload restarts from 0
      dst.failNext({ status: 500, match: (r) => r.method === "PUT" && r.path.includes("/blobs/uploads/") })
      const events: Array<Image.TransferEvent> = []
      const ref = yield* Reference.parseEffect("dst.test/team/restart")
      const result = yield* Image.transferBlob(ref, source, {
        onEvent: (event) => Effect.sync(() => void events.push(event))
      })
      assert.strictEqual(result.outcome, "uploaded")
      const sent = events.flatMap((e) => e._tag === "BlobProgress" ? [e.sent] : [])
      assert.isTrue(sent.every((n, i) => i === 0 || n > sent[i - 1]!), `progress went backwards: ${sent.join(", ")}`)
      assert.strictEqual(sent.at(-1), bytes.length)
      const tags = events.map((e) => e._tag)
      assert.include(tags, "BlobRestarted")
      assert.strictEqual(tags[0], "BlobStarted")
      assert.strictEqual(tags.at(-1), "BlobFinished")
    }).pipe(Effect.provide(stack)))

  it.effect("onEvent may need services of its own, and they show in the requirements", () => {
    class Progress extends Context.Tag("test/Progress")<Progress, { readonly seen: Array<string> }>() {}
    const copy = Image.copy("src.test/team/app:1.0", "dst.test/team/app:1.0", {
      onEvent: (event) => Effect.flatMap(Progress, (p) => Effect.sync(() => void p.seen.push(event._tag)))
    })
    // before, onEvent had to be `Effect<void>` (R = never): this did not compile
    expectTypeOf(copy).toEqualTypeOf<
      Effect.Effect<Image.CopyResult, RegistryError, RegistryClient.RegistryClient | Progress>
    >()
    const seen: Array<string> = []
    return Effect.gen(function*() {
      yield* seed({ repository: "team/app", tags: ["1.0"] })
      yield* copy
      assert.deepStrictEqual(seen.filter((t) => t === "BlobStarted").length, 2)
      assert.deepStrictEqual(seen.filter((t) => t === "BlobFinished").length, 2)
    }).pipe(Effect.provideService(Progress, { seen }), Effect.provide(stack))
  })
})
