/**
 * Chunked uploads that break mid-way, through the fault-injection proxy: against the in-memory
 * registry served over HTTP (sessions survive, so the upload resumes at the server's offset and
 * no chunk is sent twice) and against docker-registry 2.8 (which invalidates a session after a
 * broken PATCH, so a re-readable source restarts in a new session and a one-shot one fails clearly).
 */
import { assert, describe, it } from "@effect/vitest"
import * as BlobSource from "@ocireg/core/BlobSource"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import type * as Digest from "@ocireg/core/Digest"
import * as Registry from "@ocireg/core/Registry"
import * as NodeBlobSource from "@ocireg/platform-node/NodeBlobSource"
import * as NodeHasher from "@ocireg/platform-node/NodeHasher"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as RegistryServer from "@ocireg/platform-node/RegistryServer"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import {
  describeIntegration,
  Fault,
  type FaultProxy,
  type RunningRegistry,
  startFaultProxy,
  startRegistry
} from "../../../../test-support/index.js"

const chunkSize = 256 * 1024
const size = 6 * chunkSize + 1000
const client = NodeRegistry.layer({ chunkSize, retrySchedule: Schedule.recurs(0) }).pipe(
  Layer.provide(CredentialStore.layerAnonymous)
)
const sha256 = (bytes: Uint8Array) =>
  `sha256:${crypto.createHash("sha256").update(bytes).digest("hex")}` as Digest.Digest

const readBack = (repository: string, digest: Digest.Digest) =>
  Effect.map(Stream.runCollect(Registry.getBlob(repository, { digest, size })), (c) => Buffer.concat(Chunk.toArray(c)))

const patches = (proxy: FaultProxy) => proxy.log().filter((e) => e.method === "PATCH")

/**
 * The in-memory registry served over HTTP behind the fault proxy, which loses the answer to one
 * PATCH after the fourth request (the registry keeps the bytes and the session).
 */
const proxyLosingOnePatchAnswer = Effect.gen(function*() {
  const server = yield* RegistryServer.serve({})
  const proxy = yield* Effect.acquireRelease(
    Effect.promise(() => startFaultProxy({ target: server.url })),
    (p) => Effect.promise(() => p.stop())
  )
  proxy.addRule({
    name: "answer lost",
    method: "PATCH",
    match: (r) => r.matchCount === 0 && r.index > 3,
    action: Fault.resetBeforeResponse({ afterRequestBytes: Infinity })
  })
  return proxy
})

describe("resuming chunked uploads against the in-memory registry", () => {
  it.scoped("continues at the server's offset when a PATCH's answer is lost, sending no chunk twice", () =>
    Effect.gen(function*() {
      const proxy = yield* proxyLosingOnePatchAnswer
      const bytes = crypto.randomBytes(size)
      const source = yield* BlobSource.fromBytes(bytes)
      const result = yield* Registry.uploadBlob(`${proxy.host}/resume/app`, source)
      assert.strictEqual(result.outcome, "uploaded")
      assert.isTrue(proxy.log().some((e) => e.fired === "answer lost"), "the fault fired")
      const sent = patches(proxy).reduce((n, e) => n + e.requestBytes, 0)
      assert.strictEqual(patches(proxy).length, 7, "seven chunks, none repeated")
      assert.strictEqual(sent, size, "every byte sent exactly once")
      assert.isTrue(proxy.log().some((e) => e.method === "GET" && e.path.includes("/blobs/uploads/")), "status asked")
      assert.isTrue((yield* readBack(`${proxy.host}/resume/app`, source.digest)).equals(bytes))
    }).pipe(Effect.provide(Layer.merge(client, NodeHasher.layer))))
})

describe("resuming chunked uploads of files (native bodies) against the in-memory registry", () => {
  it.scoped("re-reads only the missing range of the file when a chunk's answer is lost", () =>
    Effect.gen(function*() {
      const proxy = yield* proxyLosingOnePatchAnswer
      const bytes = crypto.randomBytes(size)
      const dir = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "ocireg-native-")))
      yield* Effect.addFinalizer(() => Effect.promise(() => fs.rm(dir, { recursive: true, force: true })))
      const file = path.join(dir, "blob.bin")
      yield* Effect.promise(() => fs.writeFile(file, bytes))
      const source = yield* NodeBlobSource.fromFile(file)
      assert.isDefined(source.nativeBody)
      const result = yield* Registry.uploadBlob(`${proxy.host}/native/app`, source)
      assert.strictEqual(result.outcome, "uploaded")
      assert.isTrue(proxy.log().some((e) => e.fired === "answer lost"), "the fault fired")
      assert.strictEqual(patches(proxy).length, 7, "seven chunks, none repeated")
      assert.strictEqual(patches(proxy).reduce((n, e) => n + e.requestBytes, 0), size)
      assert.isTrue((yield* readBack(`${proxy.host}/native/app`, source.digest)).equals(bytes))
      const empty = path.join(dir, "empty.bin")
      yield* Effect.promise(() => fs.writeFile(empty, new Uint8Array(0)))
      const nothing = yield* NodeBlobSource.fromFile(empty)
      assert.strictEqual((yield* Registry.uploadBlob(`${proxy.host}/native/app`, nothing)).outcome, "uploaded")
    }).pipe(Effect.provide(Layer.merge(client, NodeHasher.layer))))
})

describeIntegration("resuming chunked uploads against docker-registry", ["docker-registry"], () => {
  let registry: RunningRegistry
  let proxy: FaultProxy

  beforeAll(async () => {
    registry = await startRegistry({ auth: "none" })
    proxy = await startFaultProxy({ target: registry.url })
  })
  afterAll(async () => {
    await proxy?.stop()
    await registry?.stop()
  })

  it.effect("restarts a re-readable upload in a new session after a connection reset mid-chunk", () =>
    Effect.gen(function*() {
      proxy.clearRules()
      proxy.resetLog()
      proxy.addRule({
        name: "reset mid-chunk",
        method: "PATCH",
        match: (r) => r.matchCount === 0 && r.query.size > 0,
        action: Fault.resetBeforeResponse({ afterRequestBytes: 100_000 })
      })
      const bytes = crypto.randomBytes(size)
      const source = yield* BlobSource.fromBytes(bytes)
      const result = yield* Registry.uploadBlob(`${proxy.host}/restart/app`, source)
      assert.strictEqual(result.outcome, "uploaded")
      assert.isTrue(proxy.log().some((e) => e.fired === "reset mid-chunk"))
      assert.strictEqual(proxy.log().filter((e) => e.method === "POST").length, 2, "a second session")
      assert.isTrue((yield* readBack(`${proxy.host}/restart/app`, source.digest)).equals(bytes))
    }).pipe(Effect.provide(client)))

  it.effect("fails a one-shot upload with a typed error and leaves no blob behind", () =>
    Effect.gen(function*() {
      proxy.clearRules()
      proxy.addRule({
        name: "reset mid-chunk",
        method: "PATCH",
        action: Fault.resetBeforeResponse({ afterRequestBytes: 100_000 })
      })
      const bytes = crypto.randomBytes(size)
      const digest = sha256(bytes)
      const source = BlobSource.fromStream({ digest, size, stream: Stream.succeed(new Uint8Array(bytes)) })
      const error = yield* Effect.flip(Registry.uploadBlob(`${proxy.host}/oneshot/app`, source))
      assert.strictEqual(error._tag, "TransportError")
      const missing = yield* Effect.flip(Registry.headBlob(`${registry.host}/oneshot/app`, digest))
      assert.strictEqual(missing._tag, "NotFound")
    }).pipe(Effect.provide(client)))
})
