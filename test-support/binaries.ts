/**
 * Gate integration suites on the system binaries they need (`docker-registry`, `skopeo`,
 * `openssl`, ...). Locally a missing binary skips the suite; in CI (`OCIREG_REQUIRE_INTEGRATION=1`)
 * it fails the run with a message naming what is missing, so a broken CI image is never silently
 * green. Every binary a gate names must be in `system-packages.json` (the list `scripts/setup.sh`
 * installs); a skipped suite records what it missed in its `meta`, which `skipReport.ts` prints
 * at the end of the run with the Debian packages to install.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, it } from "vitest"
import { getCurrentSuite } from "vitest/suite"
import { debianPackage, type SkipRecord } from "./systemPackages.js"

export { debianPackage, systemPackages } from "./systemPackages.js"

const cache = new Map<string, string | undefined>()

/**
 * The absolute path of an executable named `name` on `PATH`, or `undefined`.
 */
export const whichBinary = (name: string): string | undefined => {
  if (cache.has(name)) return cache.get(name)
  let found: string | undefined
  if (name.includes("/")) {
    found = isExecutable(name) ? path.resolve(name) : undefined
  } else {
    for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
      if (dir === "") continue
      const candidate = path.join(dir, name)
      if (isExecutable(candidate)) {
        found = candidate
        break
      }
    }
  }
  cache.set(name, found)
  return found
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
 * Whether an executable named `name` is on `PATH`.
 */
export const requireBinary = (name: string): boolean => whichBinary(name) !== undefined

/**
 * Whether CI demands that integration suites run (`OCIREG_REQUIRE_INTEGRATION=1` or `true`).
 */
export const integrationRequired = (): boolean => {
  const v = process.env.OCIREG_REQUIRE_INTEGRATION
  return v === "1" || v === "true"
}

/**
 * The verdict for an integration suite that needs `binaries`.
 */
export interface IntegrationGate {
  /** The binaries that are not on `PATH`. */
  readonly missing: ReadonlyArray<string>
  /** True when the suite should be skipped (something is missing and CI does not require it). */
  readonly skip: boolean
  /** True when something is missing and CI requires the suite: it must fail. */
  readonly fail: boolean
  /** The explanation to show when skipping or failing. */
  readonly message: string
}

/**
 * Checks the binaries an integration suite needs. Use with `describe.skipIf(gate.skip)` when you
 * want your own `describe`, or use `describeIntegration` which also turns `fail` into a failing test.
 */
export const integration = (...binaries: ReadonlyArray<string>): IntegrationGate => {
  for (const binary of binaries) debianPackage(binary) // throws for a binary the set-up does not install
  const missing = binaries.filter((b) => !requireBinary(b))
  const required = integrationRequired()
  const message = missing.length === 0
    ? "all integration binaries present"
    : `integration binaries missing from PATH: ${missing.join(", ")}` +
      (required ? " (OCIREG_REQUIRE_INTEGRATION=1 makes this a failure)" : " (suite skipped)")
  return { missing, skip: missing.length > 0 && !required, fail: missing.length > 0 && required, message }
}

/**
 * `describe(name, fn)` that runs only when every binary is on `PATH`. Otherwise the suite is
 * skipped, or, when `OCIREG_REQUIRE_INTEGRATION=1`, replaced by one failing test that names the
 * missing binaries.
 */
export const describeIntegration = (name: string, binaries: ReadonlyArray<string>, fn: () => void): void => {
  const gate = integration(...binaries)
  if (gate.fail) {
    describe(name, () => {
      it("has the system binaries it needs", () => {
        throw new Error(`${name}: ${gate.message}`)
      })
    })
    return
  }
  describe.skipIf(gate.skip)(name, () => {
    if (gate.skip) {
      const record: SkipRecord = { missing: [...gate.missing], packages: gate.missing.map(debianPackage) }
      getCurrentSuite().suite!.meta.ociregSkip = record
    }
    fn()
  })
}
