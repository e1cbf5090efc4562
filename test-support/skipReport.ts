/**
 * A vitest reporter that makes skipped suites loud: when `npm test` runs where system binaries
 * are missing, the run ends with a summary naming each skipped suite, how many of its tests were
 * skipped, what it missed and the Debian package that would enable it (from the `meta` that
 * `describeIntegration` records, and `system-packages.json`), and the command that installs them.
 * It writes to standard error only, so reporters that write JSON to standard output or to a file
 * stay intact; it prints nothing when no test was skipped.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import type { File, Task } from "vitest"
import type { Reporter } from "vitest/reporters"
import { chromiumPath, missingBinaries } from "./browser/chromium.js"
import { type SkipRecord, systemPackages } from "./systemPackages.js"

interface Group {
  readonly where: string
  readonly record: SkipRecord | undefined
  /** A suite above the tests failed (a hook): they were never started. */
  readonly suiteFailed: boolean
  count: number
}

const suiteFailed = (task: Task): boolean => {
  for (let s: Task | undefined = task.suite; s !== undefined; s = s.suite) {
    if (s.result?.state === "fail") return true
  }
  return false
}

const skipped = (task: Task): boolean =>
  task.mode === "skip" || task.mode === "todo" || task.result?.state === "skip" || task.result?.state === "todo"

/** The outermost suite above `task` that recorded a skip, else its outermost suite. */
const groupOf = (task: Task): { readonly suite: Task | undefined; readonly record: SkipRecord | undefined } => {
  let outermost: Task | undefined
  let recorded: Task | undefined
  for (let s: Task | undefined = task.suite; s !== undefined; s = s.suite) {
    if (s.type === "suite" && s.suite !== undefined) outermost = s // not the file's own suite
    if (s.meta.ociregSkip !== undefined) recorded = s
  }
  const suite = recorded ?? outermost
  return { suite, record: recorded?.meta.ociregSkip }
}

const walk = (task: Task, visit: (test: Task) => void) => {
  if (task.type === "suite") { for (const child of task.tasks) walk(child, visit) }
  else visit(task)
}

const isExecutable = (file: string): boolean => {
  try {
    fs.accessSync(file, fs.constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The binaries of `system-packages.json` this machine lacks (as the tests' gates look for them). */
export const machineMissing = (): Array<string> =>
  Object.keys(systemPackages).filter((binary) =>
    binary === "chromium" ? !isExecutable(chromiumPath()) : missingBinaries(binary).length > 0
  )

/**
 * The summary for `files`, or `undefined` when no test was skipped.
 */
export const summarize = (files: ReadonlyArray<File>, root: string): string | undefined => {
  const groups = new Map<string, Group>()
  let total = 0
  for (const file of files) {
    walk(file, (test) => {
      if (!skipped(test)) return
      total++
      const { record, suite } = groupOf(test)
      const project = file.projectName ? `${file.projectName}: ` : ""
      const where = `${project}${path.relative(root, file.filepath)}${suite ? ` › ${suite.name}` : ""}`
      const group = groups.get(where) ?? { where, record, suiteFailed: suiteFailed(test), count: 0 }
      group.count++
      groups.set(where, group)
    })
  }
  if (total === 0) return undefined
  const missing = machineMissing()
  const packages = [...new Set(missing.map((binary) => systemPackages[binary]!))]
  const lines = [
    "",
    `SKIPPED: ${total} test${total === 1 ? "" : "s"} did not run, in ${groups.size} suite${
      groups.size === 1 ? "" : "s"
    }:`
  ]
  for (const group of [...groups.values()].sort((a, b) => a.where.localeCompare(b.where))) {
    const why = group.record !== undefined
      ? `missing ${group.record.missing.map((b, i) => `${b} (Debian package ${group.record!.packages[i]})`).join(", ")}`
      : group.suiteFailed
      ? "not started: their suite failed first (a hook; see the failures above)"
      : "skipped by the suite itself"
    lines.push(`  ${group.where}: ${group.count} skipped; ${why}`)
  }
  if (missing.length > 0) {
    lines.push(
      `Missing on this machine: ${missing.map((b) => `${b} (Debian package ${systemPackages[b]})`).join(", ")}.`,
      `Install them with \`npm run setup\` (apt-get install ${packages.join(" ")}) and run the tests again;`,
      "CI sets OCIREG_REQUIRE_INTEGRATION=1, which turns these skips into failures."
    )
  }
  lines.push("")
  return lines.join("\n")
}

/** The reporter (`reporters: ["default", "./test-support/skipReport.ts"]`). */
export default class SkipReport implements Reporter {
  private root = process.cwd()

  onInit(vitest: { readonly config: { readonly root: string } }) {
    this.root = vitest.config.root
  }

  onFinished(files: Array<File> = []) {
    const text = summarize(files, this.root)
    if (text !== undefined) process.stderr.write(`${text}\n`)
  }
}
