/**
 * Copy a multi-platform index between two registries, with one concurrency cap and progress. The
 * registries are in memory (`RegistryTest.layerHosts`: `src.test` and `dst.test`, any other host
 * refused), seeded in one call (`RegistryTest.seedImage`); the same program runs unchanged against
 * real registries with `NodeRegistry.layer()`. The progress handler is an Effect service of its
 * own (`onEvent` may need services: they show in the program's requirements).
 *
 * Run: npx tsx examples/copyIndex.ts     (always in memory; it takes no arguments)
 */
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Image from "@ocireg/core/Image"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { isMain, runMain } from "./support.js"

/** Where progress goes: a service, so a test or a UI can give its own. */
export class Progress extends Context.Tag("examples/Progress")<Progress, {
  readonly event: (event: Image.TransferEvent) => Effect.Effect<void>
  readonly summary: Effect.Effect<{ readonly started: number; readonly finished: number; readonly maxInFlight: number }>
}>() {}

/** Progress that counts blobs and the most in flight at once. */
export const countingProgress = Layer.effect(
  Progress,
  Effect.gen(function*() {
    const state = yield* Ref.make({ started: 0, finished: 0, inFlight: 0, maxInFlight: 0 })
    return {
      event: (event) =>
        Ref.update(state, (s) => {
          if (event._tag === "BlobStarted") {
            return {
              ...s,
              started: s.started + 1,
              inFlight: s.inFlight + 1,
              maxInFlight: Math.max(s.maxInFlight, s.inFlight + 1)
            }
          }
          if (event._tag === "BlobFinished") return { ...s, finished: s.finished + 1, inFlight: s.inFlight - 1 }
          return s
        }),
      summary: Ref.get(state)
    }
  })
)

/** Two registries on their own hosts, and a client for them. */
export const twoRegistries = RegistryClient.layer().pipe(
  Layer.provideMerge(RegistryTest.layerHosts({ "src.test": {}, "dst.test": {} })),
  Layer.provide(CredentialStore.layerAnonymous)
)

/** The program: copy `src.test/team/app:1.0` to `dst.test/mirror/app:1.0`, 3 blobs at a time. */
export const copyIndex = Effect.gen(function*() {
  const copied = yield* Image.copy("src.test/team/app:1.0", "dst.test/mirror/app:1.0", {
    concurrency: 3,
    onEvent: (event) => Effect.flatMap(Progress, (progress) => progress.event(event))
  })
  const summary = yield* Effect.flatMap(Progress, (progress) => progress.summary)
  return { copied, summary }
})

export const main = (_args: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const registries = yield* RegistryTest.TestRegistries
    const seeded = RegistryTest.seedImageInto(registries.get("src.test")!, {
      repository: "team/app",
      tags: ["1.0"],
      platforms: ["linux/amd64", "linux/arm64", "linux/arm/v7"],
      layers: 2
    })
    yield* Console.log(
      `seeded src.test/team/app:1.0 = ${seeded.digest} (${seeded.images.length} platforms, ${seeded.blobs.length} blobs)`
    )
    const { copied, summary } = yield* copyIndex
    yield* Console.log(
      `copied ${copied.manifests} manifest(s), uploaded ${copied.blobs.uploaded} blob(s); ` +
        `at most ${summary.maxInFlight} blob(s) in flight (cap 3)`
    )
    const dst = registries.get("dst.test")!
    yield* Console.log(
      `dst.test/mirror/app:1.0 = ${dst.tags("mirror/app").get("1.0")} (same digest: ${
        dst.tags("mirror/app").get("1.0") === seeded.digest
      })`
    )
    const typo = yield* Image.inspect("dst.tset/mirror/app:1.0").pipe(RegistryClient.withoutRetries, Effect.flip)
    yield* Console.log(`a mistyped host is refused: ${typo._tag}`)
  }).pipe(Effect.provide(countingProgress), Effect.provide(twoRegistries))

if (isMain(import.meta.url)) runMain(main)
