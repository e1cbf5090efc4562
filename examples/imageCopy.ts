/**
 * Copy an image or index (`Image.copy`) to another repository or registry, preserving every
 * digest: manifests recursively, blobs concurrently and verified, skipped when the target has
 * them, mounted when source and target share a registry. `platform` copies one image of an
 * index; `referrers: true` brings signatures and SBOMs along.
 *
 * Run: npx tsx examples/imageCopy.ts [source target]     WRITES to target, e.g. alpine:3 localhost:5000/alpine:3
 * Without arguments it copies the demo image from one embedded registry to a second one, and
 * within the second (where the blobs are mounted).
 */
import * as Image from "@ocireg/core/Image"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { formatBytes, isMain, runMain, startEmbeddedRegistry, usage, withRegistry } from "./support.js"

const report = (what: string, result: Image.CopyResult) =>
  Console.log(
    `${what}: ${result.digest.slice(0, 19)}…, ${result.manifests} manifest(s), blobs uploaded ` +
      `${result.blobs.uploaded} / mounted ${result.blobs.mounted} / existed ${result.blobs.existed}, ` +
      `${formatBytes(result.bytesUploaded)} sent`
  )

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (source) =>
    Effect.gen(function*() {
      if (source.demo === undefined) {
        if (args[1] === undefined) return yield* usage("npx tsx examples/imageCopy.ts [SOURCE TARGET]")
        return yield* report(`${args[0]} → ${args[1]}`, yield* Image.copy(source.reference, args[1]))
      }
      // another registry: every blob is streamed across
      const other = yield* startEmbeddedRegistry()
      const mirror = `${other.host}/mirror/app:1.0`
      yield* report("to another registry", yield* Image.copy(source.reference, mirror, { referrers: true }))
      // the same registry, another repository: blobs are mounted
      yield* report("within that registry", yield* Image.copy(mirror, `${other.host}/mirror/app2:1.0`))
      // again: everything is there
      yield* report("once more", yield* Image.copy(source.reference, mirror))
    }))

if (isMain(import.meta.url)) runMain(main)
