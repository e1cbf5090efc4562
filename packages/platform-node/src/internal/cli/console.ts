/**
 * The `Console` the CLI runs with. `@effect/cli` renders help and usage errors itself, always
 * with ANSI styles and with its own stock sentences under every argument and option ("A
 * user-defined piece of text.", "This setting is optional."). This console is where that text
 * passes on its way out, so it is where it becomes ours: the stock sentences go (the `Defaults
 * to` value moves onto our description line), the built-in options get our words, styles are
 * dropped unless standard output is a terminal and `NO_COLOR` is unset (https://no-color.org),
 * and with `--json` the library's usage-error text is held back for the JSON error object.
 *
 * @internal
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"

/** Matches SGR escape sequences (colours, bold) as `@effect/printer-ansi` writes them. */

const ansiPattern = /\x1b\[[0-9;]*m/g

/** Remove ANSI styles. */
export const stripAnsi = (text: string): string => text.replace(ansiPattern, "")

/**
 * Whether to style output: only on a terminal, and never when `NO_COLOR` is set to anything but
 * the empty string (the no-color.org rule).
 */
export const colorEnabled = (isTTY: boolean | undefined, env: Readonly<Record<string, string | undefined>>): boolean =>
  isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === "")

/** The sentences `@effect/cli` puts under arguments and options to name their type. */
const stockSentences = new Set([
  "A user-defined piece of text.",
  "A user-defined piece of text that is confidential.",
  "A true or false value.",
  "An integer.",
  "A floating point number.",
  "A date without a time-zone in the ISO-8601 format, such as 2007-12-03T10:15:30.",
  "An existing file.",
  "An existing directory.",
  "A file or directory.",
  "A file.",
  "A directory.",
  "A file or directory that must not exist.",
  "A file that must not exist.",
  "A directory that must not exist.",
  "This setting is optional.",
  "This argument may be repeated zero or more times."
])

/** Our words for the options `@effect/cli` adds to every command. */
const builtInDescriptions: ReadonlyArray<readonly [string, string]> = [
  [
    "Generate a completion script for a specific shell.",
    "print a completion script: ocireg --completions bash|zsh|fish (docs/cli.md says where it goes)"
  ],
  ["Sets the minimum log level for a command.", "the least severe log messages to print (--verbose: debug)"],
  ["Show the help documentation for a command.", "show this help"],
  ["Start wizard mode for a command.", "ask for each argument and option in turn"],
  ["Show the version of the application.", "print the version of ocireg"]
]

const isStock = (paragraph: string): boolean => {
  const text = paragraph.trim()
  return stockSentences.has(text) || text.startsWith("One of the following: ") ||
    text.startsWith("This setting is a property argument") || text.startsWith("- May be specified") ||
    /^This (argument|option) (must|may) be repeated/.test(text)
}

/**
 * Rewrite help text: drop the stock sentences, put a `Defaults to: X` on the description line
 * before it as `(default: X)`, and use our words for the built-in options. Works on the text with
 * or without ANSI styles (paragraphs are compared without them).
 */
export const cleanHelp = (text: string): string => {
  const paragraphs = text.split(/\n\n/)
  const kept: Array<string> = []
  for (const paragraph of paragraphs) {
    const plain = stripAnsi(paragraph).trim()
    const defaults = /^This setting is optional\. Defaults to: (.*)$/s.exec(plain)
    if (defaults !== null) {
      const previous = kept.length > 0 ? stripAnsi(kept[kept.length - 1]!) : ""
      // only onto a description (indented); an option heading with no description gets its own line
      if (previous.startsWith("  ") && !/default/i.test(previous)) {
        kept[kept.length - 1] = `${kept[kept.length - 1]!.trimEnd()} (default: ${defaults[1]})`
      } else if (!previous.startsWith("  ")) {
        kept.push(`  default: ${defaults[1]}`)
      }
      continue
    }
    if (isStock(plain)) continue
    const builtIn = builtInDescriptions.find(([stock]) => plain === stock)
    kept.push(builtIn === undefined ? paragraph : `  ${builtIn[1]}`)
  }
  return kept.join("\n\n")
}

/** How the CLI console behaves. */
export interface ConsoleOptions {
  /** Keep ANSI styles (a terminal, no `NO_COLOR`). */
  readonly color: boolean
  /** `--json`: hold back the library's usage errors (the JSON error object reports them). */
  readonly json: boolean
}

/**
 * A console over the default one: `log` (help, completions, version) and `error` (usage errors)
 * are rewritten by `cleanHelp` and unstyled unless `color`; with `json`, `error` is swallowed.
 * Loggers (which use `unsafe`) are left alone.
 */
export const make = (base: Console.Console, options: ConsoleOptions): Console.Console => {
  const render = (args: ReadonlyArray<unknown>) => {
    const text = cleanHelp(args.map((a) => typeof a === "string" ? a : String(a)).join(" "))
    return options.color ? text : stripAnsi(text)
  }
  return {
    ...base,
    log: (...args: ReadonlyArray<any>) => Effect.sync(() => void process.stdout.write(`${render(args)}\n`)),
    error: (...args: ReadonlyArray<any>) =>
      options.json ? Effect.void : Effect.sync(() => void process.stderr.write(`${render(args)}\n`))
  }
}

/** Run `effect` with the CLI console over the current one. */
export const withCliConsole = (options: ConsoleOptions) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Console.consoleWith((base) => Effect.withConsole(effect, make(base, options)))
