/**
 * A 256 MiB blob streams from the real registry through verification with flat memory.
 * The blob is uploaded with curl (monolithic POST + PUT), so nothing of ocireg's write path is
 * needed to set it up.
 */
import { assert, it } from "@effect/vitest"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Registry from "@ocireg/core/Registry"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import {
  describeIntegration,
  exec,
  generateLargeBlobFile,
  type RunningRegistry,
  startRegistry
} from "../../../../test-support/index.js"

const size = 256 * 1024 * 1024

describeIntegration("a 256 MiB blob", ["docker-registry", "curl"], () => {
  let registry: RunningRegistry
  let blob: { digest: string; size: number; path: string }

  beforeAll(async () => {
    registry = await startRegistry({ auth: "none" })
    blob = await generateLargeBlobFile(path.join(registry.dir, "big.bin"), size)
    const start = await exec("curl", [
      "-sS",
      "-X",
      "POST",
      "-D",
      "-",
      "-o",
      "/dev/null",
      `${registry.url}/v2/big/blobs/uploads/`
    ])
    const location = /^location:\s*(\S+)/im.exec(start.stdout)![1]!
    const url = new URL(location, registry.url)
    url.searchParams.set("digest", blob.digest)
    await exec("curl", [
      "-sS",
      "-f",
      "-X",
      "PUT",
      "-H",
      "Content-Type: application/octet-stream",
      "--upload-file",
      blob.path,
      url.href
    ])
  }, 120_000)

  afterAll(() => registry?.stop())

  it.live("streams through digest verification without buffering", () =>
    Effect.gen(function*() {
      global.gc?.()
      const baseline = process.memoryUsage().rss
      let peak = baseline
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss)
      }, 20)
      const started = Date.now()
      const received = yield* Registry.getBlob(`${registry.host}/big`, { digest: blob.digest, size }).pipe(
        Stream.runFold(0, (n, bytes) => n + bytes.length),
        Effect.ensuring(Effect.sync(() => clearInterval(sampler)))
      )
      const seconds = (Date.now() - started) / 1000
      const growthMiB = (peak - baseline) / 2 ** 20
      console.log(
        `256 MiB blob: ${(size / 2 ** 20 / seconds).toFixed(0)} MiB/s, peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB ` +
          `(+${growthMiB.toFixed(0)} MiB over ${(baseline / 2 ** 20).toFixed(0)} MiB), ${os.cpus().length} cores`
      )
      assert.strictEqual(received, size)
      assert.isBelow(growthMiB, 128, "memory grew by less than half the blob (buffering it would add 256 MiB)")
    }).pipe(Effect.provide(NodeRegistry.layer().pipe(Layer.provide(CredentialStore.layerAnonymous)))), 120_000)
})
