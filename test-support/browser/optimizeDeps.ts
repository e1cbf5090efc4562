/**
 * The dependencies Vite must pre-bundle for code that runs in the browser, found by scanning the
 * sources for bare imports. Listing them up front keeps Vite from discovering one mid-run and
 * reloading the page under a running test ("optimized dependencies changed. reloading").
 */
import * as fs from "node:fs"
import * as path from "node:path"

const bareImport =
  /(?:from|import)\s*\(?\s*"((?:effect|@effect\/platform|@effect\/platform-browser|@noble\/hashes|hash-wasm)(?:\/[\w.-]+)*)"/g

const walk = (dir: string, out: Set<string>) => {
  let entries: Array<fs.Dirent>
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true })
  } catch {
    return
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules" && entry.name !== "dist") walk(full, out)
    } else if (/\.(ts|tsx|js|mjs)$/.test(entry.name)) {
      for (const match of fs.readFileSync(full, "utf8").matchAll(bareImport)) out.add(match[1]!)
    }
  }
}

/** Every `effect`, `@effect/platform*`, `@noble/hashes` and `hash-wasm` import under `dirs`, sorted. */
export const browserDependencies = (dirs: ReadonlyArray<string>): Array<string> => {
  const found = new Set<string>()
  for (const dir of dirs) walk(dir, found)
  return [...found].sort()
}
