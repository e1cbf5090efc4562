/**
 * Tag an image (`Image.tag`): put an existing manifest under another tag of the same repository;
 * the manifest's exact bytes are re-put, no blob moves, the digest stays.
 *
 * Run: npx tsx examples/imageTag.ts [reference new-tag]     WRITES: e.g. localhost:5000/app:1.0 stable
 * Without arguments it tags the demo image in an embedded registry as `stable`.
 */
import * as Image from "@ocireg/core/Image"
import * as Registry from "@ocireg/core/Registry"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { isMain, runMain, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      const newTag = args[1] ?? "stable"
      const tagged = yield* Image.tag(target.reference, newTag)
      yield* Console.log(`${target.reference} is now also ${tagged.reference} (${tagged.digest})`)
      const tags = yield* Registry.listAllTags(target.repository)
      yield* Console.log(`tags: ${tags.join(", ")}`)
    }))

if (isMain(import.meta.url)) runMain(main)
