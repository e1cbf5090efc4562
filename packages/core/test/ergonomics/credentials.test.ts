/**
 * Friction 7 of issue 16 (the credential and configuration half): `CredentialStore.layer(get)`
 * with services and an error type of the user's, and `RegistryClient.layerConfig`.
 */
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Registry from "@ocireg/core/Registry"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import { AuthenticationError } from "@ocireg/core/RegistryError"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import type * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

class VaultDown extends Data.TaggedError("VaultDown")<{ readonly message: string }> {}

class Vault extends Context.Tag("test/Vault")<Vault, {
  readonly read: (path: string) => Effect.Effect<{ user: string; password: string } | undefined, VaultDown>
}>() {}

const vault = Layer.succeed(Vault, {
  read: (path) =>
    path === "registries/down.test"
      ? Effect.fail(new VaultDown({ message: "vault is sealed" }))
      : Effect.succeed(path === "registries/registry.test" ? { user: "ci", password: "secret" } : undefined)
})

const fromVault = CredentialStore.layer((registry) =>
  Effect.flatMap(Vault, (v) => v.read(`registries/${registry}`)).pipe(
    Effect.map((secret) => secret && CredentialStore.basic(secret.user, Redacted.make(secret.password)))
  )
)

const stack = (store: Layer.Layer<CredentialStore.CredentialStore>) =>
  RegistryClient.layer().pipe(
    Layer.provideMerge(RegistryTest.layer({ auth: { basic: { ci: "secret" } } })),
    Layer.provide(store)
  )

describe("CredentialStore.layer (friction 7)", () => {
  it("says what it needs and how it can fail in its type", () => {
    expectTypeOf(fromVault).toEqualTypeOf<Layer.Layer<CredentialStore.CredentialStore, never, Vault>>()
    const opened = CredentialStore.layerEffect(
      Effect.as(Effect.fail(new VaultDown({ message: "no token" })), () => Effect.succeed(undefined))
    )
    expectTypeOf(opened).toEqualTypeOf<Layer.Layer<CredentialStore.CredentialStore, VaultDown, never>>()
  })

  it.effect("answers from a service of the user's, and a lookup failure becomes a typed AuthenticationError", () =>
    Effect.gen(function*() {
      const tags = yield* Registry.listAllTags("registry.test/team/app").pipe(Effect.orElseSucceed(() => ["absent"]))
      assert.deepStrictEqual(tags, ["absent"])
      yield* RegistryTest.seedImage({ repository: "team/app", tags: ["1.0"] })
      assert.deepStrictEqual(yield* Registry.listAllTags("registry.test/team/app"), ["1.0"])
    }).pipe(Effect.provide(stack(fromVault.pipe(Layer.provide(vault))))))

  it.effect("lookup errors: the default mapping and mapError", () =>
    Effect.gen(function*() {
      const store = yield* CredentialStore.CredentialStore
      const error = yield* Effect.flip(store.get("down.test"))
      assert.strictEqual(error.reason, "CredentialLookupFailed")
      assert.strictEqual(error.detail, "vault is sealed")
      const mapped = CredentialStore.layer(
        (registry) => Effect.flatMap(Vault, (v) => v.read(`registries/${registry}`)).pipe(Effect.as(undefined)),
        {
          mapError: (e, registry) => new AuthenticationError({ registry, reason: "MissingCredentials", detail: e._tag })
        }
      )
      const other = yield* Effect.flip(
        Effect.flatMap(CredentialStore.CredentialStore, (s) => s.get("down.test")).pipe(
          Effect.provide(mapped.pipe(Layer.provide(vault)))
        )
      )
      assert.strictEqual(other.reason, "MissingCredentials")
      assert.strictEqual(other.detail, "VaultDown")
    }).pipe(Effect.provide(fromVault.pipe(Layer.provide(vault)))))

  it.effect("a store that fails to open fails its layer with the user's error", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Effect.provide(
          CredentialStore.CredentialStore,
          CredentialStore.layerEffect(Effect.fail(new VaultDown({ message: "x" })))
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.include(String(exit.cause), "VaultDown")
    }))
})

describe("RegistryClient.layerConfig (friction 7)", () => {
  const withEnv = (env: Record<string, string>) =>
    Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
  const clientFrom = (env: Record<string, string>) =>
    RegistryClient.layerConfig({ userAgent: "from-code" }).pipe(
      Layer.provide(RegistryTest.layer()),
      Layer.provide(CredentialStore.layerAnonymous),
      Layer.provide(withEnv(env))
    )

  it("needs what RegistryClient.layer needs, and can fail with a ConfigError", () => {
    expectTypeOf(RegistryClient.layerConfig()).toEqualTypeOf<
      Layer.Layer<
        RegistryClient.RegistryClient,
        ConfigError.ConfigError,
        import("@effect/platform/HttpClient").HttpClient | CredentialStore.CredentialStore
      >
    >()
  })

  it.effect("reads the options from configuration; code defaults fill the rest", () =>
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      assert.strictEqual(client.options.userAgent, "from-code")
      assert.deepStrictEqual(client.options.insecure, ["reg.lan:5000", "other.lan"])
      assert.strictEqual(Duration.toMillis(client.options.requestTimeout), 1500)
      assert.strictEqual(Duration.toMillis(client.options.idleTimeout), 10_000)
      assert.strictEqual(client.options.hostConcurrency, 3)
      assert.strictEqual(client.baseUrl("reg.lan:5000").protocol, "http:")
    }).pipe(Effect.provide(clientFrom({
      OCIREG_INSECURE: "reg.lan:5000, other.lan",
      OCIREG_REQUEST_TIMEOUT: "1500 millis",
      OCIREG_IDLE_TIMEOUT: "10 seconds",
      OCIREG_HOST_CONCURRENCY: "3",
      OCIREG_MAX_RETRIES: "0"
    }))))

  it.effect("refuses a malformed value with a ConfigError", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Effect.provide(RegistryClient.RegistryClient, clientFrom({ OCIREG_MAX_RETRIES: "-1" }))
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.include(String(exit.cause), "OCIREG_MAX_RETRIES")
    }))
})
