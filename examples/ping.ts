/**
 * `GET /v2/`: check that a host speaks the registry API (`Registry.ping`). A registry that wants
 * credentials answers 401 first; ocireg then authenticates and asks again.
 *
 * Run: npx tsx examples/ping.ts [registry-host]     e.g. ghcr.io, localhost:5000
 * Without an argument it pings an embedded registry on a loopback port.
 */
import * as Registry from "@ocireg/core/Registry"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { isMain, runMain, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      const result = yield* Registry.ping(target.host)
      const version = Option.getOrElse(result.apiVersion, () => "(no Docker-Distribution-API-Version header)")
      yield* Console.log(`${result.registry} speaks the registry API: ${version}`)
    }))

if (isMain(import.meta.url)) runMain(main)
