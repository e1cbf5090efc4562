/**
 * How the CLI speaks: results as text or JSON on standard output, errors as one line on standard
 * error with an exit code per kind of failure.
 *
 * @internal
 */
import * as ValidationError from "@effect/cli/ValidationError"
import { isRegistryError, type RegistryError } from "@ocireg/core/RegistryError"
import * as Effect from "effect/Effect"

/** Exit codes: distinct for the failures scripts want to tell apart. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  digestMismatch: 5
} as const

/** The exit code for an error. */
export const exitCodeOf = (error: unknown): number => {
  if (ValidationError.isValidationError(error)) return ExitCode.usage
  if (!isRegistryError(error)) return ExitCode.failure
  switch ((error as RegistryError)._tag) {
    case "AuthenticationError":
    case "AuthorizationError":
      return ExitCode.auth
    case "NotFound":
      return ExitCode.notFound
    case "DigestMismatch":
      return ExitCode.digestMismatch
    case "InvalidReference":
      return ExitCode.usage
    default:
      return ExitCode.failure
  }
}

/** One line that says what went wrong (registry errors' messages never hold secrets). */
export const errorLine = (error: unknown): string => {
  if (error instanceof Error) return `ocireg: ${error.message}`
  return `ocireg: ${String(error)}`
}

/** Write a line to standard output. */
export const line = (text: string): Effect.Effect<void> => Effect.sync(() => void process.stdout.write(`${text}\n`))

/** Write a value as pretty JSON to standard output. */
export const json = (value: unknown): Effect.Effect<void> => line(JSON.stringify(value, null, 2))

/** Print `value` as JSON when asked for, otherwise as the given text lines. */
export const result = (asJson: boolean, value: unknown, text: () => ReadonlyArray<string>): Effect.Effect<void> =>
  asJson ? json(value) : Effect.forEach(text(), line, { discard: true })

/** Human-readable byte counts. */
export const bytes = (n: number): string => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]
  let value = n
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`
}
