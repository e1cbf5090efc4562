/**
 * The test projects of the monorepo, one per package. `vitest.config.ts` passes this list as
 * `test.projects`.
 */
export default [
  "packages/core",
  "packages/platform-node",
  "packages/platform-browser"
]
