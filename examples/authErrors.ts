/**
 * A test that swaps the credential layer and asserts typed authentication errors, as written with
 * `@effect/vitest` (`packages/platform-node/test/examples.test.ts` runs these same scenarios
 * with `it.effect`). The code under test needs only a `RegistryClient`; the test gives it one
 * whose HTTP goes to an in-memory registry with Bearer tokens, and swaps the `CredentialStore`:
 *
 * - the right credentials: the tag list;
 * - a wrong password: `AuthenticationError` (`RejectedCredentials`);
 * - no credentials: `AuthenticationError` (`MissingCredentials`);
 * - a user granted only `pull` who pushes: `AuthorizationError`;
 * - a credential store of your own (`CredentialStore.layer`) whose lookup fails:
 *   `AuthenticationError` (`CredentialLookupFailed`).
 *
 * Run: npx tsx examples/authErrors.ts     (always in memory; it takes no arguments)
 */
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Registry from "@ocireg/core/Registry"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { isMain, runMain } from "./support.js"

// --- the code under test --------------------------------------------------------------------

/** The tags of the repository, then a tag pushed as `copy-of-latest`. */
export const tagsThenRetag = (repository: string) =>
  Effect.gen(function*() {
    const tags = yield* Registry.listAllTags(repository)
    const latest = yield* Registry.getManifest(`${repository}:latest`)
    yield* Registry.putManifest(`${repository}:copy-of-latest`, { bytes: latest.bytes, mediaType: latest.mediaType })
    return tags
  })

// --- the test environment -------------------------------------------------------------------

/** A registry with Bearer tokens: `ci` may push, `reader` may only pull; seeded with one image. */
export const registry = RegistryTest.layer({
  auth: {
    bearer: {
      users: { ci: "s3cret", reader: "r3ad" },
      grants: (user, _repository, actions) => user === "reader" ? actions.filter((a) => a === "pull") : actions
    }
  }
})

/** The client under test, on the given credentials, next to the registry. */
export const environment = (credentials: Layer.Layer<CredentialStore.CredentialStore>) =>
  RegistryClient.layer().pipe(Layer.provide(credentials), Layer.provideMerge(registry))

const as = (user: string, password: string) =>
  CredentialStore.layerStatic({ "registry.test": CredentialStore.basic(user, Redacted.make(password)) })

class VaultSealed extends Data.TaggedError("VaultSealed")<{ readonly message: string }> {}

/** The credential layers each scenario swaps in. */
export const credentials = {
  right: as("ci", "s3cret"),
  wrongPassword: as("ci", "wrong"),
  none: CredentialStore.layerAnonymous,
  pullOnly: as("reader", "r3ad"),
  sealedVault: CredentialStore.layer(() => Effect.fail(new VaultSealed({ message: "the vault is sealed" })))
}

/** Seed the image the code under test reads. */
export const seed = RegistryTest.seedImage({ repository: "team/app", tags: ["latest"] })

/** Run the code under test with one credential layer; the outcome as a line to print. */
export const scenario = (name: keyof typeof credentials) =>
  Effect.gen(function*() {
    yield* seed
    return yield* tagsThenRetag("registry.test/team/app").pipe(
      RegistryClient.withoutRetries,
      Effect.map((tags) => `${name}: ok, tags ${tags.join(", ")}`),
      Effect.catchTags({
        AuthenticationError: (e) => Effect.succeed(`${name}: AuthenticationError (${e.reason})`),
        AuthorizationError: (e) => Effect.succeed(`${name}: AuthorizationError (${e.reason})`)
      })
    )
  }).pipe(Effect.provide(environment(credentials[name])))

export const main = (_args: ReadonlyArray<string> = []) =>
  Effect.forEach(
    ["right", "wrongPassword", "none", "pullOnly", "sealedVault"] as const,
    (name) => Effect.flatMap(scenario(name), Console.log),
    { discard: true }
  )

if (isMain(import.meta.url)) runMain(main)
