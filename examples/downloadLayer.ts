/**
 * An everyday program: list the tags of a repository, pick one platform's image, and download a
 * layer to a file, with a timeout on each attempt and retries around the whole. The error channel
 * holds the registry's errors, Effect's `TimeoutException` and the file system's `PlatformError`;
 * `RegistryClient.isRetryable` and `RegistryClient.defaultRetrySchedule` accept them all (a
 * timeout is worth another try, a full disk is not), and the client's own per-request retries are
 * turned off so that the 30 s per attempt is a deadline that holds (see docs/retries.md).
 *
 * Run: npx tsx examples/downloadLayer.ts [reference] [os/arch] [file]
 */
import * as Image from "@ocireg/core/Image"
import * as Registry from "@ocireg/core/Registry"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as NodeBlob from "@ocireg/platform-node/NodeBlob"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { isMain, runMain, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      const tags = yield* Registry.listAllTags(target.repository)
      yield* Console.log(`${target.repository} has ${tags.length} tag(s): ${tags.join(", ")}`)
      const platform = args[1] ?? "linux/arm64"
      const image = yield* Image.resolve(target.reference, { platform })
      const layer = image.layers[0]
      if (layer === undefined) return yield* Console.log(`${platform} has no layers`)
      const file = args[2] ?? Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "ocireg-layer-")), "layer.tar")
      const written = yield* NodeBlob.downloadBlob(image.reference, layer, file).pipe(
        RegistryClient.withoutRetries, // one try per attempt: the timeout below bounds each one
        Effect.timeout("30 seconds"), // adds TimeoutException to the error channel
        Effect.tapError((error) => Console.log(`attempt failed: ${error._tag}`)),
        Effect.retry({ schedule: RegistryClient.defaultRetrySchedule, while: RegistryClient.isRetryable })
      )
      yield* Console.log(
        `${platform} layer ${written.digest} (${written.size} bytes) verified and written to ${written.path}`
      )
    }))

if (isMain(import.meta.url)) runMain(main)
