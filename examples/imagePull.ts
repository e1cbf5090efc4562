/**
 * Pull an image (`Image.pull`): tag → digest → (index → the platform's manifest) → config, every
 * manifest verified against its digest; the layers come as streams that verify digest and size as
 * they pass. Here each layer is streamed and counted; pipe it to a file or a tar reader instead.
 * (To store a whole image on disk, see layoutPull.ts.)
 *
 * Run: npx tsx examples/imagePull.ts [reference] [os/arch]     e.g. alpine:3 linux/arm64
 * Without an argument it pulls the demo image from an embedded registry.
 */
import * as Image from "@ocireg/core/Image"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { formatBytes, isMain, runMain, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      const image = yield* Image.pull(target.reference, { platform: args[1] ?? "linux/amd64" })
      const { config } = image
      yield* Console.log(`${target.reference} → ${image.image.digest}`)
      yield* Console.log(`  ${config.os}/${config.architecture}, created ${config.created ?? "(unknown)"}`)
      yield* Console.log(`  command: ${JSON.stringify(config.config?.Cmd ?? [])}`)
      for (const { descriptor, stream } of image.layerStreams) {
        const size = yield* Stream.runFold(stream, 0, (n, chunk) => n + chunk.length)
        yield* Console.log(`  layer ${descriptor.digest}: ${formatBytes(size)}, verified`)
      }
    }))

if (isMain(import.meta.url)) runMain(main)
