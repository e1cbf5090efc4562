/**
 * Pull an image or index into an OCI image layout directory (`OciLayout.pullToLayout`), what
 * `skopeo copy docker://… oci:DIR:TAG` does: every blob streamed to disk and verified twice (as it
 * arrives, and as it is written: temporary file, fsync, rename), the manifests as their exact
 * bytes, then the `index.json` entry named by the tag.
 *
 * Run: npx tsx examples/layoutPull.ts [reference] [dir]     e.g. alpine:3 ./alpine-layout
 * Without a directory it uses a temporary one (removed at the end); without a reference it pulls
 * the demo image from an embedded registry.
 */
import * as OciLayout from "@ocireg/platform-node/OciLayout"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Path from "node:path"
import { formatBytes, isMain, runMain, tempDir, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      const dir = args[1] ?? Path.join(yield* tempDir, "layout")
      const result = yield* OciLayout.pullToLayout(target.reference, dir)
      yield* Console.log(`${target.reference} → ${dir}`)
      yield* Console.log(
        `  ${result.manifests} manifest(s), ${result.blobs} blob(s) written (${result.existed} there already), ` +
          `${formatBytes(result.bytes)}`
      )
      // read the layout back: its index.json names the image by tag
      const layout = yield* OciLayout.open(dir)
      for (const ref of yield* OciLayout.refs(layout)) {
        yield* Console.log(`  ${ref.name} → ${ref.descriptor.digest}`)
      }
    }))

if (isMain(import.meta.url)) runMain(main)
