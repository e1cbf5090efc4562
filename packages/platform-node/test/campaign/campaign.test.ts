/**
 * The randomized fault campaign (issue 17), CI form: fast-check draws fault schedules over the
 * requests of a pull (into an OCI layout), a push and a copy, the fault proxy applies them in
 * front of `RegistryServer` and of a real `docker-registry`, and every invariant of
 * `test-support/campaign/world.ts` is checked after each schedule. A violation fails the test
 * with fast-check's seed, path and shrunk schedule; keep it in `regressions.ts`.
 *
 * `OCIREG_CAMPAIGN_RUNS` sets the schedules per operation against `RegistryServer` (default 100;
 * a tenth of it against `docker-registry`), `OCIREG_CAMPAIGN_SEED` the seed. The long form is
 * `npm run campaign -- --runs 1000`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { afterAll, beforeAll } from "vitest"
import { describeIntegration } from "../../../../test-support/binaries.js"
import type { Operation } from "../../../../test-support/campaign/schedule.js"
import {
  type Backend,
  caseArbitrary,
  count,
  describeCase,
  emptyTally,
  openDescriptors,
  renderTable,
  runCase,
  startWorld,
  type Tally,
  type World
} from "../../../../test-support/campaign/world.js"
import { regressions } from "./regressions.js"

const runs = Number(process.env.OCIREG_CAMPAIGN_RUNS ?? 100)
const seed = Number(process.env.OCIREG_CAMPAIGN_SEED ?? Date.now() % 2 ** 31)
const operations: ReadonlyArray<Operation> = ["pull", "push", "copy"]

const campaign = (backend: Backend, runsPerOperation: number) => () => {
  let world: World
  let fdsBefore = 0
  const tallies: Array<{ label: string; tally: Tally }> = []

  beforeAll(async () => {
    world = await startWorld(backend)
    fdsBefore = openDescriptors()
  }, 60_000)

  afterAll(async () => {
    console.log(`\nfault campaign on ${backend}, seed ${seed}\n\n${renderTable(tallies)}`)
    await world?.stop()
  })

  for (const operation of operations) {
    it(`${operation}: ${runsPerOperation} random fault schedules keep every invariant (seed ${seed})`, async () => {
      const tally = emptyTally()
      tallies.push({ label: operation, tally })
      await fc.assert(
        fc.asyncProperty(caseArbitrary(operation, backend), async (c) => {
          const result = await runCase(world, c)
          count(tally, result)
          if (result.violations.length > 0) {
            throw new Error(`${describeCase(c)}\n${result.violations.join("\n")}\n${JSON.stringify(c)}`)
          }
        }),
        { numRuns: runsPerOperation, seed, endOnFailure: false }
      )
      assert.isAtLeast(tally.schedules, runsPerOperation)
      // some schedules must end in success and the faults must bite in others
      assert.isAbove(tally.successes + tally.typed, 0)
    }, 600_000)
  }

  it("leaves no descriptor open after the campaign", async () => {
    // the harness keeps a few keep-alive connections of its own (proxy → registry); the client none
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.isAtMost(openDescriptors(), fdsBefore + 8)
    assert.strictEqual(world.a.connections() + world.b.connections(), 0)
  })

  const kept = regressions.filter((r) => r.backend === backend)
  for (const [i, regression] of kept.entries()) {
    it(`regression ${i + 1}: ${regression.found}`, async () => {
      const result = await runCase(world, regression.case)
      assert.deepStrictEqual(result.violations, [], describeCase(regression.case))
    }, 120_000)
  }
}

describe("fault campaign against RegistryServer", campaign("server", runs))

describeIntegration(
  "fault campaign against docker-registry",
  ["docker-registry", "openssl"],
  campaign("distribution", Math.max(1, Math.ceil(runs / 10)))
)
