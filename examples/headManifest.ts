/**
 * `HEAD /v2/<name>/manifests/<reference>`: a manifest's digest, media type and size without its
 * body (`Registry.headManifest`). Cheap enough to poll a tag for changes, and Docker Hub does not
 * count a `HEAD` as a pull.
 *
 * Run: npx tsx examples/headManifest.ts [reference]     e.g. alpine:3
 * Without an argument it asks an embedded registry about the demo image.
 */
import * as Registry from "@ocireg/core/Registry"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { isMain, runMain, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      const head = yield* Registry.headManifest(target.reference)
      yield* Console.log(`${target.reference} is ${head.digest}`)
      yield* Console.log(`  ${head.mediaType}, ${head.size} bytes`)
      yield* Option.match(head.rateLimit, {
        onNone: () => Console.log("  (no RateLimit headers)"),
        onSome: (limit) => Console.log(`  pulls left: ${limit.remaining} of ${limit.limit}`)
      })
    }))

if (isMain(import.meta.url)) runMain(main)
