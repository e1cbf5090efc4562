/**
 * `GET /v2/_catalog`: the repositories of a registry, page by page (`Registry.listRepositories`)
 * or all at once (`Registry.listAllRepositories`). Many registries allow the catalog only to
 * administrators (Docker Hub never): the typed errors tell you so.
 *
 * Run: npx tsx examples/listRepositories.ts [registry-host]     e.g. localhost:5000
 * Without an argument it lists the repositories of an embedded registry holding the demo image.
 */
import * as Registry from "@ocireg/core/Registry"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { isMain, runMain, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      yield* Registry.listRepositories(target.host, { pageSize: 100 }).pipe(
        Stream.take(2),
        Stream.runForEach((page) => Console.log(`page: ${page.join(", ")}`))
      )
      const all = yield* Registry.listAllRepositories(target.host)
      yield* Console.log(`${all.length} repositories in ${target.host}`)
    }).pipe(
      Effect.catchTags({
        AuthenticationError: (e) => Console.log(`${target.host} wants credentials for its catalog: ${e.message}`),
        AuthorizationError: (e) => Console.log(`${target.host} does not let you list its catalog: ${e.message}`)
      })
    ))

if (isMain(import.meta.url)) runMain(main)
