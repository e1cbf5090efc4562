/**
 * One source of truth for the set-up (issue 14): `scripts/setup.sh` installs the packages of
 * `test-support/system-packages.json`, every gate in the tests names only binaries of that list,
 * `.ci/run` calls the script instead of keeping a list of its own, and the script fails with the
 * packages named where it can neither be root nor use sudo. When binaries are missing, `npm test`
 * ends with a summary of the skipped suites and the packages that enable them, and the JSON
 * report CI reads stays intact.
 */
import * as childProcess from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { systemPackages } from "../../../test-support/index.js"
import { root } from "./firstContact.js"

const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8")

/** Every `.ts` file under `dir`, skipping `node_modules` and build output. */
const sources = (dir: string): Array<string> =>
  fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name)
    if (entry.isDirectory()) return ["node_modules", "dist", ".tmp"].includes(entry.name) ? [] : sources(rel)
    return entry.name.endsWith(".ts") ? [rel] : []
  })

const run = (
  command: string,
  args: ReadonlyArray<string>,
  env: Record<string, string | undefined>
): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    childProcess.execFile(command, args, { cwd: root, env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (e, o, s) =>
      resolve({ code: e === null ? 0 : typeof e.code === "number" ? e.code : 1, stdout: o, stderr: s }))
  })

let work: string
/** A directory holding only `node` (and what setup.sh itself calls): every test binary is missing. */
let bare: string

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "ocireg-setup-"))
  bare = path.join(work, "bin")
  fs.mkdirSync(bare)
  for (const tool of ["node", "dirname", "id", "env", "apt-get"]) {
    const found = (process.env.PATH ?? "").split(path.delimiter).map((dir) => path.join(dir, tool))
      .find((file) => fs.existsSync(file))
    if (found !== undefined) fs.symlinkSync(found, path.join(bare, tool))
  }
  fs.chmodSync(work, 0o755)
  fs.chmodSync(bare, 0o755)
})

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true })
})

describe("one list of system packages", () => {
  it("every gate in the tests names a binary of system-packages.json, and every listed binary is used", () => {
    const gates =
      /\b(?:describeIntegration\(\s*"[^"]*",\s*\[([^\]]*)\]|integration\(([^)]*)\)|missingBinaries\(([^)]*)\))/g
    const named = new Set<string>()
    for (const file of ["packages", "test-support"].flatMap(sources)) {
      for (const match of read(file).matchAll(gates)) {
        for (const name of (match[1] ?? match[2] ?? match[3] ?? "").matchAll(/"([^"]+)"/g)) named.add(name[1]!)
      }
    }
    // the browser gates look for chromium by path and nginx through nginxBinary()
    named.add("chromium")
    named.add("nginx")
    assert.isAbove(named.size, 4)
    assert.deepStrictEqual([...named].filter((b) => systemPackages[b] === undefined), [], "gated but not installed")
    assert.deepStrictEqual(Object.keys(systemPackages).filter((b) => !named.has(b)), [], "installed but never used")
  })

  it("setup.sh reads that list, .ci/run and the README use setup.sh and keep no list of their own", () => {
    const setup = read("scripts/setup.sh")
    assert.include(setup, "test-support/system-packages.json")
    assert.include(setup, "npm ci")
    const ci = read(".ci/run")
    assert.match(ci, /scripts\/setup\.sh/)
    assert.notMatch(ci, /apt-get/, ".ci/run installs packages only through scripts/setup.sh")
    assert.strictEqual(JSON.parse(read("package.json")).scripts.setup, "bash scripts/setup.sh")
    const twoCommands = read("README.md").split("## The two commands")[1]!.split("\n## ")[0]!
    assert.match(twoCommands, /npm run setup && npm test/)
  })

  it("setup.sh --check names the missing Debian packages and fails", async () => {
    const result = await run("/bin/bash", ["scripts/setup.sh", "--check"], { PATH: bare })
    assert.strictEqual(result.code, 1, result.stderr)
    for (const binary of ["docker-registry", "skopeo", "openssl", "curl"]) {
      assert.include(result.stderr, systemPackages[binary]!)
    }
    const here = await run("/bin/bash", ["scripts/setup.sh", "--check"], { PATH: process.env.PATH })
    assert.include(here.code === 0 ? here.stdout : here.stderr, here.code === 0 ? "is installed" : "missing")
  })

  it("setup.sh without root and without sudo exits 1 naming the packages to install", async () => {
    const asUser = process.getuid?.() === 0
      ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/bash"]
      : ["/bin/bash"]
    const result = await run(asUser[0]!, [...asUser.slice(1), "scripts/setup.sh"], { PATH: bare, HOME: work })
    assert.strictEqual(result.code, 1, result.stdout + result.stderr)
    assert.match(result.stderr, /could not install the Debian packages the tests need: .*docker-registry.*skopeo/)
    assert.include(result.stderr, "apt-get install")
    assert.notInclude(result.stdout, "== npm ci", "npm ci does not run after the failure")
  })
})

describe("loud skips", () => {
  it(
    "a run with binaries missing ends with the skipped suites, counts and packages; the JSON report holds",
    async () => {
      const json = path.join(work, "report.json")
      const vitest = path.join(root, "node_modules", "vitest", "vitest.mjs")
      const result = await run(process.execPath, [
        vitest,
        "run",
        "--project",
        "platform-node",
        "packages/platform-node/test/integration/ociLayout.test.ts",
        "--reporter=default",
        "--reporter=./test-support/skipReport.ts",
        "--reporter=json",
        `--outputFile.json=${json}`
      ], { PATH: bare, HOME: work, OCIREG_CHROMIUM: "/nonexistent/chromium" })
      assert.strictEqual(result.code, 0, result.stdout + result.stderr)
      const report = JSON.parse(fs.readFileSync(json, "utf8"))
      assert.isAbove(report.numPendingTests, 0)
      assert.strictEqual(report.numFailedTests, 0)
      assert.include(result.stderr, `SKIPPED: ${report.numPendingTests} tests did not run`)
      assert.match(
        result.stderr,
        new RegExp(
          `ociLayout\\.test\\.ts › OciLayout against docker-registry and skopeo: ${report.numPendingTests} skipped; ` +
            "missing docker-registry \\(Debian package docker-registry\\), skopeo \\(Debian package skopeo\\)"
        )
      )
      assert.include(result.stderr, "npm run setup")
      assert.notInclude(result.stdout, "SKIPPED:", "the summary goes to standard error")
    },
    240_000
  )
})
