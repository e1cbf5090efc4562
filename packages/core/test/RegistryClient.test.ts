import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import { assert, describe, it } from "@effect/vitest"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Registry from "@ocireg/core/Registry"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { fakeRegistry, json, type Recorded, sha256Hex, TestHasher } from "./support/fakeRegistry.js"

const registry = "registry.test"
const realm = "https://auth.registry.test/token"
const password = "s3cret-password"
const credentials = { [registry]: CredentialStore.basic("alice", Redacted.make(password)) }
const challenge = (scope?: string) =>
  `Bearer realm="${realm}",service="registry.test"${scope ? `,scope="${scope}"` : ""}`

/** A registry that wants bearer tokens and a realm that issues `token-N`. */
const bearerRegistry = (options: { expiresIn?: number; grant?: (r: Recorded) => boolean } = {}) => {
  let issued = 0
  const handler = (r: Recorded) => {
    if (r.url.origin === "https://auth.registry.test") {
      if (options.grant && !options.grant(r)) return new Response("denied", { status: 401 })
      issued++
      return json({ token: `token-${issued}`, expires_in: options.expiresIn ?? 300 })
    }
    if (!r.headers["authorization"]?.startsWith("Bearer token-")) {
      return new Response("", { status: 401, headers: { "www-authenticate": challenge() } })
    }
    return json({ name: "app", tags: ["v1"] })
  }
  return { handler, issued: () => issued }
}

const tokenRequests = (log: ReadonlyArray<Recorded>) => log.filter((r) => r.url.origin === "https://auth.registry.test")

