import { assert, describe, it } from "@effect/vitest"
import * as Registry from "@ocireg/core/Registry"
import * as Sync from "@ocireg/core/Sync"
import * as Effect from "effect/Effect"
import { createHash } from "node:crypto"
import { dialectLayer } from "../dialects/support.js"
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

  it.effect("mirrors a whole registry from its catalog, with repository and tag filters", () =>
    Effect.gen(function*() {
      for (const name of ["team/a", "team/b", "team/c-test", "other/x"]) {
        for (const tag of ["v1", "dev"]) yield* storeImage(name, tag, { layers: [`${name} ${tag}`] })
      }
      const starts: Array<Sync.RepositoryStart> = []
      const mapping: Sync.Mapping = {
        type: "registry",
        source: host,
        target: `${host}/mirror`,
        repositories: { include: ["^team/"], exclude: ["-test$"] },
        tags: { exclude: ["^dev$"] }
      }
      const first = yield* Sync.run([mapping], {
        onRepository: (start) => Effect.sync(() => void starts.push(start))
      })
      assert.deepStrictEqual([first.repositories, first.tags, first.copied, first.failed], [2, 2, 2, 0])
      assert.deepStrictEqual(starts.map((s) => [s.source, s.target, s.tags]), [
        [`${host}/team/a`, `${host}/mirror/team/a`, 1],
        [`${host}/team/b`, `${host}/mirror/team/b`, 1]
      ])
      assert.deepStrictEqual(yield* Registry.listAllTags(`${host}/mirror/team/b`), ["v1"])
      // the mirror is now in the catalog too: the include pattern keeps it out of the next run
      const second = yield* Sync.run([mapping])
      assert.deepStrictEqual([second.repositories, second.copied, second.skipped, second.bytesUploaded], [2, 0, 2, 0])
    }).pipe(Effect.provide(inMemory())))

  it.effect("a registry without a catalog fails with CatalogUnavailable (Docker Hub, GHCR)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Sync.run([{ type: "registry", source: "registry.test", target: "x.test" }]))
      assert.strictEqual(error._tag, "CatalogUnavailable")
      assert.include(error.message, "registry.test does not list its repositories")
      assert.include(error.message, "one by one")
    }).pipe(Effect.provide(dialectLayer("dockerhub"))))

  it.effect("Docker Hub's 401 for a target repository that does not exist yet means 'copy it'", () =>
    Effect.gen(function*() {
      yield* storeImage("team/app", "v1", { layers: ["hub"] })
      const mapping = { source: "registry.test/team/app", target: "registry.test/mirror/app" }
      const first = yield* Sync.run([mapping])
      assert.deepStrictEqual([first.copied, first.failed], [1, 0], first.outcomes[0]?.error)
      const second = yield* Sync.run([mapping])
      assert.deepStrictEqual([second.copied, second.skipped], [0, 1])
    }).pipe(Effect.provide(dialectLayer("dockerhub"))))

  it.effect("GHCR's 404 for the catalog is CatalogUnavailable too", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Sync.catalog("registry.test"))
      assert.strictEqual(error._tag, "CatalogUnavailable")
      assert.include(error.message, "404")
    }).pipe(Effect.provide(dialectLayer("ghcr"))))
})
