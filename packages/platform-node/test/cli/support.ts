/**
 * Running the bundled `ocireg` binary in tests: a private HOME and Docker config, optional
 * standard input and extra environment, the exit code and both streams.
 */
import * as childProcess from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** The bundled CLI (built by `npm run build`). */
export const bin = fileURLToPath(new URL("../../dist/ocireg.mjs", import.meta.url))

/** What a run of the CLI did. */
export interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Fail early, with a useful message, when the bundle has not been built. */
export const requireBin = () =>
  fs.access(bin).catch(() => {
    throw new Error(`${bin} is missing: run npm run build first (npm test does)`)
  })

/** A fresh temporary HOME. */
export const tempHome = () => fs.mkdtemp(path.join(os.tmpdir(), "ocireg-cli2-"))

/** Run the CLI with `home` as HOME (and its `.docker` as DOCKER_CONFIG). */
export const runCli = (
  home: string,
  args: ReadonlyArray<string>,
  options: { readonly input?: string; readonly env?: Readonly<Record<string, string>> } = {}
): Promise<Run> =>
  new Promise((resolve) => {
    const child = childProcess.execFile(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH, HOME: home, DOCKER_CONFIG: path.join(home, ".docker"), ...options.env },
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024
    }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr })
    })
    child.stdin?.end(options.input ?? "")
  })
