/**
 * The per-effect override of the client's retry schedule (`RegistryClient.withRetrySchedule`,
 * `withoutRetries`), here so that the internals that fetch again on their own (a body that broke
 * on the way) follow it too.
 *
 * @internal
 */
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import type { RegistryError } from "../RegistryError.js"

/** The schedule that overrides the client's own (none: the client's). */
export const currentRetrySchedule: FiberRef.FiberRef<Option.Option<Schedule.Schedule<unknown, RegistryError>>> =
  globalValue(
    "@ocireg/core/RegistryClient/currentRetrySchedule",
    () => FiberRef.unsafeMake<Option.Option<Schedule.Schedule<unknown, RegistryError>>>(Option.none())
  )
