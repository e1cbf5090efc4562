/**
 * `GET /v2/<name>/blobs/<digest>`: a blob's bytes as a `Stream` (`Registry.getBlob`). The bytes
 * are hashed as they pass and the stream fails with `DigestMismatch` if they do not match the
 * digest (or the size); nothing is buffered whole, and a download that breaks off is resumed.
 * A small blob (here the image's config) is read whole with `Registry.getBlobBytes`, verified too.
 *
 * Run: npx tsx examples/getBlob.ts [reference]     e.g. alpine:3 (reads its first layer)
 * Without an argument it reads a layer of the demo image from an embedded registry.
 */
import * as Image from "@ocireg/core/Image"
import * as Registry from "@ocireg/core/Registry"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { formatBytes, isMain, runMain, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      // find a blob: the first layer of the image (linux/amd64 of an index)
      const image = yield* Image.resolve(target.reference)
      const layer = image.layers[0]
      if (layer === undefined) return yield* Console.log("the image has no layers")

      // stream it: count the bytes, and keep the first ones to show
      const { bytes, chunks, head } = yield* Registry.getBlob(target.reference, layer).pipe(
        Stream.runFold({ bytes: 0, chunks: 0, head: new Uint8Array() as Uint8Array }, (acc, chunk) => ({
          bytes: acc.bytes + chunk.length,
          chunks: acc.chunks + 1,
          head: acc.head.length > 0 ? acc.head : chunk.subarray(0, 100)
        }))
      )
      yield* Console.log(`${layer.digest}: ${formatBytes(bytes)} in ${chunks} chunk(s), digest verified`)

      // a small blob whole, in one GET: the config (its descriptor is in the image manifest), as JSON
      const descriptor = image.image.manifest.manifest.config
      const config = yield* Registry.getBlobBytes(target.reference, descriptor)
      const { architecture } = JSON.parse(new TextDecoder().decode(config)) as { readonly architecture?: string }
      yield* Console.log(`config ${descriptor.digest}: ${config.length} bytes, architecture ${architecture}`)
      if (layer.mediaType.endsWith(".tar")) {
        // an uncompressed layer: a tar archive, whose first header starts with a file name
        yield* Console.log(`  first file in the layer: ${new TextDecoder().decode(head).split("\0")[0]}`)
      }
    }))

if (isMain(import.meta.url)) runMain(main)
