/**
 * What bounds the client's sockets (issue 17): `hostConcurrency` bounds blob transfers per host
 * and direction, not manifest, HEAD, tag or token requests, so many operations at once open about
 * a connection per operation; `NodeHttpClient`'s `maxSockets` (through `NodeRegistry.layer({
 * httpOptions })`) bounds every connection per origin, and operations wait for a free one. Both
 * are measured here at the fault proxies (which count the client's open connections). When the
 * first assertion fails because the client bounds more itself, update the README's Reliability
 * section and the `hostConcurrency` doc.
 */
import { assert, describe, it } from "@effect/vitest"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Image from "@ocireg/core/Image"
import * as Registry from "@ocireg/core/Registry"
import * as NodeHasher from "@ocireg/platform-node/NodeHasher"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as RegistryServer from "@ocireg/platform-node/RegistryServer"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import { afterAll, beforeAll } from "vitest"
import { buildImage, pushImage } from "../../../../test-support/campaign/common.js"
import { type FaultProxy, startFaultProxy } from "../../../../test-support/faultProxy.js"

const operations = 24
const hostConcurrency = 2

describe("sockets per origin", () => {
  const scope = Effect.runSync(Scope.make())
  let source: FaultProxy
  let target: FaultProxy

  beforeAll(async () => {
    const server = await Effect.runPromise(
      RegistryServer.serve().pipe(Scope.extend(scope), Effect.provide(NodeHasher.layer))
    )
    source = await startFaultProxy({ target: server.url })
    target = await startFaultProxy({ target: server.url })
    await Effect.runPromise(
      pushImage(`${server.host}/sockets/src:v1`, buildImage([20_000, 20_000, 20_000])).pipe(
        Effect.provide(NodeRegistry.layer().pipe(Layer.provide(CredentialStore.layerAnonymous)))
      )
    )
  }, 60_000)

  afterAll(async () => {
    await Promise.allSettled([source?.stop(), target?.stop()])
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })

  /** Runs `operations` copies, then as many manifest reads, at once; the peak connections at each proxy. */
  const peaks = async (options: NodeRegistry.Options) => {
    // the connections of an earlier client close once its layer is released: wait for them
    for (let i = 0; i < 250 && source.connections() + target.connections() > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.strictEqual(source.connections() + target.connections(), 0, "no connection left from before")
    const peak = { source: 0, target: 0 }
    const sampler = setInterval(() => {
      peak.source = Math.max(peak.source, source.connections())
      peak.target = Math.max(peak.target, target.connections())
    }, 1)
    const layer = NodeRegistry.layer(options).pipe(Layer.provide(CredentialStore.layerAnonymous))
    const run = Math.random().toString(36).slice(2, 8)
    try {
      await Effect.runPromise(
        Effect.gen(function*() {
          yield* Effect.forEach(
            Array.from({ length: operations }, (_, i) => i),
            (i) => Image.copy(`${source.host}/sockets/src:v1`, `${target.host}/sockets/${run}-${i}:v1`),
            { concurrency: "unbounded", discard: true }
          )
          yield* Effect.forEach(
            Array.from({ length: operations }, () => `${source.host}/sockets/src:v1`),
            (reference) => Registry.getManifest(reference),
            { concurrency: "unbounded", discard: true }
          )
        }).pipe(Effect.provide(layer))
      )
    } finally {
      clearInterval(sampler)
    }
    return peak
  }

  it("hostConcurrency bounds blob transfers only: manifest and HEAD requests open more connections", async () => {
    const peak = await peaks({ hostConcurrency })
    console.log(
      `${operations} copies at once, hostConcurrency ${hostConcurrency}: peak connections ${JSON.stringify(peak)}`
    )
    // two transfer directions per host would allow 2 x hostConcurrency; the rest are the other requests
    assert.isAbove(Math.max(peak.source, peak.target), 2 * hostConcurrency)
  }, 120_000)

  it("NodeHttpClient maxSockets bounds every connection per origin, and every operation completes", async () => {
    const maxSockets = 2 * hostConcurrency
    const peak = await peaks({ hostConcurrency, httpOptions: { maxSockets } })
    console.log(`${operations} copies at once, maxSockets ${maxSockets}: peak connections ${JSON.stringify(peak)}`)
    assert.isAtMost(peak.source, maxSockets)
    assert.isAtMost(peak.target, maxSockets)
    assert.isAbove(peak.source, 0)
  }, 120_000)
})
