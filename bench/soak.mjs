// The soak bench of issue 17: load without leaks. Against one real `docker-registry`:
//   1. a warm-up round of 200 concurrent Image.copy of small images (streamed between two
//      registry host names of the same registry, so every blob's bytes pass through the client);
//   2. ROUNDS more rounds of 200 concurrent copies;
//   3. 10,000 sequential manifest reads (Registry.getManifest by tag).
// It samples RSS and the process's open sockets every 50 ms and prints requests per second,
// peak and final RSS (final within 10% of the value after warm-up is the target), peak sockets
// against the client's per-host concurrency, and open sockets and descriptors once the client
// layer is released (target: back to the count before it was built).
//
//   npm run soak            (builds first; node --expose-gc so RSS is read after a collection)
//   SOAK_COPIES=200 SOAK_READS=10000 SOAK_ROUNDS=3 node --expose-gc bench/soak.mjs
import * as BlobSource from "@ocireg/core/BlobSource"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Image from "@ocireg/core/Image"
import * as Registry from "@ocireg/core/Registry"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { startRegistry } from "./lib/registry.mjs"

const copies = Number(process.env.SOAK_COPIES ?? 200)
const reads = Number(process.env.SOAK_READS ?? 10_000)
const rounds = Number(process.env.SOAK_ROUNDS ?? 3)
const images = 10
const hostConcurrency = 8

const MiB = 1024 * 1024
const sha256 = (bytes) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

/** Open descriptors of this process, and how many of them are sockets. */
const descriptors = () => {
  let all = 0
  let sockets = 0
  for (const fd of fs.readdirSync("/proc/self/fd")) {
    all++
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith("socket:")) sockets++
    } catch {
      // closed meanwhile
    }
  }
  return { all, sockets }
}

const gc = () => {
  if (globalThis.gc) {
    globalThis.gc()
    globalThis.gc()
  }
}
const settle = () => new Promise((resolve) => setTimeout(resolve, 300))
const rss = () => process.memoryUsage().rss
const heap = () => process.memoryUsage().heapUsed

/** A small image: a config and two layers of 4 KiB and 16 KiB. */
const smallImage = (i) => {
  const layers = [randomBytes(4096), randomBytes(16_384)]
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", soak: i }))
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest: sha256(l),
      size: l.length
    }))
  }))
  return { blobs: [config, ...layers], manifest }
}

