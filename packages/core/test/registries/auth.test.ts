/**
 * How the client reads refusals and token realms the way real registries send them: Docker Hub's
 * 401 for a repository that does not exist, 403 with TOOMANYREQUESTS, token realms that are
 * briefly unwell or write their JSON loosely, 400 for an expired token, nvcr.io's realm change.
 * Each test failed before the matching fix in `RegistryClient.ts` / `internal/auth.ts`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Registry from "@ocireg/core/Registry"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { json, type Recorded } from "../support/fakeRegistry.js"
import { countingFake, to } from "./support.js"

const alice = CredentialStore.basic("alice", Redacted.make("hunter2-password"))
const hubRealm = "https://auth.docker.io/token"
const hubChallenge = (scope: string, error?: string) =>
  `Bearer realm="${hubRealm}",service="registry.docker.io",scope="${scope}"${error ? `,error="${error}"` : ""}`
const unauthorizedBody = (name: string) => ({
  errors: [{
    code: "UNAUTHORIZED",
    message: "authentication required",
    detail: [{ Type: "repository", Class: "", Name: name, Action: "pull" }]
  }]
})

/** Docker Hub as it answers for a repository that does not exist (docker-archive/docker-registry#1071). */
const dockerHubMissingRepo = (options: { readonly deniedCode?: boolean } = {}) => (r: Recorded) => {
  if (r.url.host === "auth.docker.io") return json({ token: "hub-token", access_token: "hub-token", expires_in: 300 })
  const scope = "repository:library/nosuch:pull"
  if (r.headers["authorization"] === undefined) {
    return json(unauthorizedBody("library/nosuch"), {
      status: 401,
      headers: { "www-authenticate": hubChallenge(scope) }
    })
  }
  return options.deniedCode
    ? json({ errors: [{ code: "DENIED", message: "requested access to the resource is denied" }] }, {
      status: 401,
      headers: { "www-authenticate": hubChallenge(scope) }
    })
    : json(unauthorizedBody("library/nosuch"), {
      status: 401,
      headers: { "www-authenticate": hubChallenge(scope, "insufficient_scope") }
    })
}

