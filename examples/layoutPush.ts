/**
 * Push an image or index from an OCI image layout directory to a registry
 * (`OciLayout.pushFromLayout`), what `skopeo copy oci:DIR:REF docker://…` does: the entry `ref`
 * names is read and verified, every blob is uploaded from its file (re-readable, so interrupted
 * uploads resume), then the manifests as their exact bytes: every digest is preserved.
 *
 * Run: npx tsx examples/layoutPush.ts [dir ref target]     WRITES: e.g. ./app-layout 1.0 localhost:5000/app:1.0
 * Without arguments it pulls the demo image of an embedded registry into a temporary layout and
 * pushes that layout back to another repository.
 */
import * as OciLayout from "@ocireg/platform-node/OciLayout"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Path from "node:path"
import { formatBytes, isMain, runMain, tempDir, usage, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) => {
  if (args.length > 0 && args.length < 3) return usage("npx tsx examples/layoutPush.ts [DIR REF TARGET]")
  return withRegistry(args[2], (target) =>
    Effect.gen(function*() {
      let [dir, ref, destination] = args
      if (dir === undefined || ref === undefined || destination === undefined) {
        // no layout given: make one from the demo image
        dir = Path.join(yield* tempDir, "layout")
        ref = "1.0"
        destination = `${target.host}/demo/from-layout:1.0`
        yield* OciLayout.pullToLayout(target.reference, dir, { tag: ref })
        yield* Console.log(`pulled ${target.reference} into a layout at ${dir}`)
      }
      const result = yield* OciLayout.pushFromLayout(dir, ref, destination)
      yield* Console.log(`pushed ${dir}:${ref} → ${result.reference} (${result.digest})`)
      yield* Console.log(
        `  ${result.manifests} manifest(s), blobs uploaded ${result.blobs.uploaded} / mounted ` +
          `${result.blobs.mounted} / existed ${result.blobs.existed}, ${formatBytes(result.bytesUploaded)} sent`
      )
    }))
}

if (isMain(import.meta.url)) runMain(main)
