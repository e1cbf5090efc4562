import { assert, describe, it } from "@effect/vitest"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as BrowserCredentialStore from "@ocireg/platform-browser/BrowserCredentialStore"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { afterEach } from "vitest"

const lookup = (registry: string) => Effect.flatMap(CredentialStore.CredentialStore, (store) => store.get(registry))

const password = (credential: Option.Option<CredentialStore.Credential>) => {
  const c = Option.getOrThrow(credential)
  assert.strictEqual(c._tag, "Basic")
  return c._tag === "Basic" ? [c.username, Redacted.value(c.password)] : []
}

afterEach(() => {
  sessionStorage.clear()
})

describe("BrowserCredentialStore.layerMemory", () => {
  it.effect("answers from the initial record, normalising hosts, and changes with set and remove", () =>
    Effect.gen(function*() {
      const writable = yield* BrowserCredentialStore.Writable
      assert.deepStrictEqual(password(yield* lookup("index.docker.io")), ["hub", "hub-secret"])
      assert.isTrue(Option.isNone(yield* lookup("ghcr.io")))
      yield* writable.set("GHCR.io", CredentialStore.basic("octo", Redacted.make("ghp-secret")))
      assert.deepStrictEqual(password(yield* lookup("ghcr.io")), ["octo", "ghp-secret"])
      assert.deepStrictEqual(yield* writable.registries, ["docker.io", "ghcr.io"])
      yield* writable.remove("ghcr.io")
      assert.isTrue(Option.isNone(yield* lookup("ghcr.io")))
      yield* writable.clear
      assert.deepStrictEqual(yield* writable.registries, [])
      assert.strictEqual(sessionStorage.length + localStorage.length, 0, "memory store writes no storage")
    }).pipe(
      Effect.provide(
        BrowserCredentialStore.layerMemory({ "docker.io": CredentialStore.basic("hub", Redacted.make("hub-secret")) })
      )
    ))

  it.effect("each layer build has its own table", () =>
    Effect.gen(function*() {
      const layer = BrowserCredentialStore.layerMemory()
      yield* Effect.flatMap(BrowserCredentialStore.Writable, (w) =>
        w.set("a.io", CredentialStore.bearerToken(Redacted.make("t")))).pipe(Effect.provide(layer))
      const found = yield* lookup("a.io").pipe(Effect.provide(layer))
      assert.isTrue(Option.isNone(found))
    }))
})

describe("BrowserCredentialStore.layerSessionStorage", () => {
  it.effect("keeps credentials in sessionStorage, where a reload finds them, and never in localStorage", () =>
    Effect.gen(function*() {
      const before = localStorage.length
      yield* Effect.gen(function*() {
        const writable = yield* BrowserCredentialStore.Writable
        yield* writable.set("127.0.0.1:5000", CredentialStore.basic("alice", Redacted.make("alice-password")))
        yield* writable.set("ghcr.io", CredentialStore.identityToken(Redacted.make("refresh"), "octo"))
        yield* writable.set("quay.io", CredentialStore.bearerToken(Redacted.make("bearer")))
      }).pipe(Effect.provide(BrowserCredentialStore.layerSessionStorage()))
      const raw = JSON.parse(sessionStorage.getItem("ocireg.credentials")!)
      assert.strictEqual(raw.version, 1)
      assert.deepStrictEqual(Object.keys(raw.credentials).sort(), ["127.0.0.1:5000", "ghcr.io", "quay.io"])
      assert.strictEqual(localStorage.length, before)

      // a "reload": a new layer over the same storage
      yield* Effect.gen(function*() {
        assert.deepStrictEqual(password(yield* lookup("127.0.0.1:5000")), ["alice", "alice-password"])
        const identity = Option.getOrThrow(yield* lookup("ghcr.io"))
        assert.strictEqual(identity._tag, "IdentityToken")
        assert.strictEqual(identity._tag === "IdentityToken" && identity.username, "octo")
        assert.strictEqual(identity._tag === "IdentityToken" && Redacted.value(identity.token), "refresh")
        assert.notInclude(String(identity), "refresh", "secrets stay redacted in memory")
        const bearer = Option.getOrThrow(yield* lookup("quay.io"))
        assert.strictEqual(bearer._tag === "BearerToken" && Redacted.value(bearer.token), "bearer")
        const writable = yield* BrowserCredentialStore.Writable
        yield* writable.remove("ghcr.io")
        assert.deepStrictEqual(yield* writable.registries, ["127.0.0.1:5000", "quay.io"])
        yield* writable.clear
        assert.isNull(sessionStorage.getItem("ocireg.credentials"))
      }).pipe(Effect.provide(BrowserCredentialStore.layerSessionStorage()))
    }))

  it.effect("uses its own key, and a foreign entry fails the lookup without showing it", () =>
    Effect.gen(function*() {
      sessionStorage.setItem("my.creds", "{\"not\":\"ours\",\"password\":\"leaked?\"}")
      const error = yield* Effect.flip(lookup("docker.io"))
      assert.strictEqual(error._tag, "AuthenticationError")
      assert.strictEqual(error.reason, "CredentialLookupFailed")
      assert.include(error.message, "my.creds")
      assert.notInclude(error.message, "leaked?")
      const writeError = yield* Effect.flip(
        Effect.flatMap(BrowserCredentialStore.Writable, (w) =>
          w.set("x.io", CredentialStore.bearerToken(Redacted.make("t"))))
      )
      assert.strictEqual(writeError._tag, "CredentialStorageError")
      assert.strictEqual(sessionStorage.getItem("my.creds"), "{\"not\":\"ours\",\"password\":\"leaked?\"}")
    }).pipe(Effect.provide(BrowserCredentialStore.layerSessionStorage("my.creds"))))

  it.effect("a storage that throws becomes a typed error", () =>
    Effect.gen(function*() {
      const { store, writable } = BrowserCredentialStore.makeStorage(() => {
        throw new DOMException("The operation is insecure.", "SecurityError")
      }, "k")
      const error = yield* Effect.flip(store.get("docker.io"))
      assert.strictEqual(error.reason, "CredentialLookupFailed")
      assert.include(error.message, "SecurityError")
      const writeError = yield* Effect.flip(writable.clear)
      assert.strictEqual(writeError.operation, "write")
    }))
})
