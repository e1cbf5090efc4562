/// <reference types="@vitest/browser/providers/playwright" />
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { defineProject, mergeConfig } from "vitest/config"
import { browserGate, chromiumLaunchOptions } from "../../test-support/browser/chromium.js"
import { browserDependencies } from "../../test-support/browser/optimizeDeps.js"
import { shared } from "../../vitest.shared.js"

/**
 * The browser project: every test runs in headless Chromium (Debian's, through Playwright). The
 * global setup starts the registries, nginx and the token server in Node and `provide`s their
 * URLs. Without Chromium the project runs only `test/gate.test.ts` in Node, which is skipped
 * locally and fails when `OCIREG_REQUIRE_INTEGRATION=1`. `OCIREG_BENCH=1` runs `bench/` instead.
 */
const gate = browserGate()
const bench = process.env.OCIREG_BENCH === "1"
const here = path.dirname(fileURLToPath(import.meta.url))
const packages = path.join(here, "..")

export default mergeConfig(
  shared,
  defineProject({
    optimizeDeps: {
      include: browserDependencies([
        path.join(packages, "core", "src"),
        path.join(here, "src"),
        path.join(here, "test"),
        path.join(here, "bench")
      ])
    },
    test: {
      name: "platform-browser",
      include: !gate.enabled ? ["test/gate.test.ts"] : bench ? ["bench/**/*.bench.ts"] : ["test/**/*.test.ts"],
      provide: { "ocireg.browserGate": gate },
      testTimeout: 60_000,
      hookTimeout: 120_000,
      ...(gate.enabled ?
        {
          globalSetup: bench
            ? []
            : ["../../test-support/browser/globalSetup.ts", "../../test-support/browser/dialectSetup.ts"],
          browser: {
            enabled: true,
            provider: "playwright",
            headless: true,
            screenshotFailures: false,
            instances: [{ browser: "chromium", launch: chromiumLaunchOptions() }]
          }
        } :
        {})
    }
  })
)
