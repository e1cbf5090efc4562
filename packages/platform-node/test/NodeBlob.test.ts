/**
 * Friction 7 of issue 16 (the download half): a blob to a file on Node that keeps typed errors,
 * instead of a hand-written pipe that turns the error channel into `unknown`.
 */
import type * as PlatformError from "@effect/platform/Error"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import type * as RegistryClient from "@ocireg/core/RegistryClient"
import * as RegistryClientModule from "@ocireg/core/RegistryClient"
import type { RegistryError } from "@ocireg/core/RegistryError"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as NodeBlob from "@ocireg/platform-node/NodeBlob"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const stack = RegistryClientModule.layer().pipe(
  Layer.provideMerge(RegistryTest.layer()),
  Layer.provide(CredentialStore.layerAnonymous)
)

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "ocireg-nodeblob-"))

describe("NodeBlob.downloadBlob (friction 7)", () => {
  it("keeps the registry's and the file system's errors typed", () => {
    const download = NodeBlob.downloadBlob("registry.test/team/app", { digest: "sha256:x", size: 1 }, "/tmp/x")
    expectTypeOf(download).toEqualTypeOf<
      Effect.Effect<NodeBlob.DownloadResult, RegistryError | PlatformError.PlatformError, RegistryClient.RegistryClient>
    >()
  })

  it.effect("writes the verified blob to the path, and reports progress", () =>
    Effect.gen(function*() {
      const seeded = yield* RegistryTest.seedImage({ repository: "team/app", layers: ["hello layer\n"] })
      const dir = tempDir()
      const events: Array<string> = []
      const result = yield* NodeBlob.downloadBlob(
        "registry.test/team/app",
        { digest: seeded.images[0]!.layers[0]!, size: 12 },
        Path.join(dir, "layer.tar"),
        { onEvent: (event) => Effect.sync(() => void events.push(event._tag)) }
      )
      assert.strictEqual(Fs.readFileSync(result.path, "utf8"), "hello layer\n")
      assert.deepStrictEqual(Fs.readdirSync(dir), ["layer.tar"])
      assert.strictEqual(events[0], "BlobStarted")
      assert.strictEqual(events.at(-1), "BlobFinished")
      Fs.rmSync(dir, { recursive: true })
    }).pipe(Effect.provide(stack)))

  it.effect("a blob that does not match leaves no file; a missing directory is a PlatformError", () =>
    Effect.gen(function*() {
      const seeded = yield* RegistryTest.seedImage({ repository: "team/app", layers: ["hello layer\n"] })
      const dir = tempDir()
      const wrongSize = yield* NodeBlob.downloadBlob(
        "registry.test/team/app",
        { digest: seeded.images[0]!.layers[0]!, size: 5 },
        Path.join(dir, "layer.tar")
      ).pipe(Effect.flip)
      assert.strictEqual(wrongSize._tag, "DigestMismatch")
      assert.deepStrictEqual(Fs.readdirSync(dir), [], "neither the file nor its temporary remains")
      const missing = yield* NodeBlob.downloadBlob(
        "registry.test/team/app",
        { digest: seeded.images[0]!.layers[0]!, size: 12 },
        Path.join(dir, "no", "such", "dir", "layer.tar")
      ).pipe(
        Effect.catchTag("SystemError", (e) => Effect.succeed(e.reason)),
        Effect.catchTag("NotFound", (e) => Effect.succeed(`registry ${e.kind}`))
      )
      assert.strictEqual(missing, "NotFound")
      const absent = yield* NodeBlob.downloadBlob(
        "registry.test/team/app",
        { digest: `sha256:${"0".repeat(64)}`, size: 1 },
        Path.join(dir, "absent")
      ).pipe(Effect.flip)
      assert.strictEqual(absent._tag, "NotFound")
      assert.deepStrictEqual(Fs.readdirSync(dir), [])
      Fs.rmSync(dir, { recursive: true })
    }).pipe(Effect.provide(stack)))
})
