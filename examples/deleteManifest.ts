/**
 * `DELETE /v2/<name>/manifests/<reference>`: remove a tag (`Registry.deleteTag`, not every
 * registry allows it) or a manifest with every tag that points to it (`Registry.deleteManifest`,
 * by digest; a tag is resolved first). Registries must have deletion enabled.
 *
 * Run: npx tsx examples/deleteManifest.ts [repository]     WRITES: pushes a throwaway image and deletes it
 * Without an argument it works in an embedded registry. It never deletes what it did not push.
 */
import * as Image from "@ocireg/core/Image"
import * as Registry from "@ocireg/core/Registry"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { isMain, makeImage, runMain, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      // a throwaway image (a fresh `created` time gives it a digest of its own), under two tags
      const image = yield* makeImage({
        platform: "linux/amd64",
        text: "delete me\n",
        created: new Date().toISOString()
      })
      const pushed = yield* Image.push(`${target.repository}:delete-me`, image.toPush)
      yield* Image.tag(`${target.repository}:delete-me`, "delete-me-too")
      yield* Console.log(`pushed ${pushed.digest} as delete-me and delete-me-too`)

      // remove one tag, keep the manifest
      yield* Registry.deleteTag(`${target.repository}:delete-me-too`).pipe(
        Effect.zipRight(Console.log("deleted the tag delete-me-too")),
        Effect.catchTag("RegistryResponseError", (e) => Console.log(`this registry keeps tags: ${e.message}`))
      )

      // delete the manifest (and every tag still pointing to it)
      const deleted = yield* Registry.deleteManifest(`${target.repository}:delete-me`)
      yield* Console.log(`deleted manifest ${deleted}`)
      yield* Registry.headManifest(`${target.repository}@${deleted}`).pipe(
        Effect.zipRight(Console.log("  …but the registry still serves it")),
        Effect.catchTag("NotFound", () => Console.log("  it is gone"))
      )
    }))

if (isMain(import.meta.url)) runMain(main)
