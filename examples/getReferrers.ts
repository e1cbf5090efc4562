/**
 * `GET /v2/<name>/referrers/<digest>`: the artifacts (signatures, SBOMs, attestations) whose
 * `subject` is a manifest (`Registry.getReferrers`). Registries without the referrers API are
 * read through the `sha256-<hex>` fallback tag instead; `artifactType` filters.
 *
 * Run: npx tsx examples/getReferrers.ts [reference]     e.g. ghcr.io/owner/app:1.0
 * Without an argument it lists the SBOM attached to the demo image in an embedded registry.
 */
import * as Registry from "@ocireg/core/Registry"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { isMain, runMain, sbomArtifactType, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      // referrers are asked for by digest: resolve the tag first
      const { digest } = yield* Registry.headManifest(target.reference)
      const subject = `${target.repository}@${digest}`

      const referrers = yield* Registry.getReferrers(subject)
      yield* Console.log(`${referrers.length} referrer(s) of ${subject}`)
      for (const referrer of referrers) {
        yield* Console.log(
          `  ${referrer.artifactType ?? referrer.mediaType} ${referrer.digest} (${referrer.size} bytes)`
        )
      }
      const sboms = yield* Registry.getReferrers(subject, { artifactType: sbomArtifactType })
      yield* Console.log(`${sboms.length} of type ${sbomArtifactType}`)
    }))

if (isMain(import.meta.url)) runMain(main)
