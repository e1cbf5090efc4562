import { assert, describe, it } from "@effect/vitest"
import * as Registry from "@ocireg/core/Registry"
import * as Sync from "@ocireg/core/Sync"
import * as Effect from "effect/Effect"
import { createHash } from "node:crypto"
import { inMemory, storeImage } from "./support.js"

const host = "registry.test"

describe("Sync.run", () => {
  it.effect("copies filtered tags, skips by digest on the second run, and plans in a dry run", () =>
    Effect.gen(function*() {
      for (const tag of ["v1", "v2", "dev"]) yield* storeImage("team/app", tag, { layers: [`app ${tag}`] })
      yield* storeImage("team/db", "v1", { layers: ["db"] })
      const mappings: ReadonlyArray<Sync.Mapping> = [
        { source: `${host}/team/app`, target: `${host}/mirror/app`, tags: { include: ["^v"] } },
        { source: `${host}/team/db`, target: `${host}/mirror/db` }
      ]
      const dry = yield* Sync.run(mappings, { dryRun: true })
      assert.deepStrictEqual([dry.tags, dry.planned, dry.copied], [3, 3, 0])
      assert.isTrue((yield* Effect.either(Registry.headManifest(`${host}/mirror/app:v1`)))._tag === "Left")
      const first = yield* Sync.run(mappings)
      assert.deepStrictEqual([first.copied, first.skipped, first.failed], [3, 0, 0])
      assert.deepStrictEqual(yield* Registry.listAllTags(`${host}/mirror/app`), ["v1", "v2"])
      const second = yield* Sync.run(mappings)
      assert.deepStrictEqual([second.copied, second.skipped, second.bytesUploaded], [0, 3, 0])
      // a changed tag is copied again
      yield* storeImage("team/app", "v2", { layers: ["rebuilt"] })
      const third = yield* Sync.run(mappings)
      assert.deepStrictEqual(third.outcomes.filter((o) => o.action === "copied").map((o) => o.tag), ["v2"])
    }).pipe(Effect.provide(inMemory())))

  it.effect("reports a failing tag and goes on; an invalid target fails the sync", () =>
    Effect.gen(function*() {
      yield* storeImage("team/app", "good", { layers: ["good"] })
      yield* storeImage("team/app", "broken", { layers: ["lost layer"] })
      const lost = `sha256:${createHash("sha256").update("lost layer").digest("hex")}`
      yield* Registry.deleteBlob(`${host}/team/app`, lost)
      const summary = yield* Sync.run([{ source: `${host}/team/app`, target: `${host}/mirror/app` }])
      assert.deepStrictEqual([summary.copied, summary.failed], [1, 1])
      const failed = summary.outcomes.find((o) => o.action === "failed")!
      assert.strictEqual(failed.tag, "broken")
      assert.isString(failed.error)
      const invalid = yield* Effect.flip(Sync.run([{ source: `${host}/team/app`, target: `${host}/Bad Target` }]))
      assert.strictEqual(invalid._tag, "InvalidReference")
    }).pipe(Effect.provide(inMemory())))
})
