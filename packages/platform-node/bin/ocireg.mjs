#!/usr/bin/env node
// The `ocireg` command as npm links it (node_modules/.bin/ocireg). It is committed, so that
// `npm ci` on a fresh clone finds it and makes the link (npm skips a bin whose file is missing at
// install time); it runs the bundled CLI that `npm run build` writes to dist/ocireg.mjs.
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

const bundle = new URL("../dist/ocireg.mjs", import.meta.url)
if (!existsSync(fileURLToPath(bundle))) {
  process.stderr.write(
    `ocireg: the CLI is not built yet (${fileURLToPath(bundle)} is missing).\n` +
      "Run `npm run build` at the repository root (or `npm run setup`, which also builds), then try again.\n"
  )
  process.exit(1)
}
await import(bundle.href)
