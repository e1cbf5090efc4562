/**
 * DockerCredentialStore against temporary config directories (never the real ~/.docker) and a fake
 * `docker-credential-*` helper put first on PATH through the `env` option.
 */
import { assert, describe, it } from "@effect/vitest"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import type { AuthenticationError } from "@ocireg/core/RegistryError"
import * as DockerCredentialStore from "@ocireg/platform-node/DockerCredentialStore"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const fixture = fileURLToPath(new URL("./fixtures/credentials/docker-credential-test.mjs", import.meta.url))

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64")

interface Sandbox {
  readonly root: string
  readonly home: string
  readonly runtimeDir: string
  readonly stateDir: string
  readonly dockerConfig: string
  readonly env: (extra?: Record<string, string | undefined>) => Record<string, string | undefined>
  readonly options: (
    extra?: Record<string, string | undefined>,
    more?: DockerCredentialStore.Options
  ) => DockerCredentialStore.Options
  readonly writeJson: (file: string, json: unknown) => Effect.Effect<void>
  readonly writeText: (file: string, text: string) => Effect.Effect<void>
  readonly readJson: (file: string) => Effect.Effect<any>
  readonly seedHelper: (
    name: string,
    state: Record<string, { Username: string; Secret: string }>
  ) => Effect.Effect<void>
  readonly helperLog: (name: string) => Effect.Effect<ReadonlyArray<string>>
}

