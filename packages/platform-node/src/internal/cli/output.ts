/**
 * How the CLI speaks: results as text or JSON on standard output, errors as one line on standard
 * error with an exit code per kind of failure.
 *
 * @internal
 */
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import { isRegistryError, type RegistryError } from "@ocireg/core/RegistryError"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { stripAnsi } from "./console.js"
import * as Template from "./template.js"

/** A command was used wrongly in a way the argument parser cannot see (exit code 2). */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

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
  if (error instanceof UsageError) return ExitCode.usage
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
export const errorLine = (error: unknown): string => `ocireg: ${messageOf(error)}`

const messageOf = (error: unknown): string => {
  if (ValidationError.isValidationError(error)) {
    return stripAnsi(HelpDoc.toAnsiText(error.error)).trim().replace(/\s*\n\s*/g, " ")
  }
  if (error instanceof Error) return error.message
  return String(error)
}

/** Plain data fields of an error worth passing on (strings, numbers, booleans, string arrays). */
const fieldsOf = (error: unknown): Record<string, unknown> => {
  if (typeof error !== "object" || error === null || ValidationError.isValidationError(error)) return {}
  const fields: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(error)) {
    if (key === "_tag" || key === "message" || key === "stack" || key === "cause") continue
    if (["string", "number", "boolean"].includes(typeof value)) fields[key] = value
    else if (Array.isArray(value) && value.every((v) => ["string", "number"].includes(typeof v))) fields[key] = value
  }
  return fields
}

/** The name of an error's kind: its `_tag`, `UsageError` for the argument parser's complaints. */
const tagOf = (error: unknown): string => {
  if (ValidationError.isValidationError(error)) return "UsageError"
  if (typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string") {
    return error._tag
  }
  return error instanceof Error ? error.name : "Error"
}

/**
 * The JSON error object of `--json`: `{"error": tag, "message", "exitCode", ...fields}`; for the
 * argument parser's errors `reason` is its kind (`MissingValue`, `CommandMismatch`, ...). Registry
 * errors' fields hold no secrets (a rule of `RegistryError`).
 */
export const errorJson = (error: unknown): string =>
  JSON.stringify({
    error: tagOf(error),
    message: messageOf(error),
    exitCode: exitCodeOf(error),
    ...(ValidationError.isValidationError(error) ? { reason: error._tag } : {}),
    ...fieldsOf(error)
  })

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

/** `--format TEMPLATE` (see template.ts). */
export const formatOption = Options.text("format").pipe(
  Options.optional,
  Options.withDescription("print with a Go-style template, e.g. '{{.digest}}' (docs/cli.md: the language)")
)

/** Parse a `--format` template, a syntax error being a usage error. */
export const parseFormat = (
  format: Option.Option<string>
): Effect.Effect<Option.Option<Template.Template>, UsageError> =>
  Option.match(format, {
    onNone: () => Effect.succeedNone,
    onSome: (source) =>
      Effect.try({
        try: () => Option.some(Template.parse(source)),
        catch: (e) => new UsageError({ message: `--format: ${e instanceof Error ? e.message : String(e)}` })
      })
  })

/**
 * Print `value` with the `--format` template when given (each of `items` on its own when the
 * value is a list), else as JSON when asked for, else as the text lines.
 */
export const output = (
  global: { readonly json: boolean },
  format: Option.Option<string>,
  value: unknown,
  text: () => ReadonlyArray<string>,
  items?: ReadonlyArray<unknown>
): Effect.Effect<void, UsageError> =>
  Effect.flatMap(parseFormat(format), (template) =>
    Option.match(template, {
      onNone: () => result(global.json, value, text),
      onSome: (t) =>
        Effect.sync(() => {
          for (const item of items ?? [value]) process.stdout.write(Template.renderLine(t, item))
        })
    }))
