/**
 * Friction 1 and 6 of issue 16: retries that work whatever the error channel holds, a per-effect
 * override of the client's own retries that keeps the client (and its token cache), and a
 * deadline that holds when the client's retries are off.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Registry from "@ocireg/core/Registry"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import { NotFound, RegistryResponseError, TransportError } from "@ocireg/core/RegistryError"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { fakeRegistry, json, type Recorded } from "../support/fakeRegistry.js"

class DiskFull extends Data.TaggedError("DiskFull")<{ readonly path?: string }> {}

const unavailable = () => new RegistryResponseError({ method: "GET", url: "https://registry.test/v2/", status: 503 })

/** An effect that fails with each error of `errors` in turn, then succeeds; counts its runs. */
const flaky = <E>(errors: ReadonlyArray<E>) => {
  let runs = 0
  const effect = Effect.suspend(() => {
    const error = errors[runs++]
    return error === undefined ? Effect.succeed("ok") : Effect.fail(error)
  })
  return { effect, runs: () => runs }
}

/** A registry that answers tag lists with 503 `failures` times, then with tags; tokens from a realm. */
const failingRegistry = (failures: number) => {
  let left = failures
  let tokens = 0
  const handler = (r: Recorded) => {
    if (r.url.origin === "https://auth.registry.test") {
      tokens++
      return json({ token: `token-${tokens}`, expires_in: 300 })
    }
    if (!r.headers["authorization"]?.startsWith("Bearer ")) {
      return new Response("", {
        status: 401,
        headers: { "www-authenticate": `Bearer realm="https://auth.registry.test/token",service="registry.test"` }
      })
    }
    if (left > 0) {
      left--
      return new Response("", { status: 503 })
    }
    return json({ name: "app", tags: ["v1"] })
  }
  return { handler, tokens: () => tokens, fail: (n: number) => void (left = n) }
}

describe("retries for any error type (friction 1)", () => {
  it("isRetryable and defaultRetrySchedule accept an error channel widened by Effect.timeout or other errors", () => {
    const widened: Effect.Effect<
      string,
      RegistryError | Cause.TimeoutException | DiskFull,
      RegistryClient.RegistryClient
    > = Effect.timeout(Registry.listAllTags("registry.test/app"), "1 second").pipe(
      Effect.map((tags) => tags.join(",")),
      Effect.zipLeft(Effect.fail(new DiskFull({})).pipe(Effect.when(() => false)))
    )
    // both of these failed to compile (TS2769) while isRetryable took only a RegistryError
    const a = Effect.retry(widened, { while: RegistryClient.isRetryable })
    const b = Effect.retry(widened, RegistryClient.defaultRetrySchedule)
    const c = Registry.retryTransient(widened, { times: 2 })
    expectTypeOf(a).toEqualTypeOf<typeof widened>()
    expectTypeOf(b).toEqualTypeOf<typeof widened>()
    expectTypeOf(c).toEqualTypeOf<typeof widened>()
    expectTypeOf(RegistryClient.isRetryable).parameter(0).toEqualTypeOf<unknown>()
  })

  it("counts a TimeoutException as transient and other non-registry errors as not", () => {
    assert.isTrue(RegistryClient.isRetryable(new Cause.TimeoutException()))
    assert.isTrue(RegistryClient.isRetryable(unavailable()))
    assert.isTrue(
      RegistryClient.isRetryable(new TransportError({ method: "GET", url: "x", reason: "Timeout" }))
    )
    assert.isFalse(RegistryClient.isRetryable(new DiskFull({})))
    assert.isFalse(RegistryClient.isRetryable(new Error("boom")))
    assert.isFalse(RegistryClient.isRetryable(undefined))
    assert.isFalse(RegistryClient.isRetryable(new NotFound({ kind: "manifest", registry: "r" })))
    assert.isTrue(RegistryClient.isTimeout(new Cause.TimeoutException()))
    assert.isFalse(RegistryClient.isTimeout(unavailable()))
  })

  it.effect("Registry.retryTransient retries transient errors (a timeout too), and what `while` adds", () =>
    Effect.gen(function*() {
      const first = flaky<unknown>([unavailable(), new Cause.TimeoutException()])
      assert.strictEqual(yield* Registry.retryTransient(first.effect, Schedule.recurs(5)), "ok")
      assert.strictEqual(first.runs(), 3)

      const disk = flaky<DiskFull | RegistryResponseError>([new DiskFull({}), unavailable()])
      const notRetried = yield* Effect.exit(Registry.retryTransient(disk.effect, { schedule: Schedule.recurs(5) }))
      assert.isTrue(Exit.isFailure(notRetried))
      assert.strictEqual(disk.runs(), 1)

      const disk2 = flaky<DiskFull | RegistryResponseError>([new DiskFull({}), unavailable()])
      const withWhile = yield* Registry.retryTransient(disk2.effect, {
        schedule: Schedule.recurs(5),
        while: (e) => e._tag === "DiskFull"
      })
      assert.strictEqual(withWhile, "ok")
      assert.strictEqual(disk2.runs(), 3)

      const many = flaky<RegistryResponseError>([unavailable(), unavailable(), unavailable(), unavailable()])
      const capped = yield* Effect.exit(
        Registry.retryTransient(many.effect, { schedule: Schedule.recurs(10), times: 2 })
      )
      assert.isTrue(Exit.isFailure(capped))
      assert.strictEqual(many.runs(), 3)
    }))

  it.effect("Registry.retryTransient's default schedule waits with backoff (virtual time)", () =>
    Effect.gen(function*() {
      const f = flaky<RegistryResponseError>([unavailable()])
      const fiber = yield* Effect.fork(Registry.retryTransient(f.effect, {}))
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(yield* Fiber.join(fiber), "ok")
      assert.strictEqual(f.runs(), 2)
    }))
})

