import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { ViteUserConfig } from "vitest/config"

const root = path.dirname(fileURLToPath(import.meta.url))
const src = (pkg: string) => path.join(root, "packages", pkg, "src")

/**
 * Settings every package's test project shares: workspace packages resolve to their TypeScript
 * sources, so tests never need a prior build.
 */
export const shared: ViteUserConfig = {
  resolve: {
    alias: [
      { find: /^@ocireg\/core$/, replacement: path.join(src("core"), "index.ts") },
      { find: /^@ocireg\/core\/(.*)$/, replacement: path.join(src("core"), "$1.ts") },
      { find: /^@ocireg\/platform-node$/, replacement: path.join(src("platform-node"), "index.ts") },
      { find: /^@ocireg\/platform-node\/(.*)$/, replacement: path.join(src("platform-node"), "$1.ts") },
      { find: /^@ocireg\/platform-browser$/, replacement: path.join(src("platform-browser"), "index.ts") },
      { find: /^@ocireg\/platform-browser\/(.*)$/, replacement: path.join(src("platform-browser"), "$1.ts") }
    ]
  }
}
