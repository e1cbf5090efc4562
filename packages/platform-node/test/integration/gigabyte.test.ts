/**
 * A 1 GiB layer pushed (streamed monolithically, and in 16 MiB chunks) and pulled through
 * verification against the real registry, with memory that stays flat.
 */
import { assert, it } from "@effect/vitest"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import type * as Digest from "@ocireg/core/Digest"
import * as Registry from "@ocireg/core/Registry"
import * as NodeBlobSource from "@ocireg/platform-node/NodeBlobSource"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import {
  describeIntegration,
  generateLargeBlobFile,
  type RunningRegistry,
  startRegistry
} from "../../../../test-support/index.js"

const size = 1024 * 1024 * 1024
const MiB = 2 ** 20

/** Run an effect while sampling RSS; report seconds and the peak growth over the start. */
const measured = <A, E, R>(label: string, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const baseline = process.memoryUsage().rss
    let peak = baseline
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
    const started = performance.now()
    const result = yield* Effect.ensuring(effect, Effect.sync(() => clearInterval(sampler)))
    const seconds = (performance.now() - started) / 1000
    const growth = (peak - baseline) / MiB
    console.log(
      `${label}: ${(size / MiB / seconds).toFixed(0)} MiB/s (${seconds.toFixed(2)} s), ` +
        `peak RSS ${(peak / MiB).toFixed(0)} MiB (+${growth.toFixed(0)} MiB)`
    )
    return { result, growth }
  })

describeIntegration("a 1 GiB layer", ["docker-registry"], () => {
  let registry: RunningRegistry
  let file: { digest: string; size: number; path: string }

  beforeAll(async () => {
    registry = await startRegistry({ auth: "none" })
    file = await generateLargeBlobFile(path.join(registry.dir, "layer.bin"), size)
  }, 120_000)

  afterAll(() => registry?.stop())

  it.live("is pushed and pulled with flat memory", () =>
    Effect.gen(function*() {
      const source = yield* NodeBlobSource.fromFile(file.path, { digest: file.digest as Digest.Digest, size })
      const mono = yield* measured(
        "push 1 GiB monolithic",
        Registry.uploadBlob(`${registry.host}/big/mono`, source, { chunkSize: size })
      )
      assert.strictEqual(mono.result.outcome, "uploaded")
      const chunked = yield* measured(
        "push 1 GiB in 16 MiB chunks",
        Registry.uploadBlob(`${registry.host}/big/chunked`, source, { chunkSize: 16 * MiB })
      )
      assert.strictEqual(chunked.result.outcome, "uploaded")
      const pulled = yield* measured(
        "pull 1 GiB verified",
        Registry.getBlob(`${registry.host}/big/chunked`, { digest: file.digest, size }).pipe(
          Stream.runFold(0, (n, bytes) => n + bytes.length)
        )
      )
      assert.strictEqual(pulled.result, size)
      for (const m of [mono, chunked, pulled]) assert.isBelow(m.growth, 150, "peak RSS growth under 150 MiB")
    }).pipe(Effect.provide(NodeRegistry.layer().pipe(Layer.provide(CredentialStore.layerAnonymous)))), 300_000)
})