const main = async () => {
  const registry = await startRegistry({ name: "soak" })
  const source = registry.host
  // the same registry under another host name: a copy streams every blob instead of mounting it
  const target = `localhost:${registry.port}`
  try {
    const before = descriptors()
    const layer = NodeRegistry.layer({ hostConcurrency }).pipe(Layer.provide(CredentialStore.layerAnonymous))
    const runtime = ManagedRuntime.make(layer)

    let peakRss = rss()
    let peakSockets = 0
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rss())
      peakSockets = Math.max(peakSockets, descriptors().sockets)
    }, 50)

    await runtime.runPromise(Effect.forEach(Array.from({ length: images }, (_, i) => i), (i) =>
      Effect.gen(function*() {
        const image = smallImage(i)
        const blobs = yield* Effect.forEach(image.blobs, BlobSource.fromBytes)
        yield* Image.push(`${source}/soak/src-${i}:v1`, {
          blobs,
          manifest: { bytes: image.manifest, mediaType: "application/vnd.oci.image.manifest.v1+json" }
        })
      }), { concurrency: 4, discard: true }))

    const copyRound = (round) =>
      runtime.runPromise(Effect.forEach(
        Array.from({ length: copies }, (_, k) => k),
        (k) => Image.copy(`${source}/soak/src-${k % images}:v1`, `${target}/soak/r${round}-${k}:v1`),
        { concurrency: copies, discard: true }
      ))

    const stats = () => runtime.runPromise(Effect.flatMap(RegistryClient.RegistryClient, (c) => c.stats))
    const started = performance.now()
    await copyRound(0)
    gc()
    await settle()
    const afterWarmup = rss()
    // RSS after one sample swings by 10% either way between runs (the allocator keeps or returns
    // freed pages): the series after each round, and the live heap after a full GC, show a trend
    const rssSeries = [afterWarmup]
    const heapAfterWarmup = heap()
    const warmupStats = await stats()
    const copyStarted = performance.now()
    for (let round = 1; round <= rounds; round++) {
      await copyRound(round)
      gc()
      await settle()
      rssSeries.push(rss())
    }
    const copyMs = performance.now() - copyStarted
    const afterCopies = await stats()

    const readStarted = performance.now()
    await runtime.runPromise(Effect.gen(function*() {
      for (let i = 0; i < reads; i++) yield* Registry.getManifest(`${source}/soak/src-${i % images}:v1`)
    }))
    const readMs = performance.now() - readStarted
    const end = await stats()
    gc()
    await settle()
    const finalRss = rss()
    const finalHeap = heap()
    const totalMs = performance.now() - started
    const socketsBeforeRelease = descriptors().sockets
    clearInterval(sampler)
    await runtime.dispose()
    await settle()
    const after = descriptors()

    // the HTTP client opens a connection per request in flight (NodeHttpClient's maxSockets is
    // unbounded by default) and hostConcurrency bounds blob transfers only, not manifest and HEAD
    // requests (test/campaign/sockets.test.ts): the bound is the requests a round can have in
    // flight, `copies` x the 4 blobs a copy handles at once, plus the pushes' few
    const socketBound = copies * 4 + 16 + before.sockets
    const copyRequests = afterCopies.requests - warmupStats.requests
    const readRequests = end.requests - afterCopies.requests
    const lines = [
      `soak: ${copies} concurrent Image.copy x ${rounds + 1} rounds (1 warm-up), ${reads} sequential manifest reads`,
      `  copies:          ${(copies * rounds / (copyMs / 1000)).toFixed(0)} images/s, ` +
      `${(copyRequests / (copyMs / 1000)).toFixed(0)} requests/s (${copyRequests} requests)`,
      `  manifest reads:  ${(reads / (readMs / 1000)).toFixed(0)} reads/s, ` +
      `${(readRequests / (readMs / 1000)).toFixed(0)} requests/s (${readRequests} requests)`,
      `  total:           ${end.requests} requests in ${(totalMs / 1000).toFixed(1)} s, ${end.tokensIssued} tokens`,
      `  RSS:             after warm-up ${(afterWarmup / MiB).toFixed(1)} MiB, peak ${
        (peakRss / MiB).toFixed(1)
      } MiB, ` +
      `final ${(finalRss / MiB).toFixed(1)} MiB (${(((finalRss - afterWarmup) / afterWarmup) * 100).toFixed(1)}% ` +
      `from warm-up; target within 10%)`,
      `  RSS per round:   ${rssSeries.map((b) => (b / MiB).toFixed(1)).join(", ")}, final ${
        (finalRss / MiB).toFixed(1)
      } MiB`,
      `  live heap:       after warm-up ${(heapAfterWarmup / MiB).toFixed(1)} MiB, final ${
        (finalHeap / MiB).toFixed(1)
      } MiB ` +
      `after a full GC (${(((finalHeap - heapAfterWarmup) / heapAfterWarmup) * 100).toFixed(1)}%)`,
      `  sockets:         peak ${peakSockets} (bound ${socketBound}: ${copies} copies x 4 blobs in flight), ` +
      `${socketsBeforeRelease} open before release, ${after.sockets} after (before the client: ${before.sockets})`,
      `  descriptors:     ${before.all} before the client, ${after.all} after its release ` +
      `(${after.all - before.all} leaked)`
    ]
    console.log(lines.join("\n"))
    const flat = Math.abs(finalRss - afterWarmup) / afterWarmup <= 0.1
    const bounded = peakSockets <= socketBound
    const noLeak = after.all <= before.all
    console.log(
      `  verdict:         RSS ${flat ? "flat" : "NOT flat"}, sockets ${bounded ? "bounded" : "NOT bounded"}, ` +
        `${noLeak ? "no descriptor leaked" : "descriptors LEAKED"}`
    )
    if (!flat || !bounded || !noLeak) process.exitCode = 1
  } finally {
    await registry.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
