/**
 * The test projects of the monorepo, one per package (the browser package has two: its suite in
 * headless Chromium, and the end-to-end test of its example page). `vitest.config.ts` passes this
 * list as `test.projects`.
 */
export default [
  "packages/core",
  "packages/platform-node",
  "packages/platform-browser",
  "packages/platform-browser/test-e2e"
]
