/**
 * Running Docker credential helpers (`docker-credential-<name> get|store|erase`), the protocol of
 * docker/docker-credential-helpers: the server URL (or a JSON `{ServerURL, Username, Secret}`) on
 * stdin, JSON on stdout, and a non-zero exit with "credentials not found in native keychain" when
 * the helper has nothing. A helper's output may hold secrets, so no error ever carries it.
 *
 * @internal
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as ChildProcess from "node:child_process"

/** @internal */
export interface RunOptions {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly timeout: Duration.Duration
}

/**
 * Why a helper could not answer. The message names the program, never its output.
 *
 * @internal
 */
export class HelperError extends Data.TaggedError("HelperError")<{
  readonly helper: string
  readonly reason: "InvalidName" | "NotInstalled" | "SpawnFailed" | "Exited" | "Timeout" | "BadOutput"
  readonly exitCode?: number | undefined
  readonly timeout?: Duration.Duration | undefined
}> {
  get program(): string {
    return `docker-credential-${this.helper}`
  }
  override get message(): string {
    switch (this.reason) {
      case "InvalidName":
        return `credential helper name ${JSON.stringify(this.helper)} is not a valid program name`
      case "NotInstalled":
        return `credential helper ${this.program} is not installed (not found on PATH)`
      case "SpawnFailed":
        return `credential helper ${this.program} could not be started`
      case "Exited":
        return `credential helper ${this.program} failed${
          this.exitCode === undefined ? " (killed by a signal)" : ` (exit code ${this.exitCode})`
        }`
      case "Timeout":
        return `credential helper ${this.program} did not answer within ${
          this.timeout ? Duration.format(this.timeout) : "its timeout"
        }`
      case "BadOutput":
        return `credential helper ${this.program} gave an answer that is not the expected JSON`
    }
  }
}

/** @internal */
export const notFoundMessage = "credentials not found in native keychain"

const validName = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const maxOutput = 1024 * 1024

interface Output {
  readonly exitCode: number | null
  readonly stdout: string
  readonly notFound: boolean
}

const run = (
  helper: string,
  action: "get" | "store" | "erase",
  input: string,
  options: RunOptions
): Effect.Effect<Output, HelperError> => {
  if (!validName.test(helper)) return Effect.fail(new HelperError({ helper, reason: "InvalidName" }))
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(options.env)) if (value !== undefined) env[key] = value
  return Effect.async<Output, HelperError>((resume) => {
    let settled = false
    const settle = (effect: Effect.Effect<Output, HelperError>) => {
      if (settled) return
      settled = true
      resume(effect)
    }
    let child: ChildProcess.ChildProcessWithoutNullStreams
    try {
      child = ChildProcess.spawn(`docker-credential-${helper}`, [action], { env, stdio: "pipe", windowsHide: true })
    } catch {
      settle(Effect.fail(new HelperError({ helper, reason: "SpawnFailed" })))
      return
    }
    const stdout: Array<Buffer> = []
    const stderr: Array<Buffer> = []
    let size = 0
    const collect = (into: Array<Buffer>) => (chunk: Buffer) => {
      size += chunk.length
      if (size > maxOutput) {
        child.kill("SIGKILL")
        settle(Effect.fail(new HelperError({ helper, reason: "BadOutput" })))
        return
      }
      into.push(chunk)
    }
    child.stdout.on("data", collect(stdout))
    child.stderr.on("data", collect(stderr))
    child.stdin.on("error", () => {
      // the helper may exit without reading stdin; its exit status tells what happened
    })
    child.on(
      "error",
      (error: NodeJS.ErrnoException) =>
        settle(
          Effect.fail(new HelperError({ helper, reason: error.code === "ENOENT" ? "NotInstalled" : "SpawnFailed" }))
        )
    )
    child.on("close", (exitCode) => {
      const out = Buffer.concat(stdout).toString("utf8")
      const notFound = exitCode !== 0 &&
        (out.includes(notFoundMessage) || Buffer.concat(stderr).toString("utf8").includes(notFoundMessage))
      settle(Effect.succeed({ exitCode, stdout: out, notFound }))
    })
    child.stdin.end(input)
    return Effect.sync(() => {
      if (!settled) {
        settled = true
        child.kill("SIGKILL")
      }
    })
  }).pipe(
    Effect.timeoutFail({
      duration: options.timeout,
      onTimeout: () => new HelperError({ helper, reason: "Timeout", timeout: options.timeout })
    })
  )
}

const exited = (helper: string, output: Output) =>
  new HelperError({ helper, reason: "Exited", exitCode: output.exitCode ?? undefined })

/**
 * What a helper returned for a server: a username (`<token>` marks an identity token) and the
 * secret, already `Redacted`.
 *
 * @internal
 */
export interface HelperCredential {
  readonly username: string
  readonly secret: Redacted.Redacted<string>
}

/**
 * `docker-credential-<helper> get`: `None` when the helper has no credential for the server.
 *
 * @internal
 */
export const get = (
  helper: string,
  serverUrl: string,
  options: RunOptions
): Effect.Effect<Option.Option<HelperCredential>, HelperError> =>
  Effect.flatMap(run(helper, "get", serverUrl, options), (output) => {
    if (output.notFound) return Effect.succeedNone
    if (output.exitCode !== 0) return Effect.fail(exited(helper, output))
    let parsed: unknown
    try {
      parsed = JSON.parse(output.stdout)
    } catch {
      return Effect.fail(new HelperError({ helper, reason: "BadOutput" }))
    }
    if (typeof parsed !== "object" || parsed === null) {
      return Effect.fail(new HelperError({ helper, reason: "BadOutput" }))
    }
    const { Secret, Username } = parsed as { Username?: unknown; Secret?: unknown }
    if (
      (Username !== undefined && typeof Username !== "string") || (Secret !== undefined && typeof Secret !== "string")
    ) {
      return Effect.fail(new HelperError({ helper, reason: "BadOutput" }))
    }
    const secret = Redacted.make(Secret ?? "")
    if ((Username ?? "") === "" && Redacted.value(secret) === "") return Effect.succeedNone
    return Effect.succeedSome({ username: Username ?? "", secret })
  })

/**
 * `docker-credential-<helper> store`.
 *
 * @internal
 */
export const store = (
  helper: string,
  credential: { readonly serverUrl: string; readonly username: string; readonly secret: Redacted.Redacted<string> },
  options: RunOptions
): Effect.Effect<void, HelperError> =>
  Effect.suspend(() =>
    run(
      helper,
      "store",
      JSON.stringify({
        ServerURL: credential.serverUrl,
        Username: credential.username,
        Secret: Redacted.value(credential.secret)
      }),
      options
    )
  ).pipe(
    Effect.flatMap((output) => output.exitCode === 0 ? Effect.void : Effect.fail(exited(helper, output)))
  )

/**
 * `docker-credential-<helper> erase`: `true` when something was erased, `false` when the helper
 * had nothing for the server.
 *
 * @internal
 */
export const erase = (helper: string, serverUrl: string, options: RunOptions): Effect.Effect<boolean, HelperError> =>
  Effect.flatMap(run(helper, "erase", serverUrl, options), (output) => {
    if (output.exitCode === 0) return Effect.succeed(true)
    return output.notFound ? Effect.succeed(false) : Effect.fail(exited(helper, output))
  })
