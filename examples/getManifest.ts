/**
 * `GET /v2/<name>/manifests/<reference>`: fetch a manifest or index by tag or digest
 * (`Registry.getManifest`). Its bytes are hashed and checked against the digest asked for and
 * the registry's `Docker-Content-Digest`, then decoded by media type.
 *
 * Run: npx tsx examples/getManifest.ts [reference]     e.g. alpine:3, ghcr.io/owner/app@sha256:…
 * Without an argument it reads the demo image (an OCI index) from an embedded registry.
 */
import * as Manifest from "@ocireg/core/Manifest"
import * as Reference from "@ocireg/core/Reference"
import * as Registry from "@ocireg/core/Registry"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { isMain, runMain, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      const result = yield* Registry.getManifest(target.reference)
      yield* Console.log(`${Reference.format(result.reference)}`)
      yield* Console.log(`  digest     ${result.digest}`)
      yield* Console.log(`  mediaType  ${result.mediaType} (${result.size} bytes)`)
      if (Manifest.isIndexLike(result.manifest)) {
        // an index (or Docker manifest list): one entry per platform
        for (const child of Manifest.descriptors(result.manifest)) {
          const platform = Option.getOrElse(Manifest.platformOf(child), () => "(no platform)")
          yield* Console.log(`  ${platform.padEnd(16)} ${child.digest}`)
        }
      } else {
        // an image manifest: its config and layers
        for (const descriptor of Manifest.descriptors(result.manifest)) {
          yield* Console.log(`  ${descriptor.mediaType} ${descriptor.digest} ${descriptor.size}`)
        }
      }
      if (Option.isSome(result.rateLimit)) {
        yield* Console.log(`  pulls left: ${result.rateLimit.value.remaining} of ${result.rateLimit.value.limit}`)
      }
    }))

if (isMain(import.meta.url)) runMain(main)
