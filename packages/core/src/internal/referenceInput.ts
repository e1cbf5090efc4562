/**
 * A reference as operations take it (parsed, or a string to parse): one parser for `Registry`,
 * `Image`, `ImageIndex`, `Artifact` and `ImageMutate`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Reference from "../Reference.js"
import type { InvalidReference } from "../RegistryError.js"

/** Parse a string reference (a typed `InvalidReference` when it is malformed); pass a parsed one through. */
export const toReference = (
  input: Reference.Reference | string
): Effect.Effect<Reference.Reference, InvalidReference> =>
  typeof input === "string" ? Reference.parseEffect(input) : Effect.succeed(input)