/** A temporary home with `bin/docker-credential-{test,other}`, removed when the test's scope closes. */
const sandbox = Effect.acquireRelease(
  Effect.promise(async (): Promise<Sandbox> => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), "ocireg-creds-"))
    const home = path.join(root, "home")
    const runtimeDir = path.join(root, "run")
    const stateDir = path.join(root, "state")
    const bin = path.join(root, "bin")
    await Promise.all([home, runtimeDir, stateDir, bin].map((dir) => fs.mkdir(dir, { recursive: true })))
    for (const name of ["test", "other"]) {
      const target = path.join(bin, `docker-credential-${name}`)
      await fs.copyFile(fixture, target)
      await fs.chmod(target, 0o755)
    }
    const env = (extra: Record<string, string | undefined> = {}) => ({
      PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`,
      HOME: home,
      XDG_RUNTIME_DIR: runtimeDir,
      FAKE_HELPER_STATE_DIR: stateDir,
      ...extra
    })
    const writeText = (file: string, text: string) =>
      Effect.promise(async () => {
        await fs.mkdir(path.dirname(file), { recursive: true })
        await fs.writeFile(file, text)
      })
    return {
      root,
      home,
      runtimeDir,
      stateDir,
      dockerConfig: path.join(home, ".docker", "config.json"),
      env,
      options: (extra, more = {}) => ({ env: env(extra), homeDir: home, ...more }),
      writeText,
      writeJson: (file, json) => writeText(file, JSON.stringify(json, null, 2)),
      readJson: (file) => Effect.promise(async () => JSON.parse(await fs.readFile(file, "utf8"))),
      seedHelper: (name, state) =>
        Effect.promise(() => fs.writeFile(path.join(stateDir, `${name}.json`), JSON.stringify(state))),
      helperLog: (name) =>
        Effect.promise(() =>
          fs.readFile(path.join(stateDir, `${name}.log`), "utf8").then(
            (text) => text.split("\n").filter((line) => line !== ""),
            () => []
          )
        )
    }
  }),
  (box) => Effect.promise(() => fs.rm(box.root, { recursive: true, force: true }))
)

const expectBasic = (found: Option.Option<CredentialStore.Credential>, username: string, password: string) => {
  assert.isTrue(Option.isSome(found), "expected a credential")
  const credential = Option.getOrThrow(found)
  assert.strictEqual(credential._tag, "Basic")
  if (credential._tag !== "Basic") return
  assert.strictEqual(credential.username, username)
  assert.strictEqual(Redacted.value(credential.password), password)
  assert.strictEqual(String(credential.password), "<redacted>")
  assert.strictEqual(JSON.stringify(credential.password), "\"<redacted>\"")
}

const expectLookupFailure = (exit: Exit.Exit<unknown, AuthenticationError>): AuthenticationError => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const error = Exit.isFailure(exit) ? Option.getOrThrow(Cause.failureOption(exit.cause)) : undefined
  assert.strictEqual(error?._tag, "AuthenticationError")
  assert.strictEqual(error?.reason, "CredentialLookupFailed")
  return error!
}

describe("DockerCredentialStore", () => {
  describe("config files", () => {
    it.scoped("decodes a base64 auth whose password contains colons", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        yield* box.writeJson(box.dockerConfig, { auths: { "ghcr.io": { auth: b64("alice:pa:ss:word") } } })
        const store = DockerCredentialStore.make(box.options())
        expectBasic(yield* store.get("ghcr.io"), "alice", "pa:ss:word")
        assert.isTrue(Option.isNone(yield* store.get("quay.io")))
      }))

    it.scoped("reads username and password fields", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        yield* box.writeJson(box.dockerConfig, {
          auths: { "registry.example.com": { username: "bob", password: "s3cret" } }
        })
        expectBasic(yield* DockerCredentialStore.make(box.options()).get("registry.example.com"), "bob", "s3cret")
      }))

    it.scoped("reads identitytoken as an identity token and registrytoken as a bearer token", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        yield* box.writeJson(box.dockerConfig, {
          auths: {
            "id.example.com": { auth: b64("carol:"), identitytoken: "refresh-token" },
            "bearer.example.com": { registrytoken: "ready-token" }
          }
        })
        const store = DockerCredentialStore.make(box.options())
        const identity = Option.getOrThrow(yield* store.get("id.example.com"))
        assert.strictEqual(identity._tag, "IdentityToken")
        if (identity._tag === "IdentityToken") {
          assert.strictEqual(Redacted.value(identity.token), "refresh-token")
          assert.strictEqual(identity.username, "carol")
        }
        const bearer = Option.getOrThrow(yield* store.get("bearer.example.com"))
        assert.strictEqual(bearer._tag, "BearerToken")
        if (bearer._tag === "BearerToken") assert.strictEqual(Redacted.value(bearer.token), "ready-token")
      }))

    it.scoped("finds the legacy Docker Hub key and URL-shaped keys", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        yield* box.writeJson(box.dockerConfig, {
          auths: {
            "https://index.docker.io/v1/": { auth: b64("hubuser:hubpass") },
            "http://old.example.com/v1/": { auth: b64("old:pass") },
            "https://Upper.Example.com": { auth: b64("upper:pass") },
            "empty.example.com": {}
          }
        })
        const store = DockerCredentialStore.make(box.options())
        for (const hub of ["docker.io", "index.docker.io", "registry-1.docker.io"]) {
          expectBasic(yield* store.get(hub), "hubuser", "hubpass")
        }
        expectBasic(yield* store.get("old.example.com"), "old", "pass")
        expectBasic(yield* store.get("upper.example.com"), "upper", "pass")
        assert.isTrue(Option.isNone(yield* store.get("empty.example.com")))
      }))

    it.scoped("per-repository keys beat the host key in getFor; get uses host keys only", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        yield* box.writeJson(box.dockerConfig, {
          auths: {
            "quay.io": { auth: b64("host:pass") },
            "quay.io/team": { auth: b64("team:pass") },
            "quay.io/team/app": { auth: b64("app:pass") },
            "docker.io/library": { auth: b64("library:pass") },
            "only-repo.example.com/ns": { auth: b64("ns:pass") }
          }
        })
        const options = box.options()
        const store = DockerCredentialStore.make(options)
        expectBasic(yield* store.getFor("quay.io", "team/app"), "app", "pass")
        expectBasic(yield* store.getFor("quay.io", "team/other"), "team", "pass")
        expectBasic(yield* store.getFor("quay.io", "elsewhere/x"), "host", "pass")
        expectBasic(yield* store.get("quay.io"), "host", "pass")
        expectBasic(yield* DockerCredentialStore.getFor("index.docker.io", "library/nginx", options), "library", "pass")
        assert.isTrue(Option.isNone(yield* store.get("only-repo.example.com")))
        expectBasic(yield* store.getFor("only-repo.example.com", "ns/img"), "ns", "pass")
      }))

    it.scoped("reads the containers auth.json files before Docker's config.json", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        const configHome = path.join(box.root, "xdg-config")
        yield* box.writeJson(path.join(box.runtimeDir, "containers", "auth.json"), {
          auths: { "a.example.com": { auth: b64("runtime:pass") } }
        })
        yield* box.writeJson(path.join(configHome, "containers", "auth.json"), {
          auths: {
            "a.example.com": { auth: b64("config-home:pass") },
            "b.example.com": { auth: b64("config-home:pass") }
          }
        })
        yield* box.writeJson(box.dockerConfig, {
          auths: {
            "a.example.com": { auth: b64("docker:pass") },
            "b.example.com": { auth: b64("docker:pass") },
            "c.example.com": { auth: b64("docker:pass") }
          }
        })
        const options = box.options({ XDG_CONFIG_HOME: configHome })
        const store = DockerCredentialStore.make(options)
        expectBasic(yield* store.get("a.example.com"), "runtime", "pass")
        expectBasic(yield* store.get("b.example.com"), "config-home", "pass")
        expectBasic(yield* store.get("c.example.com"), "docker", "pass")
        assert.deepStrictEqual(DockerCredentialStore.authFiles(options), [
          path.join(box.runtimeDir, "containers", "auth.json"),
          path.join(configHome, "containers", "auth.json"),
          box.dockerConfig,
          path.join(box.home, ".dockercfg")
        ])
      }))

    it.scoped("REGISTRY_AUTH_FILE is the only file read when set; DOCKER_CONFIG moves config.json", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        const explicit = path.join(box.root, "explicit.json")
        const dockerDir = path.join(box.root, "docker-config")
        yield* box.writeJson(explicit, { auths: { "a.example.com": { auth: b64("explicit:pass") } } })
        yield* box.writeJson(path.join(dockerDir, "config.json"), {
          auths: { "b.example.com": { auth: b64("docker-config:pass") } }
        })
        const withExplicit = DockerCredentialStore.make(
          box.options({ REGISTRY_AUTH_FILE: explicit, DOCKER_CONFIG: dockerDir })
        )
        expectBasic(yield* withExplicit.get("a.example.com"), "explicit", "pass")
        assert.isTrue(Option.isNone(yield* withExplicit.get("b.example.com")))
        assert.deepStrictEqual(withExplicit.files(), [explicit])
        const withoutExplicit = DockerCredentialStore.make(box.options({ DOCKER_CONFIG: dockerDir }))
        expectBasic(yield* withoutExplicit.get("b.example.com"), "docker-config", "pass")
      }))

    it.scoped("reads the legacy ~/.dockercfg last", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        yield* box.writeJson(path.join(box.home, ".dockercfg"), {
          "https://index.docker.io/v1/": { auth: b64("legacy:pass"), email: "x@example.com" }
        })
        expectBasic(yield* DockerCredentialStore.make(box.options()).get("docker.io"), "legacy", "pass")
      }))

    it.scoped("missing files mean anonymous; files are read on every lookup", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        const store = DockerCredentialStore.make(box.options())
        assert.isTrue(Option.isNone(yield* store.get("ghcr.io")))
        yield* box.writeJson(box.dockerConfig, { auths: { "ghcr.io": { auth: b64("late:login") } } })
        expectBasic(yield* store.get("ghcr.io"), "late", "login")
      }))

    it.scoped("malformed JSON fails with CredentialLookupFailed naming the file, not its contents", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        yield* box.writeText(box.dockerConfig, `{"auths": {"ghcr.io": {"auth": "TOPSECRETVALUE"`)
        const exit = yield* Effect.exit(DockerCredentialStore.make(box.options()).get("ghcr.io"))
        const error = expectLookupFailure(exit)
        assert.include(error.message, box.dockerConfig)
        assert.notInclude(error.message, "TOPSECRETVALUE")
        assert.notInclude(JSON.stringify(error), "TOPSECRETVALUE")

        yield* box.writeJson(box.dockerConfig, { auths: ["not", "an", "object"] })
        expectLookupFailure(yield* Effect.exit(DockerCredentialStore.make(box.options()).get("ghcr.io")))
      }))

    it.scoped("the layer provides the CredentialStore service", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        yield* box.writeJson(box.dockerConfig, { auths: { "localhost:5000": { auth: b64("local:pass") } } })
        const found = yield* Effect.flatMap(CredentialStore.CredentialStore, (store) => store.get("localhost:5000"))
          .pipe(
            Effect.provide(DockerCredentialStore.layer(box.options()))
          )
        expectBasic(found, "local", "pass")
      }))
  })

  describe("credential helpers", () => {
    it.scopedLive("asks credHelpers; Docker Hub is asked as https://index.docker.io/v1/; <token> is an identity token", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        yield* box.writeJson(box.dockerConfig, {
          auths: { "ghcr.io": { auth: b64("plain:ignored") } },
          credHelpers: { "ghcr.io": "test", "docker.io": "test", "token.example.com": "test" }
        })
        yield* box.seedHelper("test", {
          "ghcr.io": { Username: "helper-user", Secret: "helper:secret" },
          "https://index.docker.io/v1/": { Username: "hub-user", Secret: "hub-secret" },
          "token.example.com": { Username: "<token>", Secret: "refresh" }
        })
        const store = DockerCredentialStore.make(box.options())
        expectBasic(yield* store.get("ghcr.io"), "helper-user", "helper:secret")
        expectBasic(yield* store.get("docker.io"), "hub-user", "hub-secret")
        const token = Option.getOrThrow(yield* store.get("token.example.com"))
        assert.strictEqual(token._tag, "IdentityToken")
        if (token._tag === "IdentityToken") assert.strictEqual(Redacted.value(token.token), "refresh")
        assert.deepStrictEqual(yield* box.helperLog("test"), [
          "get ghcr.io",
          "get https://index.docker.io/v1/",
          "get token.example.com"
        ])
      }))

    it.scopedLive("a helper without credentials means anonymous", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        yield* box.writeJson(box.dockerConfig, { credHelpers: { "ghcr.io": "test" } })
        assert.isTrue(Option.isNone(yield* DockerCredentialStore.make(box.options()).get("ghcr.io")))
      }))

    it.scopedLive("a failing helper is a typed error naming it, without its output", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        yield* box.writeJson(box.dockerConfig, { credHelpers: { "ghcr.io": "test" } })
        const exit = yield* Effect.exit(
          DockerCredentialStore.make(box.options({ FAKE_HELPER_MODE: "fail" })).get("ghcr.io")
        )
        const error = expectLookupFailure(exit)
        assert.include(error.message, "docker-credential-test")
        assert.include(error.message, "exit code 3")
        for (const text of [error.message, JSON.stringify(error), String(error)]) {
          assert.notInclude(text, "LEAKED")
          assert.notInclude(text, "hunter2")
        }
      }))

    it.scopedLive("a helper that is not installed is a typed error", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        yield* box.writeJson(box.dockerConfig, { credsStore: "absent" })
        const error = expectLookupFailure(yield* Effect.exit(DockerCredentialStore.make(box.options()).get("ghcr.io")))
        assert.include(error.message, "docker-credential-absent")
        assert.include(error.message, "not installed")

        // a helper name is a program-name suffix, never a path
        yield* box.writeJson(box.dockerConfig, { credHelpers: { "ghcr.io": "../../bin/sh" } })
        const invalid = expectLookupFailure(
          yield* Effect.exit(DockerCredentialStore.make(box.options()).get("ghcr.io"))
        )
        assert.include(invalid.message, "not a valid program name")
      }))

    it.scopedLive("a slow helper times out with a typed error", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        yield* box.writeJson(box.dockerConfig, { credHelpers: { "ghcr.io": "test" } })
        const store = DockerCredentialStore.make(
          box.options({ FAKE_HELPER_MODE: "slow" }, { helperTimeout: "1 second" })
        )
        const started = Date.now()
        const error = expectLookupFailure(yield* Effect.exit(store.get("ghcr.io")))
        const elapsed = Date.now() - started
        assert.include(error.message, "docker-credential-test")
        assert.include(error.message, "did not answer")
        assert.isAtLeast(elapsed, 900)
        assert.isBelow(elapsed, 4000)
      }))

    it.scopedLive("credHelpers beats credsStore; credsStore beats plaintext auths", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        yield* box.writeJson(box.dockerConfig, {
          auths: {
            "a.example.com": { auth: b64("plain-a:pass") },
            "b.example.com": { auth: b64("plain-b:pass") },
            "c.example.com": { auth: b64("plain-c:pass") }
          },
          credsStore: "other",
          credHelpers: { "a.example.com": "test" }
        })
        yield* box.seedHelper("test", { "a.example.com": { Username: "from-test", Secret: "t" } })
        yield* box.seedHelper("other", {
          "a.example.com": { Username: "from-other", Secret: "o" },
          "b.example.com": { Username: "from-other", Secret: "o" }
        })
        const store = DockerCredentialStore.make(box.options())
        expectBasic(yield* store.get("a.example.com"), "from-test", "t")
        expectBasic(yield* store.get("b.example.com"), "from-other", "o")
        // the credsStore has nothing for c: the plaintext entry of the same file answers
        expectBasic(yield* store.get("c.example.com"), "plain-c", "pass")
      }))
  })

  describe("login and logout", () => {
    it.scopedLive("round trip through the configured helper leaves the file alone", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        const original = { credsStore: "test", psFormat: "table {{.ID}}" }
        yield* box.writeJson(box.dockerConfig, original)
        const store = DockerCredentialStore.make(box.options())
        const stored = yield* store.login("docker.io", "hub-user", Redacted.make("hub:secret"))
        assert.deepStrictEqual(stored, { _tag: "Helper", helper: "test" })
        expectBasic(yield* store.get("docker.io"), "hub-user", "hub:secret")
        assert.deepStrictEqual(yield* box.readJson(box.dockerConfig), original)
        assert.isTrue(yield* store.logout("docker.io"))
        assert.isTrue(Option.isNone(yield* store.get("docker.io")))
        assert.isFalse(yield* store.logout("docker.io"))
        assert.deepStrictEqual(yield* box.helperLog("test"), [
          "store https://index.docker.io/v1/",
          "get https://index.docker.io/v1/",
          "erase https://index.docker.io/v1/",
          "get https://index.docker.io/v1/",
          "erase https://index.docker.io/v1/"
        ])
      }))

    it.scopedLive("login through credHelpers for the host, and a failing helper is a typed error", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        yield* box.writeJson(box.dockerConfig, { credHelpers: { "ghcr.io": "other" } })
        const stored = yield* DockerCredentialStore.login("ghcr.io", "u", "p", box.options())
        assert.deepStrictEqual(stored, { _tag: "Helper", helper: "other" })
        expectBasic(yield* DockerCredentialStore.make(box.options()).get("ghcr.io"), "u", "p")
        const failed = yield* Effect.flip(
          DockerCredentialStore.login("ghcr.io", "u", "LEAKED-PASSWORD", box.options({ FAKE_HELPER_MODE: "fail" }))
        )
        assert.strictEqual(failed.reason, "HelperFailed")
        assert.include(failed.message, "docker-credential-other")
        assert.notInclude(failed.message, "LEAKED")
      }))

    it.scoped("without a helper, login refuses plaintext unless asked", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        const store = DockerCredentialStore.make(box.options())
        const error = yield* Effect.flip(store.login("ghcr.io", "alice", "pw"))
        assert.strictEqual(error._tag, "CredentialWriteError")
        assert.strictEqual(error.reason, "PlaintextNotAllowed")
        assert.include(error.message, "plaintext: true")
        assert.include(error.message, "credHelpers")
        assert.notInclude(error.message, "pw\"")
        yield* Effect.promise(() =>
          fs.access(box.dockerConfig).then(() => assert.fail("config.json must not be created"), () => undefined)
        )
      }))

    it.scoped("plaintext round trip writes atomically with mode 0600 and keeps other keys", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        yield* box.writeJson(box.dockerConfig, {
          auths: { "https://ghcr.io": { auth: b64("stale:old") }, "other.io": { auth: b64("keep:me") } },
          psFormat: "table {{.ID}}",
          proxies: { default: { httpProxy: "http://proxy:3128" } }
        })
        const store = DockerCredentialStore.make(box.options())
        const stored = yield* store.login("ghcr.io", "alice", Redacted.make("pa:ss"), { plaintext: true })
        assert.deepStrictEqual(stored, { _tag: "File", path: box.dockerConfig })
        expectBasic(yield* store.get("ghcr.io"), "alice", "pa:ss")

        const written = yield* box.readJson(box.dockerConfig)
        assert.deepStrictEqual(written, {
          auths: { "other.io": { auth: b64("keep:me") }, "ghcr.io": { auth: b64("alice:pa:ss") } },
          psFormat: "table {{.ID}}",
          proxies: { default: { httpProxy: "http://proxy:3128" } }
        })
        const stat = yield* Effect.promise(() => fs.stat(box.dockerConfig))
        assert.strictEqual(stat.mode & 0o777, 0o600)
        const leftovers = yield* Effect.promise(() => fs.readdir(path.dirname(box.dockerConfig)))
        assert.deepStrictEqual(leftovers, ["config.json"])

        yield* store.login("docker.io", "hub", "hubpw", { plaintext: true })
        assert.deepStrictEqual((yield* box.readJson(box.dockerConfig)).auths["https://index.docker.io/v1/"], {
          auth: b64("hub:hubpw")
        })

        assert.isTrue(yield* store.logout("ghcr.io"))
        assert.isTrue(Option.isNone(yield* store.get("ghcr.io")))
        assert.isFalse(yield* store.logout("ghcr.io"))
        const after = yield* box.readJson(box.dockerConfig)
        assert.deepStrictEqual(Object.keys(after.auths), ["other.io", "https://index.docker.io/v1/"])
        assert.strictEqual(after.psFormat, "table {{.ID}}")
      }))

    it.scoped("plaintext login creates the config directory and file", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        const dockerDir = path.join(box.root, "fresh", "docker")
        yield* DockerCredentialStore.login("localhost:5000", "u", "p", {
          ...box.options({ DOCKER_CONFIG: dockerDir }),
          plaintext: true
        })
        const file = path.join(dockerDir, "config.json")
        assert.deepStrictEqual(yield* box.readJson(file), { auths: { "localhost:5000": { auth: b64("u:p") } } })
        assert.strictEqual((yield* Effect.promise(() => fs.stat(file))).mode & 0o777, 0o600)
      }))

    it.scoped("login into a malformed config fails without overwriting it", () =>
      Effect.gen(function*() {
        const box = yield* sandbox
        yield* box.writeText(box.dockerConfig, "{ not json")
        const error = yield* Effect.flip(
          DockerCredentialStore.make(box.options()).login("ghcr.io", "u", "p", { plaintext: true })
        )
        assert.strictEqual(error.reason, "ConfigUnreadable")
        assert.include(error.message, box.dockerConfig)
        assert.strictEqual(yield* Effect.promise(() => fs.readFile(box.dockerConfig, "utf8")), "{ not json")
      }))
  })
})
