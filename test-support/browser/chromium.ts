/**
 * Where the browser tests find Chromium, and whether they can run at all. The tests use Debian's
 * Chromium (`apt-get install chromium`) through Playwright, never a downloaded browser build.
 * Locally a missing Chromium (or Playwright) skips the browser suites; in CI
 * (`OCIREG_REQUIRE_INTEGRATION=1`) it fails them.
 */
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"

/** The Chromium executable: `$OCIREG_CHROMIUM`, else Debian's `/usr/bin/chromium`. */
export const chromiumPath = (): string => process.env.OCIREG_CHROMIUM ?? "/usr/bin/chromium"

/**
 * Flags for Chromium run headless as root in a container: no sandbox (root cannot use it), no
 * GPU, no QUIC, and nothing that phones home. Playwright adds `--headless` and an empty
 * `--user-data-dir` of its own.
 */
export const chromiumArgs: ReadonlyArray<string> = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage"
]

/** Playwright `launch` options for the system Chromium. */
export const chromiumLaunchOptions = () => ({
  executablePath: chromiumPath(),
  args: [...chromiumArgs]
})

/** The verdict for the browser suites, serialisable so a config can `provide` it to tests. */
export interface BrowserGate {
  /** Chromium and Playwright are present: browser mode is on. */
  readonly enabled: boolean
  /** `OCIREG_REQUIRE_INTEGRATION=1`: a missing piece fails the run. */
  readonly required: boolean
  /** What is missing, or that all is well. */
  readonly message: string
}

const isExecutable = (file: string): boolean => {
  try {
    fs.accessSync(file, fs.constants.X_OK)
    return fs.statSync(file).isFile()
  } catch {
    return false
  }
}

/**
 * The executables of `names` not found on `PATH` (plus `/usr/sbin`, where Debian puts nginx).
 * (`../binaries.js` does the same for Node suites but imports vitest, which a global setup must not.)
 */
export const missingBinaries = (...names: ReadonlyArray<string>): Array<string> => {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/sbin", "/usr/local/sbin"].filter(Boolean)
  return names.filter((name) => !dirs.some((dir) => isExecutable(path.join(dir, name))))
}

/** Whether CI demands that integration suites run (`OCIREG_REQUIRE_INTEGRATION=1` or `true`). */
export const integrationRequired = (): boolean => {
  const v = process.env.OCIREG_REQUIRE_INTEGRATION
  return v === "1" || v === "true"
}

const resolvable = (specifier: string): boolean => {
  try {
    createRequire(import.meta.url).resolve(specifier)
    return true
  } catch {
    return false
  }
}

/** Checks for Chromium, `playwright` and `@vitest/browser`. */
export const browserGate = (): BrowserGate => {
  const required = integrationRequired()
  const missing = [
    ...(isExecutable(chromiumPath()) ? [] : [`Chromium at ${chromiumPath()} (apt-get install chromium)`]),
    ...(resolvable("playwright") ? [] : ["the npm package playwright"]),
    ...(resolvable("@vitest/browser") ? [] : ["the npm package @vitest/browser"])
  ]
  const message = missing.length === 0
    ? "headless Chromium available"
    : `browser tests need ${missing.join(", ")}` +
      (required ? " (OCIREG_REQUIRE_INTEGRATION=1 makes this a failure)" : " (browser suites skipped)")
  return { enabled: missing.length === 0, required, message }
}
