// The `ocireg` CLI's entry (copied to packages/platform-node/dist/ocireg.mjs by bundle-cli.mjs).
// It runs the one-file CommonJS bundle beside it through a V8 code cache: compiling the 3 MB
// bundle from source cost ~0.1 s of every command's ~0.45 s; with the cache `npm run build`
// writes (and that a later run rewrites when V8 rejects it, after a Node upgrade), it is read
// instead. Node 20 has no `module.enableCompileCache`, so this is `vm.Script` with `cachedData`.
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as vm from "node:vm"

const bundle = fileURLToPath(new URL("./ocireg-bundle.cjs", import.meta.url))
const cacheFile = `${bundle}.cache`
const readCache = () => {
  try {
    return fs.readFileSync(cacheFile)
  } catch {
    return undefined
  }
}
const cachedData = process.env.OCIREG_NO_CODE_CACHE ? undefined : readCache()
const source = fs.readFileSync(bundle, "utf8")
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
  filename: bundle,
  cachedData,
  importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER
})

/** Write the cache (once the command has compiled what it uses), atomically; a read-only install keeps none. */
const writeCache = () => {
  const temporary = `${cacheFile}.${process.pid}.tmp`
  try {
    fs.writeFileSync(temporary, script.createCachedData())
    fs.renameSync(temporary, cacheFile)
  } catch {
    fs.rmSync(temporary, { force: true })
  }
}
if (process.env.OCIREG_WRITE_CODE_CACHE || (cachedData !== undefined && script.cachedDataRejected)) {
  process.once("exit", writeCache)
}

const module = { exports: {} }
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, path.dirname(bundle))
