/**
 * What the first-contact tests share: the repository root, the `ocireg` command as npm links it
 * (`packages/platform-node/bin/ocireg.mjs`, which runs the built bundle), a shell line run from the
 * repository root, and `ocireg registry serve` as a child process on a loopback port.
 */
import * as childProcess from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** The repository root. */
export const root = fileURLToPath(new URL("../../../", import.meta.url))

/** The committed bin file npm links as `node_modules/.bin/ocireg`. */
export const bin = path.join(root, "packages", "platform-node", "bin", "ocireg.mjs")

/** How a process ended. */
export interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const finished = (error: childProcess.ExecFileException | null, stdout: string, stderr: string): Run => ({
  code: error === null ? 0 : typeof error.code === "number" ? error.code : 1,
  stdout,
  stderr
})

/** Run `ocireg args…` through the bin file, with `env` added to a clean environment. */
export const ocireg = (
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string>; readonly input?: string } = {}
): Promise<Run> =>
  new Promise((resolve) => {
    const child = childProcess.execFile(process.execPath, [bin, ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...options.env },
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024
    }, (error, stdout, stderr) => resolve(finished(error, stdout, stderr)))
    child.stdin?.end(options.input ?? "")
  })

/** The fenced `sh` blocks of the README section `heading` (`## heading`), as lists of lines. */
export const readmeBlocks = (readme: string, heading: string): Array<Array<string>> => {
  const start = readme.indexOf(`\n## ${heading}\n`)
  if (start === -1) throw new Error(`README.md has no section "## ${heading}"`)
  const end = readme.indexOf("\n## ", start + 4)
  const section = readme.slice(start, end === -1 ? undefined : end)
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.split("\n").filter((l) => l.trim() !== ""))
}

/** Run one shell line with bash from the repository root (as the README's lines are written). */
export const shell = (line: string, env: Record<string, string> = {}): Promise<Run> =>
  new Promise((resolve) => {
    childProcess.execFile("bash", ["-c", line], {
      cwd: root,
      env: { ...process.env, ...env },
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024
    }, (error, stdout, stderr) => resolve(finished(error, stdout, stderr)))
  })

/** A running `ocireg registry serve`. */
export interface Served {
  /** `127.0.0.1:PORT` */
  readonly host: string
  readonly stop: () => Promise<void>
}

/**
 * Start a serving process (by default `ocireg --json registry serve` through the bin file; or
 * `bash -c line` for a README line) and wait until it prints its JSON `host`, or until the port
 * it was given answers.
 */
export const serve = (
  command: { readonly line: string; readonly port: number } | undefined = undefined
): Promise<Served> =>
  new Promise((resolve, reject) => {
    const child = command === undefined
      ? childProcess.spawn(process.execPath, [bin, "--json", "registry", "serve"], {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"]
      })
      : childProcess.spawn("bash", ["-c", command.line], {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"],
        detached: true // its own process group: npx runs ocireg in a child process, and both are stopped
      })
    let out = ""
    let err = ""
    const stop = () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done()
        child.once("exit", () => done())
        if (command !== undefined && child.pid !== undefined) process.kill(-child.pid, "SIGTERM")
        else child.kill()
      })
    const timer = setTimeout(() => {
      void stop()
      reject(new Error(`the registry did not start within 60 s: ${out} ${err}`))
    }, 60_000)
    child.stdout.on("data", (chunk) => {
      out += chunk
      const host = command === undefined
        ? /"host":\s*"([^"]+)"/.exec(out)?.[1]
        : out.includes(`:${command.port}`)
        ? `127.0.0.1:${command.port}`
        : undefined
      if (host !== undefined) {
        clearTimeout(timer)
        resolve({ host, stop })
      }
    })
    child.stderr.on("data", (chunk) => err += chunk)
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`the registry exited with ${code}: ${out} ${err}`))
    })
  })
