/**
 * The one test that also runs without a browser: without Chromium the project runs only this
 * file, in Node, skipped locally and failing under `OCIREG_REQUIRE_INTEGRATION=1`.
 */
import { assert, describe, inject, it } from "vitest"
import type {} from "../../../test-support/browser/fixtures.js"

const gate = inject("ocireg.browserGate")

describe("browser project", () => {
  it.skipIf(!gate.enabled && !gate.required)("runs in headless Chromium", () => {
    if (!gate.enabled) throw new Error(gate.message)
    assert.include(navigator.userAgent, "HeadlessChrome")
    assert.isDefined(globalThis.sessionStorage)
  })
})
