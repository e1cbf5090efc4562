/**
 * Vite config of the example page: `npx vite --config packages/platform-browser/examples/vite.config.ts`
 * serves it, `npx vite build --config ...` builds it into `examples/dist`. The workspace packages
 * resolve to their TypeScript sources.
 */
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vite"
import { shared } from "../../../vitest.shared.js"

const here = path.dirname(fileURLToPath(import.meta.url))

export default defineConfig({
  root: here,
  base: "./",
  resolve: { ...shared.resolve },
  build: { outDir: path.join(here, "dist"), emptyOutDir: true, target: "es2022" },
  logLevel: "warn"
})
