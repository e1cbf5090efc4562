/**
 * The read path in headless Chromium against `RegistryServer` in the dialects of self-hosted
 * registries (CORS on, as their operators can set it): ping, tags, manifest by tag (Nexus refuses
 * `HEAD`), and a blob verified as it streams (Quay redirects it to its storage origin).
 */
import { assert, describe, it } from "@effect/vitest"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Registry from "@ocireg/core/Registry"
import * as BrowserCredentialStore from "@ocireg/platform-browser/BrowserCredentialStore"
import * as BrowserRegistry from "@ocireg/platform-browser/BrowserRegistry"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { inject } from "vitest"

const fixtures = inject("ocireg.dialectFixtures")

describe("the read path in Chromium, per dialect", () => {
  for (const fixture of fixtures) {
    const registryHost = fixture.host.split("/")[0]!
    const provide = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.provide(
        effect,
        BrowserRegistry.layer().pipe(
          Layer.provide(BrowserCredentialStore.layerMemory({
            [registryHost]: CredentialStore.basic("alice", Redacted.make("alice-password"))
          }))
        )
      ) as Effect.Effect<A, E, never>

    it.effect(`${fixture.dialect}: ping, tags, manifest and a verified blob`, () =>
      provide(Effect.gen(function*() {
        const ping = yield* Registry.ping(fixture.host)
        assert.deepStrictEqual(ping.apiVersion, Option.some("registry/2.0"))
        const repo = `${fixture.host}/${fixture.repository}`
        assert.deepStrictEqual(yield* Registry.listAllTags(repo), [fixture.tag])
        const head = yield* Registry.headManifest(`${repo}:${fixture.tag}`)
        assert.strictEqual(head.digest, fixture.digest)
        const manifest = yield* Registry.getManifest(`${repo}:${fixture.tag}`)
        assert.strictEqual(manifest.digest, fixture.digest)
        const size = yield* Stream.runFold(Registry.getBlob(repo, fixture.layer), 0, (n, c) => n + c.length)
        assert.strictEqual(size, fixture.layer.size)
      })))
  }
})
