/**
 * `ocireg registry serve`: the test registry on a loopback port until interrupted, in memory or
 * kept in a directory (`--storage`), open to anyone or behind HTTP Basic or Bearer tokens from
 * its own token endpoint (`--auth`, `--htpasswd`, `--auth-mode`).
 *
 * @internal
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Fs from "node:fs"
import * as NodeHasher from "../../NodeHasher.js"
import * as RegistryServer from "../../RegistryServer.js"
import * as Users from "../registryUsers.js"
import { root } from "./global.js"
import { result, UsageError } from "./output.js"

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

const storage = Options.directory("storage").pipe(
  Options.optional,
  Options.withDescription("keep the content in this directory (distribution's layout), kept across restarts")
)

const auth = Options.text("auth").pipe(
  Options.repeated,
  Options.withDescription("user:password that may log in (repeatable); every /v2/ request then needs credentials")
)

const htpasswd = Options.file("htpasswd").pipe(
  Options.optional,
  Options.withDescription("users from a password file of bcrypt hashes (htpasswd -B), as registry:2 reads")
)

const authMode = Options.choice("auth-mode", ["basic", "token"] as const).pipe(
  Options.withDefault("basic" as const),
  Options.withDescription("basic: HTTP Basic on every request; token: Bearer tokens from the built-in /token realm")
)

/** The registry's `auth` option from the command line, or a usage error. */
const authOf = (
  pairs: ReadonlyArray<string>,
  file: Option.Option<string>,
  mode: "basic" | "token"
): Effect.Effect<RegistryTest.Auth, UsageError> =>
  Effect.try({
    try: (): RegistryTest.Auth => {
      const users = Users.parsePairs(pairs)
      if (Option.isSome(file)) {
        for (const [user, secret] of Users.parseHtpasswd(Fs.readFileSync(file.value, "utf8"), file.value)) {
          users.set(user, secret)
        }
      }
      if (users.size === 0) return "none"
      const check = Users.check(users)
      return mode === "token" ? { bearer: { users: check } } : { basic: check }
    },
    catch: (cause) => new UsageError({ message: cause instanceof Error ? cause.message : String(cause) })
  })

const serve = Command.make(
  "serve",
  { port, address, dialect, storage, auth, htpasswd, authMode },
  (args) =>
    Effect.gen(function*() {
      const global = yield* root
      const access = yield* authOf(args.auth, args.htpasswd, args.authMode)
      if (access === "none" && args.authMode === "token") {
        return yield* new UsageError({ message: "--auth-mode token needs users: --auth user:password or --htpasswd" })
      }
      const directory = Option.getOrUndefined(args.storage)
      const running = yield* RegistryServer.serve({
        port: args.port,
        hostname: args.address,
        tagDelete: true,
        dialect: args.dialect,
        ...(access !== "none" ? { auth: access } : {}),
        ...(directory !== undefined ? { storage: directory } : {})
      })
      const authName = access === "none" ? "none" : args.authMode
      const prefix = args.dialect === "artifactory" ? RegistryTest.artifactoryPrefix : ""
      yield* result(global.json, {
        url: running.url,
        host: running.host,
        dialect: args.dialect,
        storage: directory ?? "memory",
        auth: authName,
        ...(prefix !== "" ? { pathPrefix: prefix } : {}),
        ...(running.storageUrl !== undefined ? { storageUrl: running.storageUrl } : {})
      }, () => [
        `serving ${
          directory === undefined ? "an in-memory registry" : `the registry in ${directory}`
        } at ${running.url}${prefix} (${args.dialect} dialect${
          authName === "none" ? "" : `, ${authName} auth`
        }; Ctrl-C to stop)`
      ])
      return yield* Effect.never
    }).pipe(Effect.scoped, Effect.provide(NodeHasher.layer))
).pipe(
  Command.withDescription("serve an OCI registry over HTTP, in memory or in a directory (for demos and tests)")
)

/** `ocireg registry …` */
export const registry = Command.make("registry").pipe(
  Command.withDescription("run a registry"),
  Command.withSubcommands([serve])
)
