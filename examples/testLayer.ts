/**
 * Swapping layers in a test: the code under test asks only for a `RegistryClient`; the test
 * gives it one whose HTTP goes to `RegistryTest`, an in-memory registry (no sockets), and swaps
 * the `CredentialStore`: the right credentials (`layerStatic`) succeed, none (`layerAnonymous`)
 * fail with a typed `AuthenticationError`. With `@effect/vitest`, pass the same layers to
 * `layer(...)` or `Effect.provide` in `it.effect`.
 *
 * Run: npx tsx examples/testLayer.ts     (always in memory; it takes no arguments)
 */
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as MediaType from "@ocireg/core/MediaType"
import * as Registry from "@ocireg/core/Registry"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { isMain, jsonBytes, runMain } from "./support.js"

// --- the code under test --------------------------------------------------------------------

/** The digest `latest` points to. */
const latestDigest = (repository: string) =>
  Effect.map(Registry.headManifest(`${repository}:latest`), (head) => head.digest)

// --- the test -------------------------------------------------------------------------------

/** A registry that wants Basic credentials, and a client for it with the given credentials. */
const testEnvironment = (credentials: Layer.Layer<CredentialStore.CredentialStore>) =>
  RegistryClient.layer().pipe(
    Layer.provide(credentials),
    Layer.provideMerge(RegistryTest.layer({ auth: { basic: { ci: "s3cret" } } }))
  )

/** Seed the registry directly (no HTTP), then run the code under test. */
const scenario = Effect.gen(function*() {
  const registry = yield* RegistryTest.TestRegistry
  const config = jsonBytes({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } })
  const manifest = jsonBytes({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: registry.putBlob("team/app", config), size: config.length },
    layers: []
  })
  const expected = registry.putManifest("team/app", "latest", manifest, MediaType.ociManifest)
  const actual = yield* latestDigest("registry.test/team/app")
  if (actual !== expected) return yield* Effect.dieMessage(`expected ${expected}, got ${actual}`)
  return actual
})

const withCredentials = CredentialStore.layerStatic({
  "registry.test": CredentialStore.basic("ci", Redacted.make("s3cret"))
})

export const main = (_args: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const digest = yield* scenario.pipe(Effect.provide(testEnvironment(withCredentials)))
    yield* Console.log(`✓ with credentials: latest is ${digest}`)

    const error = yield* scenario.pipe(Effect.provide(testEnvironment(CredentialStore.layerAnonymous)), Effect.flip)
    if (error._tag !== "AuthenticationError") return yield* Effect.dieMessage(`expected AuthenticationError`)
    yield* Console.log(`✓ anonymous: ${error._tag}: ${error.message}`)
  })

if (isMain(import.meta.url)) runMain(main)
