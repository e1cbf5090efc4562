// Bundle the `ocireg` CLI into one file (packages/platform-node/dist/ocireg.mjs), so that it starts
// by reading one module instead of resolving and loading some 900 (Effect, @effect/cli, undici):
// `ocireg --help` went from about 0.8 s to about 0.25 s. Runs after `tsc -b` (it bundles the
// compiled `dist/bin.js`); the library modules stay unbundled for applications.
import * as esbuild from "esbuild"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const packageDir = fileURLToPath(new URL("../packages/platform-node/", import.meta.url))

await esbuild.build({
  entryPoints: [path.join(packageDir, "dist", "bin.js")],
  outfile: path.join(packageDir, "dist", "ocireg.mjs"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  // CommonJS dependencies (undici) call `require` for Node's own modules
  banner: {
    js: "import { createRequire as __ociregCreateRequire } from \"node:module\"\n" +
      "const require = __ociregCreateRequire(import.meta.url)"
  }
})
