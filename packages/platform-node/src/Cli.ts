/**
 * The `ocireg` command-line interface, built with `@effect/cli`: every registry operation as a
 * subcommand, credentials from Docker's config or the command line, `--json` output, progress
 * bars on a terminal, and distinct exit codes (2 usage, 3 authentication, 4 not found, 5 digest
 * mismatch, 1 anything else).
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { createRequire } from "node:module"
import * as ArtifactCommand from "./internal/cli/artifact.js"
import * as CliConsole from "./internal/cli/console.js"
import { root } from "./internal/cli/global.js"
import * as IndexCommand from "./internal/cli/indexCommand.js"
import * as Layout from "./internal/cli/layout.js"
import * as Manage from "./internal/cli/manage.js"
import * as MutateCommand from "./internal/cli/mutate.js"
import { errorJson, errorLine, exitCodeOf } from "./internal/cli/output.js"
import * as Read from "./internal/cli/read.js"
import * as Serve from "./internal/cli/serve.js"
import * as SyncCommand from "./internal/cli/sync.js"

/**
 * The command tree.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = root.pipe(
  Command.withDescription("ocireg: talk to OCI / Docker registries"),
  Command.withSubcommands([
    ...Read.commands,
    ...Layout.commands,
    ...Manage.commands,
    IndexCommand.index,
    MutateCommand.append,
    MutateCommand.mutate,
    ArtifactCommand.artifact,
    ArtifactCommand.attach,
    ArtifactCommand.discover,
    SyncCommand.sync,
    Serve.registry
  ])
)

const packageJson = createRequire(import.meta.url)("../package.json") as { readonly version: string }

const cli = Command.run(command, { name: "ocireg", version: packageJson.version })

/**
 * Run the CLI on `argv` (as `process.argv`): the Effect succeeds with the exit code, having
 * printed the result, or the error as one line on standard error (with `--json`: one JSON object
 * `{"error": tag, "message", "exitCode", ...}`). Help and usage text are unstyled unless standard
 * output is a terminal and `NO_COLOR` is unset.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<number> => {
  const json = argv.includes("--json")
  const report = (error: unknown) =>
    Effect.sync(() => void process.stderr.write(`${json ? errorJson(error) : errorLine(error)}\n`))
  return cli(argv).pipe(
    Effect.as(0),
    Effect.catchAll((error) =>
      Effect.as(
        // @effect/cli has printed its usage errors already, unless --json held them back
        exitCodeOf(error) === 2 && !(error instanceof Error) && !json ? Effect.void : report(error),
        exitCodeOf(error)
      )
    ),
    Effect.catchAllDefect((defect) => Effect.as(report(defect), 1)),
    Logger.withMinimumLogLevel(argv.includes("--verbose") || argv.includes("-v") ? LogLevel.Debug : LogLevel.Info),
    Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))),
    CliConsole.withCliConsole({ color: CliConsole.colorEnabled(process.stdout.isTTY, process.env), json }),
    Effect.provide(NodeContext.layer)
  )
}
