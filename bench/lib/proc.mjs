// Child processes for the benchmark: run one measured client (under `/usr/bin/time` when present,
// for its peak RSS), collect its output and the JSON line it prints, and clean up on exit.
import * as childProcess from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const exitHooks = new Set()
let hooked = false

/** Run `fn` (synchronously) when the process exits or is interrupted; returns an unregister function. */
export const onExit = (fn) => {
  if (!hooked) {
    hooked = true
    const runAll = () => {
      for (const hook of [...exitHooks]) {
        try {
          hook()
        } catch {
          // best effort
        }
      }
      exitHooks.clear()
    }
    process.on("exit", runAll)
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
      process.on(signal, () => {
        runAll()
        process.exit(130)
      })
    }
  }
  exitHooks.add(fn)
  return () => exitHooks.delete(fn)
}

const timeBinary = "/usr/bin/time"
/** Whether GNU time is there to report the peak RSS of any child (Debian package `time`). */
export const hasGnuTime = fs.existsSync(timeBinary)

/**
 * Run `command args` to completion and measure it. Resolves with `{ wallSeconds, rssKB, cpuSeconds,
 * stdout, stderr, json }`: the wall time of the whole process as seen from here, its peak RSS (from
 * GNU time, else from the JSON line's `maxRssKB`, else undefined), its user + system CPU time (GNU
 * time only) and the last stdout line that parses as a JSON object. Rejects when the command fails or runs longer than `timeoutMs`.
 */
export const measure = (command, args, { env, timeoutMs = 300_000, cwd } = {}) =>
  new Promise((resolve, reject) => {
    const timeFile = path.join(os.tmpdir(), `ocireg-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`)
    const [cmd, argv] = hasGnuTime
      ? [timeBinary, ["-f", "%M %e %U %S", "-o", timeFile, command, ...args]]
      : [command, args]
    const started = process.hrtime.bigint()
    const child = childProcess.spawn(cmd, argv, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
      ...(cwd ? { cwd } : {})
    })
    const unregister = onExit(() => child.kill("SIGKILL"))
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (c) => (stdout = (stdout + c).slice(-1024 * 1024)))
    child.stderr.on("data", (c) => (stderr = (stderr + c).slice(-64 * 1024)))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.once("error", (e) => {
      clearTimeout(timer)
      unregister()
      reject(e)
    })
    child.once("exit", (code, signal) => {
      const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9
      clearTimeout(timer)
      unregister()
      let rssKB
      let cpuSeconds
      if (hasGnuTime) {
        try {
          const text = fs.readFileSync(timeFile, "utf8").trim().split("\n").pop()
          const [rss, , user, system] = text.split(" ").map(Number)
          rssKB = rss
          cpuSeconds = user + system
        } catch {
          // no figure
        }
        fs.rmSync(timeFile, { force: true })
      }
      let json
      for (const line of stdout.trim().split("\n").reverse()) {
        if (line.startsWith("{")) {
          try {
            json = JSON.parse(line)
            break
          } catch {
            // not JSON
          }
        }
      }
      if (rssKB === undefined && json?.maxRssKB !== undefined) rssKB = json.maxRssKB
      if (code !== 0) {
        const why = signal ? `signal ${signal}` : `exit ${code}`
        const tail = (stderr.trim() || stdout.trim()).split("\n").slice(-6).join("\n")
        reject(new Error(`${path.basename(command)} ${args.slice(0, 3).join(" ")} failed (${why}): ${tail}`))
        return
      }
      resolve({ wallSeconds, rssKB, cpuSeconds, stdout, stderr, json })
    })
  })

/** Run a command to completion and return its stdout (for set-up steps, not measured). */
export const run = (command, args, options = {}) =>
  new Promise((resolve, reject) => {
    childProcess.execFile(command, args, { maxBuffer: 64 * 1024 * 1024, ...options }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(" ")} failed: ${String(stderr).trim() || error.message}`))
      else resolve(String(stdout))
    })
  })

/** Whether a program is on the PATH. */
export const which = (program) => {
  try {
    childProcess.execFileSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}
