/**
 * The system binaries the tests need and their Debian packages, read from `system-packages.json`
 * (the one list: `scripts/setup.sh` installs it, the gates of `binaries.ts` and
 * `browser/chromium.ts` check it, `skipReport.ts` names it). Imports nothing from vitest, so the
 * reporter and global setups can use it.
 */
import * as fs from "node:fs"

/** Binary name → its Debian package. */
export const systemPackages: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(
    (JSON.parse(fs.readFileSync(new URL("./system-packages.json", import.meta.url), "utf8")) as {
      readonly binaries: Record<string, { readonly package: string }>
    }).binaries
  ).map(([binary, entry]) => [binary, entry.package])
)

/** The Debian package of `binary`; throws when the set-up does not install it. */
export const debianPackage = (binary: string): string => {
  const pkg = systemPackages[binary]
  if (pkg === undefined) {
    throw new Error(
      `${binary} is not in test-support/system-packages.json: add it (and its Debian package) there, ` +
        "so that scripts/setup.sh installs it"
    )
  }
  return pkg
}

/** What a skipped suite records in its `meta.ociregSkip`. */
export interface SkipRecord {
  readonly missing: ReadonlyArray<string>
  readonly packages: ReadonlyArray<string>
}

declare module "@vitest/runner" {
  interface TaskMeta {
    /** Set by `describeIntegration` on a suite it skipped. */
    ociregSkip?: SkipRecord
  }
}
