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
  },
  {
    backend: "server",
    found: "two Location headers on an upload POST were joined and used: 400 from the registry, not InvalidResponse",
    case: {
      operation: "push",
      route: "direct",
      faults: [{ kind: "dupHeaders", target: "upload-post", nth: 0, variant: "location-dup" }]
    }
  },
  {
    backend: "server",
    found: "a copy resumed a source blob after its last byte (Range from the end, 416 RANGE_INVALID)",
    case: {
      operation: "copy",
      route: "stream",
      faults: [
        { kind: "dupHeaders", target: "manifest-put", nth: 0, variant: "location-dup" },
        { kind: "reset", target: "manifest-get", nth: 1, atByte: 840 },
        { kind: "refuseMount" },
        { kind: "dupHeaders", target: "upload-patch", nth: 3, variant: "length-conflict" }
      ]
    }
  },
  {
    backend: "server",
    found: "a 401 whose body stalls after 5 bytes held the pull for the 30 s default (long campaign, seed 20261203)",
    case: { operation: "pull", route: "direct", faults: [{ kind: "stall", target: "any", nth: 0, atByte: 5 }] }
  },
  {
    backend: "server",
    found: "after the branches merged, the 401 to a manifest GET stalling at its first byte held the pull for " +
      "the 30 s idle default again (the challenge path read its body without the error-body bound; CI seed 1039786066)",
    case: {
      operation: "pull",
      route: "direct",
      faults: [
        { kind: "stall", target: "manifest-get", nth: 0, atByte: 0 },
        { kind: "flip", target: "manifest-get", nth: 0, offset: 0 }
      ]
    }
  },
  {
    backend: "server",
    found: "a blob GET redirected with two Location headers was followed (node:http kept the first one silently; " +
      "a fetch client joins them into one URL): now InvalidResponse, nothing sent to either location",
    case: { operation: "pull", route: "direct", faults: [{ kind: "redirect", nth: 0, locations: 2 }] }
  },
  {
    backend: "distribution",
    found: "two lost PATCH answers in a streamed copy, the slowest of 100 lost-PATCH schedules (4.4 s, seed 7): " +
      "each restarts the blob (docker-registry answers 404 to the status of the old session, so a new session " +
      "and a new GET of the source), within the time budget; the 5 to 11 s of the last session were these " +
      "restarts under a load average above 20, not a hang",
    case: {
      operation: "copy",
      route: "stream",
      faults: [
        { kind: "losePatch", nth: 1, method: "PATCH" },
        { kind: "losePatch", nth: 1, method: "PATCH" },
        { kind: "refuseMount" }
      ]
    }
  },
  {
    backend: "distribution",
    found: "a bad token armed but unused by the operation leaked into the next reader (harness: now disarmed)",
    case: {
      operation: "push",
      route: "direct",
      faults: [
        { kind: "expireToken", nth: 2, how: "untrusted" },
        { kind: "dupHeaders", target: "any", nth: 0, variant: "location-dup" },
        { kind: "expireToken", nth: 0, how: "untrusted" }
      ]
    }
  }
]
