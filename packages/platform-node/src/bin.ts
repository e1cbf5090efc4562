#!/usr/bin/env node
/**
 * The `ocireg` executable.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { run } from "./Cli.js"

Effect.runPromise(run(process.argv)).then((code) => {
  process.exitCode = code
})
