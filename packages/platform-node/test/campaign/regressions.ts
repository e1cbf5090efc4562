/**
 * Schedules the fault campaign once found violating an invariant, kept as fixed regression cases
 * (each ran red before its fix). `campaign.test.ts` runs every one of them on its backend.
 */
import type { Backend, CampaignCase } from "../../../../test-support/campaign/world.js"

/** A kept case: where it ran, what it found, and the case as the campaign printed it. */
export interface Regression {
  readonly backend: Backend
  readonly found: string
  readonly case: CampaignCase
}

export const regressions: ReadonlyArray<Regression> = [
  {
    backend: "server",
    found: "a manifest body that stalls after its headers hung the pull forever (seed 7, run 52)",
    case: { operation: "pull", route: "direct", faults: [{ kind: "stall", target: "any", nth: 1, atByte: 0 }] }
  }
]
