/**
 * Helpers for the registry-dialect unit tests: a fake registry (see `../support/fakeRegistry.ts`)
 * whose credential store counts its lookups, so a test can tell whether the client forgot a
 * credential after a refusal.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { fakeRegistry, type Handler, TestHasher } from "../support/fakeRegistry.js"

export const countingFake = (
  handler: Handler,
  options: {
    readonly credential?: CredentialStore.Credential | undefined
    readonly client?: RegistryClient.Options
  } = {}
) => {
  const fake = fakeRegistry(handler)
  let lookups = 0
  const store = Layer.succeed(
    CredentialStore.CredentialStore,
    CredentialStore.make(() =>
      Effect.sync(() => {
        lookups++
        return Option.fromNullable(options.credential)
      })
    )
  )
  const layer = Layer.merge(
    RegistryClient.layer({ retrySchedule: undefined, ...options.client }).pipe(
      Layer.provide(Layer.succeed(HttpClient.HttpClient, fake.http)),
      Layer.provide(store)
    ),
    TestHasher
  )
  return { log: fake.log, layer, lookups: () => lookups }
}

/** The requests that went to `host`. */
export const to = (log: ReadonlyArray<{ readonly url: URL }>, host: string) => log.filter((r) => r.url.host === host)
