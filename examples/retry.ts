/**
 * Retries, two ways:
 *
 * 1. the client's own: every idempotent request (GET, HEAD, DELETE, manifest PUT) is retried on
 *    transient failures (connection errors, timeouts, 408/429/5xx) by the `retrySchedule` option of
 *    `NodeRegistry.layer` / `RegistryClient.layer`, honouring `Retry-After`;
 * 2. around a whole operation: `Effect.retry` with any `Schedule`, retrying only what
 *    `RegistryClient.isRetryable` says is worth it (never a 404 or a refused password). It takes
 *    any error, so it also works when `Effect.timeout` or file writes widen the error channel.
 *    `RegistryClient.withoutRetries` turns the client's own retries off for that one effect
 *    (same client, same token cache), so the failures reach `Effect.retry`.
 *
 * How the two combine, and how to get a deadline that holds: docs/retries.md.
 *
 * Run: npx tsx examples/retry.ts [reference]
 * Without an argument it uses an embedded registry told to fail the first requests with 503.
 */
import * as Registry from "@ocireg/core/Registry"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { isMain, runMain, type Target, withRegistry } from "./support.js"

/** Make the embedded registry answer the next two tag listings with 503. */
const failTwice = (target: Target) =>
  Effect.sync(() =>
    target.server?.registry.failNext({
      status: 503,
      times: 2,
      match: (request) => request.path.endsWith("/tags/list")
    })
  )

/** 1. The client retries each request: quickly, with jitter, at most 4 times. */
const clientSchedule = Schedule.exponential("20 millis").pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(4))
)

/** 2. The caller retries the operation: 50 ms, 100 ms, 200 ms, then gives up. */
const operationSchedule = Schedule.exponential("50 millis").pipe(Schedule.intersect(Schedule.recurs(3)))

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      yield* failTwice(target)
      const tags = yield* Registry.listAllTags(target.reference)
      yield* Console.log(`1. the client retried by itself: ${tags.length} tags`)
      if (target.server !== undefined) {
        const requests = target.server.registry.requests().filter((r) => r.path.endsWith("/tags/list"))
        yield* Console.log(`   (the registry answered ${requests.map((r) => r.status).join(", ")})`)
      }

      yield* failTwice(target)
      const again = yield* Registry.listAllTags(target.reference).pipe(
        Effect.tapError((e) => Console.log(`   attempt failed: ${e._tag}: ${e.message}`)),
        // the client does not retry by itself for this effect, so the failures reach Effect.retry
        RegistryClient.withoutRetries,
        Effect.retry({ schedule: operationSchedule, while: RegistryClient.isRetryable })
      )
      yield* Console.log(`2. Effect.retry around the operation: ${again.length} tags`)
    }), { client: { retrySchedule: clientSchedule } })

if (isMain(import.meta.url)) runMain(main)