describe("the client's own retries, per effect (friction 6)", () => {
  it.effect("withRetrySchedule and withoutRetries change one call and keep the client's token cache", () => {
    const fake = failingRegistry(0)
    const { layer, log } = fakeRegistry(fake.handler, {
      credentials: { "registry.test": CredentialStore.basic("u", Redacted.make("p")) },
      client: { retrySchedule: Schedule.stop }
    })
    const tagRequests = () => log.filter((r) => r.url.pathname.endsWith("/tags/list")).length
    return Effect.gen(function*() {
      assert.deepStrictEqual(yield* Registry.listAllTags("registry.test/app"), ["v1"])
      const before = tagRequests()
      // the client is built with no retries: a 503 fails at once
      fake.fail(1)
      const failed = yield* Effect.exit(Registry.listAllTags("registry.test/app"))
      assert.isTrue(Exit.isFailure(failed))
      assert.strictEqual(tagRequests() - before, 1)
      // the same client, with retries for this call only
      fake.fail(2)
      const tags = yield* Registry.listAllTags("registry.test/app").pipe(
        RegistryClient.withRetrySchedule(Schedule.recurs(3))
      )
      assert.deepStrictEqual(tags, ["v1"])
      assert.strictEqual(tagRequests() - before, 4)
      // the stream form
      fake.fail(1)
      const pages = yield* Stream.runCollect(
        Registry.listTags("registry.test/app").pipe(RegistryClient.withRetrySchedule(Schedule.recurs(3)))
      )
      assert.strictEqual(Chunk.size(pages), 1)
      assert.strictEqual(fake.tokens(), 1, "one token for every call: the client (and its cache) was kept")
    }).pipe(Effect.provide(layer))
  })

  it.effect("withoutRetries turns off a client's default retries for one call", () => {
    const fake = failingRegistry(0)
    const { layer, log } = fakeRegistry(fake.handler, {
      credentials: { "registry.test": CredentialStore.basic("u", Redacted.make("p")) }
    })
    const tagRequests = () => log.filter((r) => r.url.pathname.endsWith("/tags/list")).length
    return Effect.gen(function*() {
      fake.fail(5)
      const failed = yield* Effect.exit(RegistryClient.withoutRetries(Registry.listAllTags("registry.test/app")))
      assert.isTrue(Exit.isFailure(failed))
      // the anonymous try that learns the challenge, then one authenticated try, not retried
      assert.strictEqual(tagRequests(), 2)
    }).pipe(Effect.provide(layer))
  })
})

describe("a deadline that holds (friction 6)", () => {
  /** A client whose HTTP never answers. */
  const silent = (options: RegistryClient.Options) =>
    RegistryClient.layer(options).pipe(
      Layer.provide(Layer.succeed(HttpClient.HttpClient, HttpClient.make(() => Effect.never))),
      Layer.provide(CredentialStore.layerAnonymous)
    )

  it.effect("with client retries off, a 50 ms requestTimeout fails after 50 ms (virtual), as TransportError Timeout", () =>
    Effect.gen(function*() {
      const off = yield* Effect.fork(RegistryClient.withoutRetries(Registry.listAllTags("registry.test/app")))
      const on = yield* Effect.fork(Registry.listAllTags("registry.test/app"))
      yield* TestClock.adjust("60 millis")
      const done = yield* Fiber.poll(off)
      assert.isTrue(Option.isSome(done), "the call without client retries is over after one timeout")
      const exit = Option.getOrThrow(done)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = Cause.failureOption(exit.cause)
        assert.isTrue(Option.isSome(error) && error.value._tag === "TransportError" && error.value.reason === "Timeout")
      }
      assert.isTrue(Option.isNone(yield* Fiber.poll(on)), "with the client's retries the same call is still going")
      yield* Fiber.interrupt(on)
    }).pipe(Effect.provide(silent({ requestTimeout: "50 millis" }))))

  it.live("with client retries off, a 50 ms requestTimeout fails within a second of wall time", () =>
    Effect.gen(function*() {
      const started = Date.now()
      const exit = yield* Effect.exit(RegistryClient.withoutRetries(Registry.listAllTags("registry.test/app")))
      const took = Date.now() - started
      assert.isTrue(Exit.isFailure(exit))
      assert.isBelow(took, 1000, `took ${took} ms`)
    }).pipe(Effect.provide(silent({ requestTimeout: "50 millis" }))))

  it.effect("Registry.timeout gives an operation's deadline the client's timeout shape", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Registry.listAllTags("registry.test/app").pipe(Registry.timeout("1 second"), Effect.flip)
      )
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "TransportError")
      assert.isTrue(RegistryClient.isTimeout(error))
    }).pipe(Effect.provide(silent({ requestTimeout: "1 hour" }))))
})

type RegistryError = import("@ocireg/core/RegistryError").RegistryError