describe("RegistryClient authentication", () => {
  it.effect("answers a Bearer challenge with a token fetched with Basic credentials, then reuses it", () => {
    const fake = bearerRegistry()
    const { layer, log } = fakeRegistry(fake.handler, { credentials })
    return Effect.gen(function*() {
      const tags = yield* Registry.listAllTags(`${registry}/app`)
      assert.deepStrictEqual(tags, ["v1"])
      yield* Registry.listAllTags(`${registry}/app`)
      const tokens = tokenRequests(log)
      assert.strictEqual(tokens.length, 1)
      assert.strictEqual(tokens[0]!.url.searchParams.get("service"), "registry.test")
      assert.deepStrictEqual(tokens[0]!.url.searchParams.getAll("scope"), ["repository:app:pull"])
      assert.strictEqual(tokens[0]!.headers["authorization"], `Basic ${btoa(`alice:${password}`)}`)
      // anonymous try, authenticated retry, then straight to the cached token
      assert.deepStrictEqual(
        log.filter((r) => r.url.origin === "https://registry.test").map((r) => r.headers["authorization"]),
        [undefined, "Bearer token-1", "Bearer token-1"]
      )
    }).pipe(Effect.provide(layer))
  })

  it.effect("renews a token shortly before it expires (TestClock)", () => {
    const fake = bearerRegistry({ expiresIn: 120 })
    const { layer, log } = fakeRegistry(fake.handler, { credentials })
    return Effect.gen(function*() {
      yield* Registry.listAllTags(`${registry}/app`)
      yield* TestClock.adjust("100 seconds")
      yield* Registry.listAllTags(`${registry}/app`)
      assert.strictEqual(tokenRequests(log).length, 1, "still fresh after 100 s of 120")
      yield* TestClock.adjust("10 seconds")
      yield* Registry.listAllTags(`${registry}/app`)
      assert.strictEqual(tokenRequests(log).length, 2, "renewed within the last tenth of its life")
    }).pipe(Effect.provide(layer))
  })

  it.effect("treats expires_in below 60 s as 60 s", () => {
    const fake = bearerRegistry({ expiresIn: 5 })
    const { layer, log } = fakeRegistry(fake.handler, { credentials })
    return Effect.gen(function*() {
      yield* Registry.listAllTags(`${registry}/app`)
      yield* TestClock.adjust("30 seconds")
      yield* Registry.listAllTags(`${registry}/app`)
      assert.strictEqual(tokenRequests(log).length, 1)
    }).pipe(Effect.provide(layer))
  })

  it.effect("shares one token fetch between 20 concurrent requests", () => {
    const fake = bearerRegistry()
    const { layer, log } = fakeRegistry(async (r) => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      return fake.handler(r)
    }, { credentials })
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.all(Array.from({ length: 20 }, () => Registry.listAllTags(`${registry}/app`)), { concurrency: 20 })
      )
      const results = yield* Fiber.join(fiber)
      assert.strictEqual(results.length, 20)
      assert.strictEqual(tokenRequests(log).length, 1)
    }).pipe(Effect.provide(layer))
  }, { timeout: 10_000 })

  it.effect("merges the challenge's scope with the request's", () => {
    const { layer, log } = fakeRegistry((r) => {
      if (r.url.origin === "https://auth.registry.test") return json({ access_token: "token-x" })
      if (r.headers["authorization"] !== "Bearer token-x") {
        return new Response("", { status: 401, headers: { "www-authenticate": challenge("repository:app:push") } })
      }
      return json({ name: "app", tags: [] })
    }, { credentials })
    return Effect.gen(function*() {
      yield* Registry.listAllTags(`${registry}/app`)
      assert.deepStrictEqual(tokenRequests(log)[0]!.url.searchParams.getAll("scope"), ["repository:app:pull,push"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("sends Basic credentials straight to a registry that asks for Basic", () => {
    const { layer, log } = fakeRegistry((r) =>
      r.headers["authorization"] === `Basic ${btoa(`alice:${password}`)}`
        ? json({ name: "app", tags: ["a"] })
        : new Response("", { status: 401, headers: { "www-authenticate": "Basic realm=\"registry\"" } }), {
      credentials
    })
    return Effect.gen(function*() {
      assert.deepStrictEqual(yield* Registry.listAllTags(`${registry}/app`), ["a"])
      assert.strictEqual(log.length, 2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("fails with MissingCredentials or RejectedCredentials, never showing the password", () =>
    Effect.gen(function*() {
      const refuse = () => new Response("", { status: 401, headers: { "www-authenticate": "Basic realm=\"r\"" } })
      const anonymous = fakeRegistry(refuse)
      const missing = yield* Effect.flip(Registry.listAllTags(`${registry}/app`).pipe(Effect.provide(anonymous.layer)))
      assert.strictEqual(missing._tag, "AuthenticationError")
      assert.strictEqual(missing._tag === "AuthenticationError" && missing.reason, "MissingCredentials")
      const wrong = fakeRegistry(refuse, { credentials })
      const rejected = yield* Effect.flip(Registry.listAllTags(`${registry}/app`).pipe(Effect.provide(wrong.layer)))
      assert.strictEqual(rejected._tag === "AuthenticationError" && rejected.reason, "RejectedCredentials")
      assert.strictEqual(wrong.log.length, 2, "one anonymous try, one authenticated, no loop")
      assert.notInclude(rejected.message, password)
      assert.notInclude(JSON.stringify(rejected), password)
      assert.notInclude(JSON.stringify(rejected), btoa(`alice:${password}`))
    }))

  it.effect("reports a realm that refuses the credentials as RejectedCredentials", () => {
    const fake = bearerRegistry({ grant: () => false })
    const { layer } = fakeRegistry(fake.handler, { credentials })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.listAllTags(`${registry}/app`))
      assert.strictEqual(error._tag === "AuthenticationError" && error.reason, "RejectedCredentials")
      assert.notInclude(error.message, password)
    }).pipe(Effect.provide(layer))
  })

  it.effect("re-authenticates once when a token is rejected, then gives up", () => {
    let calls = 0
    const { layer, log } = fakeRegistry((r) => {
      if (r.url.origin === "https://auth.registry.test") return json({ token: `token-${++calls}` })
      return new Response("", { status: 401, headers: { "www-authenticate": challenge() } })
    }, { credentials })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.listAllTags(`${registry}/app`))
      assert.strictEqual(error._tag, "AuthenticationError")
      assert.strictEqual(tokenRequests(log).length, 2, "the first token, and one replacement")
      assert.strictEqual(log.length - tokenRequests(log).length, 3, "anonymous, with token 1, with token 2")
    }).pipe(Effect.provide(layer))
  })

  it.effect("turns insufficient_scope after re-authentication into AuthorizationError", () => {
    const { layer } = fakeRegistry((r) => {
      if (r.url.origin === "https://auth.registry.test") return json({ token: "t" })
      return new Response("", {
        status: 401,
        headers: { "www-authenticate": `${challenge("repository:app:pull")},error="insufficient_scope"` }
      })
    }, { credentials })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.listAllTags(`${registry}/app`))
      assert.strictEqual(error._tag, "AuthorizationError")
    }).pipe(Effect.provide(layer))
  })

  it.effect("exchanges an identity token with OAuth2 POST and falls back to GET on 404", () =>
    Effect.gen(function*() {
      const identity = { [registry]: CredentialStore.identityToken(Redacted.make("refresh-me"), "alice") }
      const oauth = fakeRegistry(async (r) => {
        if (r.url.origin === "https://auth.registry.test") {
          return r.method === "POST" ? json({ access_token: "token-oauth" }) : new Response("", { status: 500 })
        }
        return r.headers["authorization"] === "Bearer token-oauth"
          ? json({ name: "app", tags: [] })
          : new Response("", { status: 401, headers: { "www-authenticate": challenge() } })
      }, { credentials: identity })
      yield* Registry.listAllTags(`${registry}/app`).pipe(Effect.provide(oauth.layer))
      assert.deepStrictEqual(tokenRequests(oauth.log).map((r) => r.method), ["POST"])

      const fallback = fakeRegistry((r) => {
        if (r.url.origin === "https://auth.registry.test") {
          return r.method === "POST" ? new Response("", { status: 404 }) : json({ token: "token-get" })
        }
        return r.headers["authorization"] === "Bearer token-get"
          ? json({ name: "app", tags: [] })
          : new Response("", { status: 401, headers: { "www-authenticate": challenge() } })
      }, { credentials: identity })
      yield* Registry.listAllTags(`${registry}/app`).pipe(Effect.provide(fallback.layer))
      assert.deepStrictEqual(tokenRequests(fallback.log).map((r) => r.method), ["POST", "GET"])
      assert.strictEqual(tokenRequests(fallback.log)[1]!.headers["authorization"], `Basic ${btoa("alice:refresh-me")}`)
    }))

  it.effect("refuses to send credentials to a realm on another site or over plain HTTP", () =>
    Effect.gen(function*() {
      for (const badRealm of ["https://evil.example/token", "http://auth.registry.test/token"]) {
        const { layer, log } = fakeRegistry(
          () => new Response("", { status: 401, headers: { "www-authenticate": `Bearer realm="${badRealm}"` } }),
          {
            credentials
          }
        )
        const error = yield* Effect.flip(Registry.listAllTags(`${registry}/app`).pipe(Effect.provide(layer)))
        assert.strictEqual(error._tag === "AuthenticationError" && error.reason, "InsecureTransport", badRealm)
        assert.isTrue(log.every((r) => r.url.host === "registry.test"), "nothing was sent to the realm")
      }
    }))

  it.effect("uses a ready bearer token without any exchange", () => {
    const { layer, log } = fakeRegistry((r) =>
      r.headers["authorization"] === "Bearer ready"
        ? json({ name: "app", tags: [] })
        : new Response("", { status: 401, headers: { "www-authenticate": challenge() } }), {
      credentials: { [registry]: CredentialStore.bearerToken(Redacted.make("ready")) }
    })
    return Effect.gen(function*() {
      yield* Registry.listAllTags(`${registry}/app`)
      assert.strictEqual(tokenRequests(log).length, 0)
    }).pipe(Effect.provide(layer))
  })
})

