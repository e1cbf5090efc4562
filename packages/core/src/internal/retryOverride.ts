/**
 * The per-effect override of the client's retry schedule (`RegistryClient.withRetrySchedule`,
 * `withoutRetries`), here so that the internals that fetch again on their own (a body that broke
 * on the way) follow it too; and the retry loop that costs nothing until a request fails.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type { RegistryError } from "../RegistryError.js"

/** The schedule that overrides the client's own (none: the client's). */
export const currentRetrySchedule: FiberRef.FiberRef<Option.Option<Schedule.Schedule<unknown, RegistryError>>> =
  globalValue(
    "@ocireg/core/RegistryClient/currentRetrySchedule",
    () => FiberRef.unsafeMake<Option.Option<Schedule.Schedule<unknown, RegistryError>>>(Option.none())
  )

/**
 * `Effect.retry(self, { schedule, while: retryable })`, except that nothing of the schedule is
 * built or run until a retryable failure arrives: most requests succeed at once, and building the
 * retry driver for each of them cost ~35 runtime steps per request.
 */
export const retryAfterFailure = <A, E, R, Out, RS>(
  self: Effect.Effect<A, E, R>,
  schedule: Effect.Effect<Schedule.Schedule<Out, E, RS>>,
  retryable: (error: E) => boolean
): Effect.Effect<A, E, R | RS> =>
  Effect.catchAll(self, (first) =>
    retryable(first)
      ? Effect.flatMap(schedule, (policy) =>
        Effect.flatMap(Schedule.driver(policy), (driver) => {
          const next = (error: E): Effect.Effect<A, E, R | RS> =>
            Effect.matchEffect(driver.next(error), {
              onFailure: () => Effect.fail(error),
              onSuccess: () => Effect.catchAll(self, (again) => retryable(again) ? next(again) : Effect.fail(again))
            })
          return next(first)
        }))
      : Effect.fail(first))
