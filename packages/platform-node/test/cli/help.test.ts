/**
 * The CLI's help and error surface: help in our words for every command, no ANSI styles off a
 * terminal or with NO_COLOR, and `--json` errors as one JSON object on stderr with the exit codes.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as fs from "node:fs/promises"
import { afterAll, beforeAll } from "vitest"
import { cleanHelp, colorEnabled, make, stripAnsi } from "../../src/internal/cli/console.js"
import { requireBin, runCli, tempHome } from "./support.js"

let home: string

beforeAll(async () => {
  await requireBin()
  home = await tempHome()
})

afterAll(async () => {
  if (home) await fs.rm(home, { recursive: true, force: true })
})

/** The commands listed by `ocireg --help`, with their parents (`registry serve`). */
const commandsOf = (help: string): ReadonlyArray<string> => {
  const section = help.slice(help.indexOf("COMMANDS"))
  return [...section.matchAll(/^ {2}- ([a-z][a-z-]*(?: [a-z][a-z-]*)*)/gm)].map((m) => m[1]!)
}

/** Every entry under ARGUMENTS and OPTIONS, with the paragraphs that describe it. */
const entriesOf = (help: string) => {
  const entries: Array<{ name: string; description: Array<string> }> = []
  let section = ""
  for (const paragraph of help.split(/\n\n/)) {
    if (/^[A-Z]+$/.test(paragraph.trim())) {
      section = paragraph.trim()
      continue
    }
    if (section !== "ARGUMENTS" && section !== "OPTIONS") continue
    if (paragraph.startsWith("  ")) entries[entries.length - 1]?.description.push(paragraph.trim())
    else entries.push({ name: paragraph.trim(), description: [] })
  }
  return entries
}

describe("help", () => {
  it("lists commands, and each command's help describes every argument and option in one line of ours", async () => {
    const root = await runCli(home, ["--help"])
    assert.strictEqual(root.code, 0, root.stderr)
    const commands = commandsOf(root.stdout)
    assert.includeMembers([...commands], ["tags", "copy", "pull", "inspect"])
    for (const command of commands) {
      const help = await runCli(home, [...command.split(" "), "--help"])
      assert.strictEqual(help.code, 0, `${command}: ${help.stderr}`)
      assert.notInclude(help.stdout, "A user-defined piece of text", command)
      assert.notInclude(help.stdout, "A true or false value", command)
      assert.notInclude(help.stdout, "This setting is optional", command)
      assert.notMatch(help.stdout, /\x1b\[/, `${command}: styled output off a terminal`)
      const entries = entriesOf(help.stdout)
      assert.isAbove(entries.length, 0, command)
      for (const entry of entries) {
        assert.strictEqual(
          entry.description.length,
          1,
          `${command} ${entry.name}: ${JSON.stringify(entry.description)}`
        )
        assert.notInclude(entry.description[0]!, "\n", `${command} ${entry.name}: one line`)
      }
    }
  }, 240_000)

  it("prints completion scripts for bash, zsh and fish", async () => {
    for (const shell of ["bash", "zsh", "fish"]) {
      const script = await runCli(home, ["--completions", shell])
      assert.strictEqual(script.code, 0, script.stderr)
      assert.include(script.stdout, "ocireg", shell)
      assert.notMatch(script.stdout, /\x1b\[/)
    }
  })

  it("keeps styles only on a terminal without NO_COLOR", () => {
    assert.isTrue(colorEnabled(true, {}))
    assert.isTrue(colorEnabled(true, { NO_COLOR: "" }))
    assert.isFalse(colorEnabled(true, { NO_COLOR: "1" }))
    assert.isFalse(colorEnabled(false, {}))
    assert.isFalse(colorEnabled(undefined, {}))
  })

  it("rewrites the library's stock sentences into ours", () => {
    const stock =
      "\x1b[1m--jobs integer\x1b[0m\n\n  An integer.\n\n  blobs at once\n\n  This setting is optional. Defaults to: 4" +
      "\n\n--flag\n\n  A true or false value.\n\n  This setting is optional."
    const cleaned = cleanHelp(stock)
    assert.strictEqual(stripAnsi(cleaned), "--jobs integer\n\n  blobs at once (default: 4)\n\n--flag")
    assert.include(cleaned, "\x1b[1m", "styles survive cleanHelp; only make() drops them")
  })

  it.effect("the console drops styles unless asked and holds back usage errors with --json", () =>
    Effect.gen(function*() {
      const written: Array<string> = []
      const write = process.stdout.write
      const writeErr = process.stderr.write
      process.stdout.write = ((chunk: string) => written.push(`out:${chunk}`) > 0) as typeof process.stdout.write
      process.stderr.write = ((chunk: string) => written.push(`err:${chunk}`) > 0) as typeof process.stderr.write
      try {
        const base = yield* Console.consoleWith(Effect.succeed)
        yield* Effect.withConsole(Console.log("\x1b[1mA\x1b[0m"), make(base, { color: false, json: false }))
        yield* Effect.withConsole(Console.log("\x1b[1mB\x1b[0m"), make(base, { color: true, json: false }))
        yield* Effect.withConsole(Console.error("usage"), make(base, { color: false, json: true }))
        yield* Effect.withConsole(Console.error("usage2"), make(base, { color: false, json: false }))
      } finally {
        process.stdout.write = write
        process.stderr.write = writeErr
      }
      assert.deepStrictEqual(written, ["out:A\n", "out:\x1b[1mB\x1b[0m\n", "err:usage2\n"])
    }))
})

describe("errors", () => {
  it("--json puts usage errors as one JSON object on stderr, exit 2", async () => {
    const missing = await runCli(home, ["--json", "tags"])
    assert.strictEqual(missing.code, 2)
    assert.strictEqual(missing.stdout, "")
    const error = JSON.parse(missing.stderr)
    assert.strictEqual(error.error, "UsageError")
    assert.strictEqual(error.exitCode, 2)
    assert.include(error.message, "<reference>")
    const unknown = await runCli(home, ["--json", "frobnicate"])
    assert.strictEqual(unknown.code, 2)
    assert.strictEqual(JSON.parse(unknown.stderr).error, "UsageError")
  })

  it("--json reports an invalid reference as InvalidReference, exit 2; without --json one line", async () => {
    const bad = await runCli(home, ["--json", "digest", "127.0.0.1:1/Upper/Case:tag"])
    assert.strictEqual(bad.code, 2)
    const error = JSON.parse(bad.stderr)
    assert.strictEqual(error.error, "InvalidReference")
    assert.isString(error.message)
    const plain = await runCli(home, ["digest", "127.0.0.1:1/Upper/Case:tag"])
    assert.strictEqual(plain.code, 2)
    assert.match(plain.stderr, /^ocireg: .+\n$/)
  })

  it("--json reports an unreachable registry as TransportError, exit 1", async () => {
    const down = await runCli(home, ["--json", "tags", "127.0.0.1:9/team/app"])
    assert.strictEqual(down.code, 1)
    const error = JSON.parse(down.stderr)
    assert.strictEqual(error.exitCode, 1)
    assert.isString(error.error)
    assert.isString(error.message)
  })
})
