/**
 * Small child-process helpers shared by the harness modules, plus the `HarnessError` that the
 * Effect wrappers fail with.
 */
import * as Data from "effect/Data"
import * as childProcess from "node:child_process"

/**
 * The result of a finished command.
 */
export interface ExecResult {
  readonly stdout: string
  readonly stderr: string
}

/**
 * A command that exited non-zero (or could not start). `stderr` holds its error output.
 */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly args: ReadonlyArray<string>,
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
    cause?: unknown
  ) {
    super(
      `${command} ${redactArgs(args).join(" ")} failed` +
        (exitCode !== null ? ` (exit ${exitCode})` : "") +
        (stderr.trim() !== "" ? `:\n${stderr.trim()}` : cause instanceof Error ? `: ${cause.message}` : ""),
      cause === undefined ? undefined : { cause }
    )
    this.name = "CommandError"
  }
}

/** Hides the value after `--*-creds` / `--creds` in error messages. */
export const redactArgs = (args: ReadonlyArray<string>): Array<string> =>
  args.map((
    a,
    i
  ) => (i > 0 && /^--(?:[a-z]+-)?creds$/.test(args[i - 1]!)
    ? "<redacted>"
    : a.replace(/^(--(?:[a-z]+-)?creds=).*$/, "$1<redacted>"))
  )

/**
 * Runs a command to completion (no shell), resolving with its output or rejecting with a
 * `CommandError`.
 */
export const exec = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv; readonly timeoutMs?: number } = {}
): Promise<ExecResult> =>
  new Promise((resolve, reject) => {
    childProcess.execFile(
      command,
      args,
      {
        maxBuffer: 64 * 1024 * 1024,
        timeout: options.timeoutMs ?? 120_000,
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
        ...(options.env !== undefined ? { env: options.env } : {})
      },
      (error, stdout, stderr) => {
        if (error) {
          const code = typeof error.code === "number" ? error.code : null
          reject(new CommandError(command, args, code, String(stdout), String(stderr), error))
        } else {
          resolve({ stdout: String(stdout), stderr: String(stderr) })
        }
      }
    )
  })

/**
 * The error of every Effect wrapper in `test-support`.
 */
export class HarnessError extends Data.TaggedError("HarnessError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/** Wraps a rejection reason in a `HarnessError`, keeping its message. */
export const toHarnessError = (what: string) => (cause: unknown): HarnessError =>
  new HarnessError({ message: `${what}: ${cause instanceof Error ? cause.message : String(cause)}`, cause })

const exitCleanups = new Set<() => void>()
let exitHookInstalled = false

/**
 * Registers a synchronous cleanup (kill a child, remove a temp dir) to run if the process exits
 * before the owner's own `stop()` ran. Returns the function that unregisters it.
 */
export const onProcessExit = (cleanup: () => void): () => void => {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once("exit", () => {
      for (const c of [...exitCleanups].reverse()) {
        try {
          c()
        } catch {
          // best effort
        }
      }
    })
  }
  exitCleanups.add(cleanup)
  return () => {
    exitCleanups.delete(cleanup)
  }
}
