/**
 * `ocireg registry serve`: the in-memory registry on a loopback port until interrupted.
 *
 * @internal
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as Effect from "effect/Effect"
import * as NodeHasher from "../../NodeHasher.js"
import * as RegistryServer from "../../RegistryServer.js"
import { root } from "./global.js"
import { result } from "./output.js"

const port = Options.integer("port").pipe(
  Options.withDefault(0),
  Options.withDescription("port (default: any free one)")
)
const address = Options.text("address").pipe(
  Options.withDefault("127.0.0.1"),
  Options.withDescription("address to listen on (default 127.0.0.1)")
)

const dialect = Options.choice("dialect", RegistryTest.dialects).pipe(
  Options.withDefault("distribution" as const),
  Options.withDescription("answer as this registry does (default distribution; see docs/registries.md)")
)

const serve = Command.make("serve", { port, address, dialect }, (args) =>
  Effect.gen(function*() {
    const global = yield* root
    const running = yield* RegistryServer.serve({
      port: args.port,
      hostname: args.address,
      tagDelete: true,
      dialect: args.dialect
    })
    const prefix = args.dialect === "artifactory" ? RegistryTest.artifactoryPrefix : ""
    yield* result(global.json, {
      url: running.url,
      host: running.host,
      dialect: args.dialect,
      ...(prefix !== "" ? { pathPrefix: prefix } : {}),
      ...(running.storageUrl !== undefined ? { storageUrl: running.storageUrl } : {})
    }, () => [
      `serving an in-memory registry at ${running.url}${prefix} (${args.dialect} dialect; Ctrl-C to stop)`
    ])
    return yield* Effect.never
  }).pipe(Effect.scoped, Effect.provide(NodeHasher.layer))).pipe(
    Command.withDescription("serve an in-memory OCI registry over HTTP (for demos and tests)")
  )

/** `ocireg registry …` */
export const registry = Command.make("registry").pipe(
  Command.withDescription("run a registry"),
  Command.withSubcommands([serve])
)
