import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { defineProject, mergeConfig } from "vitest/config"
import { shared } from "../../../vitest.shared.js"

const here = path.dirname(fileURLToPath(import.meta.url))

/**
 * The end-to-end project of the example page: a Node test builds the page with Vite, serves it,
 * and drives it in headless Chromium with Playwright against a real registry.
 */
export default mergeConfig(
  shared,
  defineProject({
    test: {
      name: "platform-browser-e2e",
      root: here,
      include: ["*.test.ts"],
      testTimeout: 120_000,
      hookTimeout: 180_000
    }
  })
)
