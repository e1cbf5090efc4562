/**
 * References, as `docker-registry-client`'s `parseRepoAndRef` gives them (`Reference.parseRepoAndRef`,
 * with Docker Hub normalisation: `alpine` is `docker.io/library/alpine`), and as ocireg's own
 * `Reference.parse` gives them (what every operation accepts). Pure: no registry is involved.
 *
 * Run: npx tsx examples/parseRepoAndRef.ts [reference]     e.g. myreg.example.com:5000/busybox:foo
 */
import * as Reference from "@ocireg/core/Reference"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { isMain, runMain } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const input = args[0] ?? "mongo"
    const info = yield* Reference.parseRepoAndRef(input)
    yield* Console.log(JSON.stringify(info, null, 4))
    const ref = yield* Reference.parseEffect(input)
    yield* Console.log(
      `Reference.parse: registry ${ref.registry}, repository ${ref.repository}, ` +
        `${ref.digest !== undefined ? `digest ${ref.digest}` : `tag ${ref.tag ?? Reference.latestTag}`}`
    )
    yield* Console.log(`format: ${Reference.format(ref)}  familiar: ${Reference.familiar(ref)}`)
  })

if (isMain(import.meta.url)) runMain(main)
