/**
 * `HEAD /v2/<name>/blobs/<digest>`: whether a repository has a blob, and its size
 * (`Registry.headBlob`); a missing blob fails with `NotFound`.
 *
 * Run: npx tsx examples/headBlob.ts [reference]     e.g. alpine:3 (asks about its config blob)
 * Without an argument it asks an embedded registry about a blob of the demo image.
 */
import * as Digest from "@ocireg/core/Digest"
import * as Image from "@ocireg/core/Image"
import * as Registry from "@ocireg/core/Registry"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { isMain, runMain, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      const image = yield* Image.resolve(target.reference)
      const config = image.image.manifest.manifest.config
      const head = yield* Registry.headBlob(target.reference, config.digest)
      yield* Console.log(`${target.repository} has ${head.digest} (${head.size} bytes)`)

      // a blob nobody pushed
      const missing = yield* Digest.ofBytes(new TextEncoder().encode(`not a blob ${Date.now()}`))
      yield* Registry.headBlob(target.reference, missing).pipe(
        Effect.zipRight(Console.log(`${target.repository} has ${missing}?!`)),
        Effect.catchTag("NotFound", (e) => Console.log(`${missing.slice(0, 19)}…: NotFound (${e.kind})`))
      )
    }))

if (isMain(import.meta.url)) runMain(main)
