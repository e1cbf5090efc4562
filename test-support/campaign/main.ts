/**
 * The long form of the fault campaign: `npm run campaign -- --runs 1000 [--seed N]
 * [--backend server|distribution|both] [--ops pull,push,copy]`. Draws `runs` schedules per
 * operation and backend with fast-check (from one printed seed), runs each, and prints the table
 * operation × schedules × successes × typed failures × violations, plus every violating schedule
 * as JSON (paste it into `packages/platform-node/test/campaign/regressions.ts` to keep it).
 * Exits 1 when there was a violation. `--case '<json>' --backend server` replays one case.
 */
import type * as RegistryTest from "@ocireg/core/RegistryTest"
import * as fc from "fast-check"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Operation } from "./schedule.js"
import {
  type Backend,
  type CampaignCase,
  caseArbitrary,
  count,
  describeCase,
  emptyTally,
  openDescriptors,
  renderTable,
  runCase,
  startWorld,
  type Tally
} from "./world.js"

const argument = (name: string): string | undefined => {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 ? process.argv[at + 1] : undefined
}

/** Whether `name` is on the PATH (binaries.ts imports vitest, which cannot load outside it). */
const onPath = (name: string) =>
  (process.env.PATH ?? "").split(path.delimiter).some((dir) => dir !== "" && fs.existsSync(path.join(dir, name)))

const runs = Number(argument("runs") ?? process.env.OCIREG_CAMPAIGN_RUNS ?? 100)
const seed = Number(argument("seed") ?? Date.now() % 2 ** 31)
const wanted = argument("backend") ?? "both"
const backends: Array<Backend> = wanted === "both"
  ? (onPath("docker-registry") ? ["server", "distribution"] : ["server"])
  : [wanted as Backend]
const verbose = process.argv.includes("--verbose")
const operations = (argument("ops") ?? "pull,push,copy").split(",") as Array<Operation>
/** `--only KIND`: only schedules with a fault of that kind (say `losePatch`), to study one fault. */
const only = argument("only")
/** `--dialect NAME`: `RegistryServer` speaks that registry's dialect (`RegistryTest.dialects`). */
const dialect = argument("dialect") as RegistryTest.Dialect | undefined

/** `--case '<json>'`: replay one case (as a violation printed it) and print what happened. */
const replay = async (json: string) => {
  const world = await startWorld(backends[0]!, { dialect })
  try {
    const c = JSON.parse(json) as CampaignCase
    const result = await runCase(world, c)
    console.log(describeCase(c))
    console.log(JSON.stringify(result, null, 2))
    for (const proxy of [world.a, world.b]) {
      console.log(
        proxy.log().map((e) =>
          `  ${e.method} ${e.path}?${e.query.slice(0, 40)} → ${e.status ?? "-"} ${e.state} ${
            e.fired ?? ""
          } ${e.requestBytes}`
        ).join("\n")
      )
    }
    if (result.outcome === "violation") process.exitCode = 1
  } finally {
    await world.stop()
  }
}

const main = async () => {
  const single = argument("case")
  if (single !== undefined) return replay(single)
  console.log(`fault campaign: ${runs} schedules per operation, seed ${seed}, backends ${backends.join(", ")}`)
  const rows: Array<{ label: string; tally: Tally }> = []
  const failures: Array<string> = []
  const fdsBefore = openDescriptors()
  // a promise that never settles must show as a hang, not as a silent exit of an idle event loop
  const alive = setInterval(() => undefined, 60_000)
  for (const backend of backends) {
    const world = await startWorld(backend, { dialect })
    try {
      for (const operation of operations) {
        const tally = emptyTally()
        const arbitrary = caseArbitrary(operation, backend)
        const cases = fc.sample(
          only === undefined ? arbitrary : arbitrary.filter((c) => c.faults.some((f) => f.kind === only)),
          { numRuns: runs, seed }
        )
        const slowest: Array<{ readonly ms: number; readonly line: string }> = []
        for (const [i, c] of cases.entries()) {
          if (process.argv.includes("--trace")) console.log(`start ${i}: ${JSON.stringify(c)}`)
          const result = await runCase(world, c)
          count(tally, result)
          slowest.push({ ms: result.ms, line: `${result.outcome} ${result.tag ?? ""} ${JSON.stringify(c)}` })
          slowest.sort((x, y) => y.ms - x.ms).splice(3)
          if (result.outcome === "violation") {
            const line = `${backend} ${describeCase(c)}\n  ${result.violations.join("\n  ")}\n  ${JSON.stringify(c)}`
            failures.push(line)
            console.log(`VIOLATION ${line}`)
          }
          if (verbose && result.outcome === "typed") console.log(`typed ${result.tag}: ${describeCase(c)}`)
          if ((i + 1) % 50 === 0) console.log(`  ${backend} ${operation}: ${i + 1}/${runs}`)
        }
        console.log(`  ${backend} ${operation}: slowest ${slowest.map((x) => `\n    ${x.ms} ms ${x.line}`).join("")}`)
        const server = dialect === undefined ? "RegistryServer" : `RegistryServer, ${dialect}`
        rows.push({ label: `${operation} (${backend === "server" ? server : "docker-registry"})`, tally })
      }
    } finally {
      await world.stop()
    }
  }
  clearInterval(alive)
  await new Promise((resolve) => setTimeout(resolve, 200))
  const fdsAfter = openDescriptors()
  console.log(`\n${renderTable(rows)}`)
  console.log(`seed ${seed}; open descriptors before ${fdsBefore}, after ${fdsAfter}`)
  if (failures.length > 0) {
    console.log(`\n${failures.length} violation(s):\n${failures.join("\n")}`)
    process.exitCode = 1
  }
}

main().catch((error) => {
  console.error(error)
  // the keep-alive timer and a half-started world would keep the process waiting forever
  process.exit(1)
})
