/**
 * Credentials from Docker's and Podman's configuration (`DockerCredentialStore`, what
 * `NodeRegistry.layerDocker()` uses): `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`
 * (`auths`, `identitytoken`, `credHelpers`, `credsStore` through `docker-credential-*` helpers),
 * then the containers `auth.json` files. Secrets stay `Redacted`; this prints only their kind.
 *
 * Run: npx tsx examples/dockerCredentials.ts [repository]     e.g. ghcr.io/owner/app (your own config)
 * Without an argument it starts an embedded registry that wants Bearer tokens, writes a Docker
 * config for it in a temporary directory (as `docker login` would), and uses that.
 */
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Reference from "@ocireg/core/Reference"
import * as Registry from "@ocireg/core/Registry"
import * as DockerCredentialStore from "@ocireg/platform-node/DockerCredentialStore"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { embeddedClient, isMain, runMain, seedDemoImage, startEmbeddedRegistry, tempDir } from "./support.js"

const describe = (credential: Option.Option<CredentialStore.Credential>): string =>
  Option.match(credential, {
    onNone: () => "none: anonymous",
    onSome: (c) =>
      c._tag === "Basic"
        ? `username ${c.username} and a password`
        : c._tag === "IdentityToken"
        ? "an identity (refresh) token"
        : "a registry token"
  })

/** Which files a lookup reads, and what it finds for a host. */
const lookUp = (host: string, options: DockerCredentialStore.Options) =>
  Effect.gen(function*() {
    yield* Console.log(`looking in: ${DockerCredentialStore.authFiles(options).join(", ")}`)
    const found = yield* DockerCredentialStore.make(options).get(host)
    yield* Console.log(`credential for ${host}: ${describe(found)}`)
  })

/** Your own configuration, for a repository you name. */
const withYourConfig = (repository: string) =>
  Effect.gen(function*() {
    const ref = yield* Reference.parseEffect(repository)
    yield* lookUp(ref.registry, {})
    const tags = yield* Registry.listAllTags(ref)
    yield* Console.log(`${tags.length} tags in ${Reference.name(ref)}`)
  }).pipe(Effect.provide(NodeRegistry.layerDocker()))

/** An embedded registry with Bearer authentication and a Docker config written for it. */
const demo = Effect.gen(function*() {
  const server = yield* startEmbeddedRegistry({ auth: { bearer: { users: { demo: "s3cret" } } } })
  const dir = yield* tempDir
  const auth = Buffer.from("demo:s3cret").toString("base64")
  yield* Effect.promise(() =>
    Fs.writeFile(Path.join(dir, "config.json"), JSON.stringify({ auths: { [server.host]: { auth } } }))
  )
  // an isolated environment: only this directory is read, no credential helper runs
  const options: DockerCredentialStore.Options = {
    env: { DOCKER_CONFIG: dir, XDG_RUNTIME_DIR: dir, XDG_CONFIG_HOME: dir, HOME: dir, PATH: "" },
    homeDir: dir
  }
  yield* lookUp(server.host, options)

  // the client exchanges the password for a token at the registry's realm, for push and pull
  const docker = NodeRegistry.layerDocker({ credentials: options })
  const image = yield* seedDemoImage(server.host).pipe(Effect.provide(docker))
  const tags = yield* Registry.listAllTags(image.repository).pipe(Effect.provide(docker))
  yield* Console.log(`with the Docker config: tags ${tags.join(", ")}`)

  // the same without credentials
  const refused = yield* Registry.listAllTags(image.repository).pipe(Effect.provide(embeddedClient()), Effect.flip)
  yield* Console.log(`anonymously: ${refused._tag}`)
}).pipe(Effect.scoped)

export const main = (args: ReadonlyArray<string>) => args[0] !== undefined ? withYourConfig(args[0]) : demo

if (isMain(import.meta.url)) runMain(main)
