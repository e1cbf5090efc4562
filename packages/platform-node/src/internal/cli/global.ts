/**
 * The `ocireg` root command, its global options, and the layer every subcommand runs in: the
 * Node registry client, with the credentials given on the command line for the registries the
 * command names, and Docker's credentials for the rest.
 *
 * @internal
 */
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import type { Hasher } from "@ocireg/core/Digest"
import * as Reference from "@ocireg/core/Reference"
import type * as RegistryClient from "@ocireg/core/RegistryClient"
import { AuthenticationError } from "@ocireg/core/RegistryError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as DockerCredentialStore from "../../DockerCredentialStore.js"
import * as NodeRegistry from "../../NodeRegistry.js"

/**
 * Parse `HOST=PREFIX` values of `--path-prefix` into the client's `pathPrefix` record. A prefix is
 * a URL path (`/artifactory/api/docker/docker-local`): no scheme, query, fragment, `..` or spaces.
 */
export const parsePathPrefixes = (
  values: ReadonlyArray<string>
): Either.Either<Readonly<Record<string, string>>, string> => {
  const prefixes: Record<string, string> = {}
  for (const value of values) {
    const eq = value.indexOf("=")
    const host = eq < 0 ? "" : value.slice(0, eq)
    const prefix = eq < 0 ? "" : value.slice(eq + 1)
    if (host === "" || host.includes("/") || prefix.replace(/\//g, "") === "") {
      return Either.left(`--path-prefix needs HOST=PREFIX (art.example.com=/artifactory/api/docker/KEY), not ${value}`)
    }
    if (/[\s?#]|:\/\/|(^|\/)\.\.?(\/|$)/.test(prefix)) {
      return Either.left(`--path-prefix ${host}: ${prefix} is not a URL path`)
    }
    prefixes[host] = prefix.startsWith("/") ? prefix : `/${prefix}`
  }
  return Either.right(prefixes)
}

/** The global options, given before the subcommand. */
export const globalOptions = {
  insecure: Options.text("insecure").pipe(
    Options.repeated,
    Options.withDescription("a registry host (name[:port]) to reach over plain HTTP; repeatable")
  ),
  pathPrefix: Options.text("path-prefix").pipe(
    Options.repeated,
    Options.mapEffect((values) =>
      Either.match(parsePathPrefixes(values), {
        onLeft: (message) => Effect.fail(ValidationError.invalidValue(HelpDoc.p(message))),
        onRight: Effect.succeed
      })
    ),
    Options.withDescription(
      "HOST=PREFIX: the registry API under a path (Artifactory's /artifactory/api/docker/KEY); repeatable"
    )
  ),
  platform: Options.text("platform").pipe(
    Options.optional,
    Options.withDescription("os/arch[/variant] of an index to use (default linux/amd64; pull/copy: all)")
  ),
  username: Options.text("username").pipe(
    Options.withAlias("u"),
    Options.optional,
    Options.withDescription("username for the registries this command names")
  ),
  passwordStdin: Options.boolean("password-stdin").pipe(
    Options.withDescription("read the password (or token) from standard input")
  ),
  authfile: Options.file("authfile").pipe(
    Options.optional,
    Options.withDescription("read credentials from this auth.json / config.json only (as podman's --authfile)")
  ),
  json: Options.boolean("json").pipe(Options.withDescription("machine-readable output")),
  verbose: Options.boolean("verbose").pipe(Options.withAlias("v"), Options.withDescription("log each request"))
}

/** The root command; subcommands read the global options by yielding it. */
export const root = Command.make("ocireg", globalOptions)

/** The parsed global options. */
export type Global = Command.Command.ParseConfig<typeof globalOptions>

// Standard input can be read only once: a command that builds its client layer twice (say, once
// for the manifest and once for the blobs) must get the same password, not wait for an `end`
// that already came (the process then exited with nothing done).
let stdinText: Promise<string> | undefined

const readStdinOnce = (): Promise<string> =>
  stdinText ??= new Promise<string>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    process.stdin.on("data", (chunk: Buffer) => chunks.push(chunk))
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "")))
    process.stdin.on("error", reject)
  })