describe("RegistryClient transport", () => {
  it.effect("follows a redirect to another origin without Authorization", () => {
    const { layer, log } = fakeRegistry((r) => {
      if (r.url.host === "cdn.example") return new Response("blob", { status: 200 })
      if (r.headers["authorization"] !== `Basic ${btoa(`alice:${password}`)}`) {
        return new Response("", { status: 401, headers: { "www-authenticate": "Basic realm=\"r\"" } })
      }
      return new Response(null, { status: 307, headers: { location: "https://cdn.example/blob?X-Amz-Signature=abc" } })
    }, { credentials })
    return Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const response = yield* client.execute({
        registry,
        method: "GET",
        path: "/v2/app/blobs/sha256:00",
        scopes: []
      })
      assert.strictEqual(yield* Effect.orDie(response.text), "blob")
      const cdn = log.filter((r) => r.url.host === "cdn.example")
      assert.strictEqual(cdn.length, 1)
      assert.isUndefined(cdn[0]!.headers["authorization"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("refuses redirects to link-local addresses and HTTPS downgrades", () =>
    Effect.gen(function*() {
      for (const location of ["http://169.254.169.254/latest/meta-data", "http://cdn.example/x"]) {
        const { layer } = fakeRegistry(() => new Response(null, { status: 302, headers: { location } }))
        const error = yield* Effect.flip(
          Effect.flatMap(RegistryClient.RegistryClient, (c) =>
            c.execute({ registry, method: "GET", path: "/v2/", scopes: [] })).pipe(Effect.provide(layer))
        )
        assert.strictEqual(error._tag, "InvalidResponse", location)
      }
    }))

  it.effect("retries idempotent requests on 503 and honours Retry-After on 429", () => {
    let calls = 0
    const { layer } = fakeRegistry(() => {
      calls++
      if (calls === 1) return new Response("", { status: 503, headers: { "retry-after": "1" } })
      if (calls === 2) return new Response("", { status: 429, headers: { "retry-after": "1" } })
      return json({ name: "app", tags: ["ok"] })
    }, { client: { retrySchedule: Schedule.recurs(3) } })
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(Registry.listAllTags(`${registry}/app`))
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(calls, 1, "the 503's Retry-After is honoured too")
      yield* TestClock.adjust("2 seconds")
      assert.deepStrictEqual(yield* Fiber.join(fiber), ["ok"])
      assert.strictEqual(calls, 3)
    }).pipe(Effect.provide(layer))
  })

  it.effect("maps statuses to typed errors with the OCI error codes", () =>
    Effect.gen(function*() {
      const answer = (status: number, code: string, headers: Record<string, string> = {}) =>
        fakeRegistry(() => json({ errors: [{ code, message: "nope" }] }, { status, headers }), {
          client: { retrySchedule: Schedule.stop }
        }).layer
      const notFound = yield* Effect.flip(
        Registry.listAllTags(`${registry}/app`).pipe(
          Effect.provide(answer(404, "NAME_UNKNOWN"))
        )
      )
      assert.strictEqual(notFound._tag === "NotFound" && notFound.kind, "repository")
      const denied = yield* Effect.flip(
        Registry.listAllTags(`${registry}/app`).pipe(Effect.provide(answer(403, "DENIED")))
      )
      assert.strictEqual(denied._tag, "AuthorizationError")
      const limited = yield* Effect.flip(
        Registry.listAllTags(`${registry}/app`).pipe(
          Effect.provide(answer(429, "TOOMANYREQUESTS", { "retry-after": "7", "ratelimit-remaining": "0;w=21600" }))
        )
      )
      assert.strictEqual(limited._tag === "RateLimited" && limited.retryAfterMillis, 7000)
      const other = yield* Effect.flip(
        Registry.listAllTags(`${registry}/app`).pipe(
          Effect.provide(answer(400, "TAG_INVALID"))
        )
      )
      assert.strictEqual(other._tag, "RegistryResponseError")
      assert.deepStrictEqual(other._tag === "RegistryResponseError" && other.errors.map((e) => e.code), ["TAG_INVALID"])
    }))

  it.effect("caps Retry-After at maxRetryAfter", () => {
    let calls = 0
    const { layer } = fakeRegistry(() =>
      ++calls === 1
        ? new Response("", { status: 429, headers: { "retry-after": "3600" } })
        : json({ name: "app", tags: ["late"] }), {
      client: { retrySchedule: Schedule.recurs(1), maxRetryAfter: "2 seconds" }
    })
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(Registry.listAllTags(`${registry}/app`))
      yield* TestClock.adjust("1 second")
      assert.strictEqual(calls, 1, "still waiting after 1 s")
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Fiber.join(fiber), ["late"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("never follows a realm to a link-local or metadata address, even anonymously", () => {
    const { layer, log } = fakeRegistry(() =>
      new Response("", {
        status: 401,
        headers: { "www-authenticate": "Bearer realm=\"http://169.254.169.254/latest/meta-data/\"" }
      })
    )
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.listAllTags(`${registry}/app`))
      assert.strictEqual(error._tag === "AuthenticationError" && error.reason, "InsecureTransport")
      assert.isTrue(log.every((r) => r.url.hostname !== "169.254.169.254"))
    }).pipe(Effect.provide(layer))
  })

  it.effect("logs each Warning: 299 once and keeps it for callers", () => {
    const { layer } = fakeRegistry(() =>
      json({ name: "app", tags: [] }, {
        headers: { warning: "299 - \"this repository is deprecated\", 299 - \"second \\\"quoted\\\" warning\"" }
      })
    )
    return Effect.gen(function*() {
      yield* Registry.listAllTags(`${registry}/app`)
      yield* Registry.listAllTags(`${registry}/app`)
      const client = yield* RegistryClient.RegistryClient
      assert.deepStrictEqual(yield* client.warnings, ["this repository is deprecated", "second \"quoted\" warning"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("reads Docker Hub's rate limit from a HEAD", () => {
    const { layer, log } = fakeRegistry(() =>
      new Response(null, {
        headers: {
          "docker-content-digest": `sha256:${"a".repeat(64)}`,
          "content-type": "application/vnd.oci.image.index.v1+json",
          "content-length": "100",
          "ratelimit-limit": "100;w=21600",
          "ratelimit-remaining": "76;w=21600"
        }
      })
    )
    return Effect.gen(function*() {
      const limit = yield* Registry.rateLimit(`${registry}/app:v1`)
      assert.deepStrictEqual(limit._tag === "Some" ? limit.value : undefined, {
        limit: 100,
        remaining: 76,
        windowSeconds: 21600
      })
      assert.deepStrictEqual(log.map((r) => r.method), ["HEAD"])
    }).pipe(Effect.provide(layer))
  })

  it.live("holds blob downloads to hostConcurrency per host, however many are started", () => {
    let inFlight = 0
    let peak = 0
    const bytes = new TextEncoder().encode("blob")
    const digest = `sha256:${sha256Hex(bytes)}`
    const { layer } = fakeRegistry(async () => {
      inFlight++
      peak = Math.max(peak, inFlight)
      await new Promise((resolve) => setTimeout(resolve, 20))
      inFlight--
      return new Response(bytes)
    }, { client: { hostConcurrency: 2 } })
    return Effect.gen(function*() {
      yield* Effect.all(
        Array.from({ length: 10 }, () => Stream.runDrain(Registry.getBlob(`${registry}/app`, digest))),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(peak, 2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("sees credentials added after a refusal, and after invalidateCredentials", () => {
    let current: CredentialStore.Credential | undefined
    const store = Layer.succeed(
      CredentialStore.CredentialStore,
      CredentialStore.make(() => Effect.succeed(Option.fromNullable(current)))
    )
    const fake = fakeRegistry((r) =>
      r.headers["authorization"] === `Basic ${btoa(`alice:${password}`)}`
        ? json({ name: "app", tags: ["a"] })
        : new Response("", { status: 401, headers: { "www-authenticate": "Basic realm=\"r\"" } })
    )
    const layer = RegistryClient.layer().pipe(
      Layer.provide(Layer.succeed(HttpClient.HttpClient, fake.http)),
      Layer.provide(store)
    )
    return Effect.gen(function*() {
      const first = yield* Effect.flip(Registry.listAllTags(`${registry}/app`))
      assert.strictEqual(first._tag === "AuthenticationError" && first.reason, "MissingCredentials")
      current = CredentialStore.basic("alice", Redacted.make(password))
      assert.deepStrictEqual(
        yield* Registry.listAllTags(`${registry}/app`),
        ["a"],
        "the refusal forgot the empty lookup"
      )
      current = undefined
      const client = yield* RegistryClient.RegistryClient
      yield* client.invalidateCredentials(registry)
      const signedOut = yield* Effect.flip(Registry.listAllTags(`${registry}/app`))
      assert.strictEqual(signedOut._tag, "AuthenticationError")
    }).pipe(Effect.provide(Layer.merge(layer, TestHasher)))
  })
})

describe("a client that enforces the response timeout itself (ResponseTimeoutTypeId)", () => {
  /** A client whose requests fail as a timed-out `node:http` request would; records the timeouts it was given. */
  const timingClient = () => {
    const given: Array<number> = []
    const failing = (millis: number | undefined) =>
      HttpClient.make((request) =>
        Effect.fail(
          new HttpClientError.RequestError({
            request,
            reason: "Transport",
            cause: Object.assign(new Error(`no response within ${millis}ms`), { code: "ETIMEDOUT" })
          })
        )
      )
    const client = Object.assign(failing(undefined), {
      [RegistryClient.ResponseTimeoutTypeId]: (millis: number) => {
        given.push(millis)
        return failing(millis)
      }
    })
    return { client, given }
  }
  const layerWith = (client: HttpClient.HttpClient, options: RegistryClient.Options) =>
    RegistryClient.layer({ retrySchedule: Schedule.recurs(0), ...options }).pipe(
      Layer.provide(Layer.succeed(HttpClient.HttpClient, client)),
      Layer.provide(CredentialStore.layerAnonymous)
    )

  it.live("is handed requestTimeout, and its ETIMEDOUT becomes a TransportError Timeout", () => {
    const { client, given } = timingClient()
    assert.isTrue(RegistryClient.hasResponseTimeout(client))
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.headManifest(`${registry}/app:1`))
      assert.deepStrictEqual(given, [1500])
      assert.strictEqual(error._tag === "TransportError" && error.reason, "Timeout")
      assert.isTrue(RegistryClient.isTimeout(error))
      assert.include(error.message, "no response within 1500ms")
    }).pipe(Effect.provide(layerWith(client, { requestTimeout: "1500 millis" })))
  })

  it.live("is not used when transformClient may replace the client, nor for a timeout of 0", () => {
    const first = timingClient()
    const second = timingClient()
    return Effect.gen(function*() {
      yield* Effect.flip(Registry.headManifest(`${registry}/app:1`)).pipe(
        Effect.provide(layerWith(first.client, { transformClient: (c) => c }))
      )
      yield* Effect.flip(Registry.headManifest(`${registry}/app:1`)).pipe(
        Effect.provide(layerWith(second.client, { requestTimeout: 0 }))
      )
      assert.deepStrictEqual([first.given, second.given], [[], []])
    })
  })

  it.effect("is not used under a test clock, whose time only the timer follows", () => {
    const { client, given } = timingClient()
    return Effect.gen(function*() {
      yield* Effect.flip(Registry.headManifest(`${registry}/app:1`))
      assert.deepStrictEqual(given, [])
    }).pipe(Effect.provide(layerWith(client, {})))
  })
})