describe("refusals in the registry's terms", () => {
  it.effect("Docker Hub 401 insufficient_scope with valid credentials: not found or denied, credentials kept", () => {
    const fake = countingFake(dockerHubMissingRepo(), { credential: alice })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.getManifest("docker.io/library/nosuch:latest"))
      assert.strictEqual(error._tag, "AuthorizationError")
      assert.strictEqual(error._tag === "AuthorizationError" && error.reason, "NotFoundOrDenied")
      assert.include(error.message, "repository library/nosuch not found or access denied on docker.io")
      assert.notInclude(error.message, "hunter2")
      yield* Effect.flip(Registry.getManifest("docker.io/library/nosuch:latest"))
      assert.strictEqual(fake.lookups(), 1, "the credential lookup was never forgotten")
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("Docker Hub 401 DENIED \"requested access to the resource is denied\": not found or denied", () => {
    const fake = countingFake(dockerHubMissingRepo({ deniedCode: true }), { credential: alice })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.listAllTags("docker.io/library/nosuch"))
      assert.strictEqual(error._tag === "AuthorizationError" && error.reason, "NotFoundOrDenied", error.message)
      assert.notInclude(error.message, "credentials")
      yield* Effect.flip(Registry.listAllTags("docker.io/library/nosuch"))
      assert.strictEqual(fake.lookups(), 1, "the credential lookup was never forgotten")
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("anonymous: MissingCredentials that says the repository may not exist, one anonymous token only", () => {
    const fake = countingFake(dockerHubMissingRepo())
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.getManifest("docker.io/library/nosuch:latest"))
      assert.strictEqual(error._tag === "AuthenticationError" && error.reason, "MissingCredentials")
      assert.include(error.message, "repository library/nosuch was not found, or needs credentials")
      assert.strictEqual(to(fake.log, "auth.docker.io").length, 1, "another anonymous token would not help")
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("a realm that refuses the credentials: RejectedCredentials, and the store is asked again", () => {
    const fake = countingFake((r) => {
      if (r.url.host === "auth.docker.io") {
        return new Response("{\"details\":\"incorrect username or password\"}", { status: 401 })
      }
      return new Response("", {
        status: 401,
        headers: { "www-authenticate": hubChallenge("repository:library/a:pull") }
      })
    }, { credential: alice })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.listAllTags("docker.io/library/a"))
      assert.strictEqual(error._tag === "AuthenticationError" && error.reason, "RejectedCredentials")
      yield* Effect.flip(Registry.listAllTags("docker.io/library/a"))
      assert.strictEqual(fake.lookups(), 2, "a refused credential is looked up again")
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("a fresh token refused without a scope problem: TokenRejected, credentials kept", () => {
    const fake = countingFake((r) => {
      if (r.url.host === "auth.docker.io") return json({ token: "t" })
      return new Response("", {
        status: 401,
        headers: { "www-authenticate": hubChallenge("repository:library/a:pull") }
      })
    }, { credential: alice })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.listAllTags("docker.io/library/a"))
      assert.strictEqual(error._tag === "AuthenticationError" && error.reason, "TokenRejected")
      yield* Effect.flip(Registry.listAllTags("docker.io/library/a"))
      assert.strictEqual(fake.lookups(), 1)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("403 with TOOMANYREQUESTS is RateLimited, not denied", () => {
    const fake = countingFake(() =>
      json({ errors: [{ code: "TOOMANYREQUESTS", message: "too many requests" }] }, {
        status: 403,
        headers: { "retry-after": "7" }
      }), { client: { retrySchedule: Schedule.stop } })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.listAllTags("registry.test/app"))
      assert.strictEqual(error._tag, "RateLimited")
      assert.strictEqual(error._tag === "RateLimited" && error.retryAfterMillis, 7000)
    }).pipe(Effect.provide(fake.layer))
  })
})

const realm = "https://auth.registry.test/token"
const challenge = `Bearer realm="${realm}",service="registry.test"`
const tagsOk = () => json({ name: "app", tags: ["v1"] })

describe("token realms", () => {
  it.live("asks a realm that answers 503, then 429 with Retry-After, again", () => {
    let calls = 0
    const fake = countingFake((r) => {
      if (r.url.host === "auth.registry.test") {
        calls++
        if (calls === 1) return new Response("unavailable", { status: 503 })
        if (calls === 2) return new Response("slow down", { status: 429, headers: { "retry-after": "1" } })
        return json({ token: "good" })
      }
      return r.headers["authorization"] === "Bearer good"
        ? tagsOk()
        : new Response("", { status: 401, headers: { "www-authenticate": challenge } })
    }, { credential: alice, client: { retrySchedule: Schedule.recurs(3) } })
    return Effect.gen(function*() {
      const started = Date.now()
      assert.deepStrictEqual(yield* Registry.listAllTags("registry.test/app"), ["v1"])
      assert.strictEqual(calls, 3)
      assert.isAtLeast(Date.now() - started, 900, "Retry-After: 1 was honoured")
    }).pipe(Effect.provide(fake.layer))
  }, { timeout: 20_000 })

  it.effect("reads expires_in as a string, access_token only, and extra fields", () => {
    const fake = countingFake((r) => {
      if (r.url.host === "auth.registry.test") {
        return json({ access_token: "loose", expires_in: "3600", scope: "repository:app:pull", refresh_token: 12 })
      }
      return r.headers["authorization"] === "Bearer loose"
        ? tagsOk()
        : new Response("", { status: 401, headers: { "www-authenticate": challenge } })
    }, { credential: alice })
    return Effect.gen(function*() {
      assert.deepStrictEqual(yield* Registry.listAllTags("registry.test/app"), ["v1"])
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("re-authenticates once when the registry answers an expired token with 400", () => {
    let issued = 0
    const fake = countingFake((r) => {
      if (r.url.host === "auth.registry.test") return json({ token: `t${++issued}`, expires_in: 3600 })
      const auth = r.headers["authorization"]
      if (auth === undefined) return new Response("", { status: 401, headers: { "www-authenticate": challenge } })
      if (auth === "Bearer t1") {
        return json({ errors: [{ code: "UNAUTHORIZED", message: "token expired" }] }, { status: 400 })
      }
      return tagsOk()
    }, { credential: alice })
    return Effect.gen(function*() {
      assert.deepStrictEqual(yield* Registry.listAllTags("registry.test/app"), ["v1"])
      assert.strictEqual(issued, 2)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("a 400 that is not about the token stays a RegistryResponseError", () => {
    const fake = countingFake((r) => {
      if (r.url.host === "auth.registry.test") return json({ token: "t" })
      if (r.headers["authorization"] === undefined) {
        return new Response("", { status: 401, headers: { "www-authenticate": challenge } })
      }
      return json({ errors: [{ code: "PAGINATION_NUMBER_INVALID", message: "bad n" }] }, { status: 400 })
    }, { credential: alice })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.listAllTags("registry.test/app"))
      assert.strictEqual(error._tag === "RegistryResponseError" && error.status, 400)
      assert.strictEqual(to(fake.log, "auth.registry.test").length, 1)
    }).pipe(Effect.provide(fake.layer))
  })

  it.effect("nvcr.io: after expiry the registry names another realm; a fresh anonymous challenge is followed", () => {
    // NVIDIA/nvidia-container-toolkit#1945: first realm https://nvcr.io/proxy_auth; an expired token
    // is answered with realm https://authn.nvidia.com/token, which refuses anonymous clients.
    let firstTokens = 0
    let expired = false
    const fake = countingFake((r) => {
      if (r.url.host === "authn.nvidia.test") return new Response("", { status: 401 })
      if (r.url.pathname === "/proxy_auth") return json({ token: `first-${++firstTokens}`, expires_in: 3600 })
      const auth = r.headers["authorization"]
      if (auth === undefined) {
        return new Response("", {
          status: 401,
          headers: {
            "www-authenticate": `Bearer realm="https://nvcr.test/proxy_auth",scope="repository:nvidia/app:pull"`
          }
        })
      }
      if (expired && auth === "Bearer first-1") {
        return new Response("", {
          status: 401,
          headers: {
            "www-authenticate":
              `Bearer realm="https://authn.nvidia.test/token",service="registry",error="invalid_token"`
          }
        })
      }
      return json({ name: "nvidia/app", tags: ["24.01"] })
    })
    return Effect.gen(function*() {
      assert.deepStrictEqual(yield* Registry.listAllTags("nvcr.test/nvidia/app"), ["24.01"])
      expired = true
      assert.deepStrictEqual(yield* Registry.listAllTags("nvcr.test/nvidia/app"), ["24.01"])
      assert.strictEqual(firstTokens, 2, "a new token from the first realm")
    }).pipe(Effect.provide(fake.layer))
  })
})

describe("identity tokens", () => {
  it.effect("a refresh token the realm refuses with 400 invalid_grant is a rejected credential, looked up again", () => {
    const fake = countingFake((r) => {
      if (r.url.host === "auth.registry.test") {
        return json({ error: "invalid_grant", error_description: "refresh token expired" }, { status: 400 })
      }
      return new Response("", { status: 401, headers: { "www-authenticate": challenge } })
    }, { credential: CredentialStore.identityToken(Redacted.make("old-refresh"), "alice") })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.listAllTags("registry.test/app"))
      assert.strictEqual(error._tag === "AuthenticationError" && error.reason, "RejectedCredentials", error.message)
      assert.notInclude(error.message, "old-refresh")
      yield* Effect.flip(Registry.listAllTags("registry.test/app"))
      assert.strictEqual(fake.lookups(), 2)
    }).pipe(Effect.provide(fake.layer))
  })
})
