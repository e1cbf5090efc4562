// One measured ocireg operation in its own process (so its peak RSS is its own). Prints one JSON
// line: { seconds, bytes, tokens, requests, maxRssKB, ... }. `seconds` spans the whole Effect
// (layer construction included), not Node's start-up and module loading.
//
//   node bench/cases/ocireg.mjs pull  <host/repo> <digest> <size> <file|null>
//   node bench/cases/ocireg.mjs push  <host/repo> <file> <digest> <size> <chunkSize|0>
//   node bench/cases/ocireg.mjs copy  <src ref> <dst ref> [concurrency]
//   node bench/cases/ocireg.mjs tags  <host/repo> <pageSize|default>
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Image from "@ocireg/core/Image"
import * as Registry from "@ocireg/core/Registry"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as NodeBlob from "@ocireg/platform-node/NodeBlob"
import * as NodeBlobSource from "@ocireg/platform-node/NodeBlobSource"
import * as NodeHasher from "@ocireg/platform-node/NodeHasher"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { cpuClock } from "../lib/stats.mjs"

const [op, ...args] = process.argv.slice(2)

// Diagnostic variants (not in the table): RegistryClient options as JSON in OCIREG_BENCH_OPTIONS
// (e.g. {"idleTimeout":0}), OCIREG_BENCH_HWM=<bytes> for undici's response highWaterMark (with
// OCIREG_BENCH_HTTP=platform), OCIREG_BENCH_HTTP=platform for @effect/platform-node's undici client
// instead of NodeRegistry's own NodeHttpClient, and OCIREG_BENCH_HTTP=node for @effect/platform-node's
// node:http client (measured: it buffers a streamed upload whole, ~900 MB RSS for a 1 GiB push).
const extraOptions = process.env.OCIREG_BENCH_OPTIONS ? JSON.parse(process.env.OCIREG_BENCH_OPTIONS) : {}
// @effect/platform-node's client (undici) is loaded only for the variants that use it: loading it
// for every run added its modules to the measured process's CPU and RSS
const NodeHttpClient = process.env.OCIREG_BENCH_HTTP === "node" || process.env.OCIREG_BENCH_HWM
  ? await import("@effect/platform-node/NodeHttpClient")
  : undefined

const layer = (options = {}) => {
  const merged = { ...options, ...extraOptions }
  const registry = process.env.OCIREG_BENCH_HTTP === "node"
    ? Layer.merge(RegistryClient.layer(merged).pipe(Layer.provide(NodeHttpClient.layer)), NodeHasher.layer)
    : NodeRegistry.layer({ ...merged, http: process.env.OCIREG_BENCH_HTTP === "platform" ? "platform" : "node" })
  return registry.pipe(Layer.provide(CredentialStore.layerAnonymous))
}

const withStats = (effect) =>
  Effect.gen(function*() {
    const client = yield* RegistryClient.RegistryClient
    const result = yield* effect
    const stats = yield* client.stats
    return { result, stats }
  })

const programs = {
  pull: ([repository, digest, size, out]) => {
    const descriptor = { digest, size: Number(size) }
    // to a file the way the library offers it: verified while streaming, into a temporary file
    // renamed into place at the end
    const effect = out === "null"
      ? Stream.runDrain(Registry.getBlob(repository, descriptor))
      : NodeBlob.downloadBlob(repository, descriptor, out)
    return { effect: Effect.as(effect, { bytes: Number(size) }), options: {} }
  },
  push: ([repository, file, digest, size, chunkSize]) => {
    const chunk = Number(chunkSize)
    // 0: the default, one streamed PUT
    const options = chunk > 0 ? { chunkSize: chunk } : {}
    const effect = Effect.flatMap(
      NodeBlobSource.fromFile(file, { digest, size: Number(size) }),
      (source) => Registry.uploadBlob(repository, source, options)
    ).pipe(Effect.map((r) => ({ bytes: r.size, outcome: r.outcome })))
    return { effect, options: {} }
  },
  copy: ([source, target, concurrency]) => {
    const effect = Image.copy(source, target, concurrency ? { concurrency: Number(concurrency) } : {}).pipe(
      Effect.map((r) => ({ bytes: r.bytesUploaded, blobs: r.blobs }))
    )
    return { effect, options: {} }
  },
  tags: ([repository, pageSize]) => {
    const effect = Registry.listAllTags(repository, pageSize === "default" ? {} : { pageSize: Number(pageSize) }).pipe(
      Effect.map((tags) => ({ bytes: 0, count: tags.length }))
    )
    return { effect, options: {} }
  }
}

const make = programs[op]
if (make === undefined) {
  process.stderr.write(`unknown operation ${op}\n`)
  process.exit(2)
}
const { effect, options } = make(args)
// Diagnostic: OCIREG_BENCH_HWM=<bytes> gives undici response bodies that highWaterMark (larger reads).
const hwm = Number(process.env.OCIREG_BENCH_HWM ?? 0)
const tuned = hwm > 0
  ? Effect.provideService(effect, NodeHttpClient.UndiciRequestOptions, { highWaterMark: hwm })
  : effect
const started = process.hrtime.bigint()
const opCpu = cpuClock()
Effect.runPromise(withStats(tuned).pipe(Effect.provide(layer(options)))).then(
  ({ result, stats }) => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    process.stdout.write(
      JSON.stringify({
        seconds,
        opCpuSeconds: opCpu(),
        ...result,
        tokens: stats.tokensIssued,
        requests: stats.requests,
        maxRssKB: process.resourceUsage().maxRSS
      }) + "\n"
    )
  },
  (error) => {
    process.stderr.write(`${error?.message ?? error}\n`)
    process.exit(1)
  }
)