const readStdin = Effect.tryPromise({
  try: readStdinOnce,
  catch: () =>
    new AuthenticationError({ registry: "stdin", reason: "MissingCredentials", detail: "cannot read the password" })
})

/** The registry hosts named by the command's arguments: references, or bare hosts (no `/`). */
export const hostsOf = (inputs: ReadonlyArray<string>): ReadonlyArray<string> =>
  inputs.flatMap((input) =>
    !input.includes("/")
      ? [input]
      : Either.match(Reference.parse(input), { onLeft: () => [], onRight: (ref) => [ref.registry] })
  )

/** The password given with --password-stdin, read once. */
export const password = (
  global: Global
): Effect.Effect<Option.Option<Redacted.Redacted<string>>, AuthenticationError> =>
  global.passwordStdin ? Effect.map(readStdin, (p) => Option.some(Redacted.make(p))) : Effect.succeedNone

/**
 * The registry client for a command: command-line credentials (`--username`, `--password-stdin`)
 * for `hosts`, Docker's for the rest.
 */
export const clientLayer = (
  global: Global,
  hosts: ReadonlyArray<string>
): Layer.Layer<RegistryClient.RegistryClient | Hasher, AuthenticationError> =>
  Layer.unwrapEffect(Effect.map(password(global), (secret) => clientLayerWith(global, hosts, secret)))

/**
 * `clientLayer` with the password already read. `perHost` credentials (from `--src-creds`,
 * `--dest-creds`) win over `--username`'s; the credential files come last (only `--authfile`
 * when it is given: it is then the only file read, as `REGISTRY_AUTH_FILE` makes it).
 */
export const clientLayerWith = (
  global: Global,
  hosts: ReadonlyArray<string>,
  secret: Option.Option<Redacted.Redacted<string>>,
  perHost: Readonly<Record<string, CredentialStore.Credential>> = {}
): Layer.Layer<RegistryClient.RegistryClient | Hasher> => {
  const fromFlags: Record<string, CredentialStore.Credential> = Option.isSome(global.username) && Option.isSome(secret)
    ? Object.fromEntries(
      hostsOf(hosts).map((host) => [host, CredentialStore.basic(global.username.pipe(Option.getOrThrow), secret.value)])
    )
    : {}
  const explicit = CredentialStore.layerStatic({ ...fromFlags, ...perHost })
  const files = DockerCredentialStore.layer(Option.match(global.authfile, {
    onNone: () => ({}),
    onSome: (file) => ({ env: { ...process.env, REGISTRY_AUTH_FILE: file } })
  }))
  const credentials = CredentialStore.layerChain(explicit, files)
  return NodeRegistry.layer({ insecure: global.insecure, pathPrefix: global.pathPrefix }).pipe(
    Layer.provide(credentials)
  )
}

/**
 * Parse `USER[:PASS]` (skopeo's `--src-creds`): the password is everything after the first
 * colon; without one it is `stdinPassword` (read from standard input), when there is one.
 */
export const parseCreds = (
  flag: string,
  value: string,
  stdinPassword: Option.Option<Redacted.Redacted<string>>
): Either.Either<CredentialStore.Credential, string> => {
  const colon = value.indexOf(":")
  const username = colon < 0 ? value : value.slice(0, colon)
  if (username.length === 0) return Either.left(`--${flag} needs USER[:PASS]`)
  if (colon >= 0) return Either.right(CredentialStore.basic(username, Redacted.make(value.slice(colon + 1))))
  return Option.match(stdinPassword, {
    onNone: () => Either.left(`--${flag} ${username} has no password: give USER:PASS or --password-stdin`),
    onSome: (password) => Either.right(CredentialStore.basic(username, password))
  })
}

/** Collect a byte stream into one buffer (for small blobs such as configs). */
export const collect = <E, R>(stream: Stream.Stream<Uint8Array, E, R>) =>
  Stream.runFold(stream, [] as Array<Uint8Array>, (all, chunk) => {
    all.push(chunk)
    return all
  }).pipe(Effect.map((chunks) => Buffer.concat(chunks)))
