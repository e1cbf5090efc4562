import { assert, describe, it } from "@effect/vitest"
import * as Tags from "@ocireg/core/Tags"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { inMemory, storeImage } from "./support.js"

describe("Tags.filter", () => {
  const tags = ["v1.0.0", "v1.2.0-rc.1", "v2.0.0", "latest", "main-abc123", "1.2"]

  it("keeps tags matching every include and no exclude", () => {
    assert.deepStrictEqual(Tags.filter(tags, { include: ["^v1\\."] }), ["v1.0.0", "v1.2.0-rc.1"])
    assert.deepStrictEqual(Tags.filter(tags, { include: ["^v"], exclude: ["-rc"] }), ["v1.0.0", "v2.0.0"])
    assert.deepStrictEqual(Tags.filter(tags, { exclude: [/^main-/, "latest"] }), [
      "v1.0.0",
      "v1.2.0-rc.1",
      "v2.0.0",
      "1.2"
    ])
    assert.deepStrictEqual(Tags.filter(tags, {}), tags)
  })

  it("throws on an invalid pattern", () => {
    assert.throws(() => Tags.filter(tags, { include: ["("] }), SyntaxError)
  })
})

describe("Tags semver", () => {
  it("parses v prefixes, short versions, pre-releases and build metadata", () => {
    assert.deepStrictEqual(Option.getOrThrow(Tags.parseSemVer("v1.2.3-rc.1+build.5")), {
      major: 1,
      minor: 2,
      patch: 3,
      prerelease: ["rc", 1]
    })
    assert.deepStrictEqual(Option.getOrThrow(Tags.parseSemVer("3.19")), {
      major: 3,
      minor: 19,
      patch: 0,
      prerelease: []
    })
    assert.isTrue(Option.isNone(Tags.parseSemVer("latest")))
    assert.isTrue(Option.isNone(Tags.parseSemVer("01.2.3")))
    assert.isTrue(Option.isNone(Tags.parseSemVer("1.2.3.4")))
  })

  it("orders by precedence, pre-releases before releases, non-versions last", () => {
    const sorted = Tags.sortSemVer([
      "latest",
      "v1.10.0",
      "1.2.0",
      "v1.2.0-rc.2",
      "v1.2.0-rc.10",
      "v1.2.0-beta",
      "1.9",
      "edge",
      "v1.2.0-alpha.1",
      "2"
    ])
    assert.deepStrictEqual(sorted, [
      "v1.2.0-alpha.1",
      "v1.2.0-beta",
      "v1.2.0-rc.2",
      "v1.2.0-rc.10",
      "1.2.0",
      "1.9",
      "v1.10.0",
      "2",
      "edge",
      "latest"
    ])
    assert.deepStrictEqual(Tags.sortLexical(["b", "a10", "a9"]), ["a10", "a9", "b"])
  })
})

describe("Tags.withCreated", () => {
  it.effect("reads each tag's created time and sorts oldest first, undated last", () =>
    Effect.gen(function*() {
      yield* storeImage("team/app", "new", { created: "2026-03-01T00:00:00Z" })
      yield* storeImage("team/app", "old", { created: "2024-01-01T00:00:00Z" })
      yield* storeImage("team/app", "mid", { created: "2025-06-01T12:00:00Z" })
      yield* storeImage("team/app", "nodate")
      const dated = yield* Tags.withCreated("registry.test/team/app", ["new", "old", "mid", "nodate"])
      assert.strictEqual(dated.find((d) => d.tag === "old")?.created, "2024-01-01T00:00:00Z")
      assert.isString(dated.find((d) => d.tag === "nodate")?.digest)
      assert.deepStrictEqual(Tags.sortByCreated(dated).map((d) => d.tag), ["old", "mid", "new", "nodate"])
    }).pipe(Effect.provide(inMemory())))
})
