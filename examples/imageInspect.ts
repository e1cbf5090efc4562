/**
 * Inspect an image (`Image.inspect`): its digest and media type, the platforms of an index, and
 * for one platform (or the single image) the config, the layers and the total size, as `docker
 * buildx imagetools inspect` and `crane manifest` show them.
 *
 * Run: npx tsx examples/imageInspect.ts [reference] [os/arch]     e.g. alpine:3 linux/arm64
 * Without an argument it inspects the demo image in an embedded registry.
 */
import * as Image from "@ocireg/core/Image"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { formatBytes, isMain, runMain, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      const info = yield* Image.inspect(target.reference, { platform: args[1] ?? "linux/amd64" })
      yield* Console.log(`${info.reference}\n  ${info.digest}\n  ${info.mediaType}`)
      for (const p of info.platforms) yield* Console.log(`  platform ${p.platform.padEnd(16)} ${p.digest}`)
      if (info.image !== undefined) {
        yield* Console.log(
          `  ${info.image.platform}: ${info.image.layers.length} layer(s), ` +
            `${formatBytes(info.image.totalSize)}, created ${info.image.created ?? "(unknown)"}`
        )
      }
    }))

if (isMain(import.meta.url)) runMain(main)
