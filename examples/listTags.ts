/**
 * `GET /v2/<name>/tags/list`: a repository's tags, page by page (`Registry.listTags`, a `Stream`
 * that follows the registry's `Link` headers) or all at once (`Registry.listAllTags`).
 *
 * Run: npx tsx examples/listTags.ts [repository]    e.g. alpine, ghcr.io/owner/app
 * Without an argument it lists the tags of the demo image in an embedded registry.
 */
import * as Registry from "@ocireg/core/Registry"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { isMain, runMain, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      // Two tags per page (`?n=2`), the first three pages only: pages are fetched as they are pulled.
      yield* Registry.listTags(target.reference, { pageSize: 2 }).pipe(
        Stream.take(3),
        Stream.runForEach((page) => Console.log(`page of ${page.name}: ${page.tags.join(", ")}`))
      )
      // Every page, collected.
      const tags = yield* Registry.listAllTags(target.reference)
      yield* Console.log(`${tags.length} tags: ${tags.join(", ")}`)
    }))

if (isMain(import.meta.url)) runMain(main)
