/**
 * Blob downloads that break mid-way, through the fault-injection proxy in front of docker-registry:
 * resumed with Range where they stopped, verified over the whole blob.
 */
import { assert, it } from "@effect/vitest"
import * as BlobSource from "@ocireg/core/BlobSource"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Registry from "@ocireg/core/Registry"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import { afterAll, beforeAll, beforeEach } from "vitest"
import {
  describeIntegration,
  Fault,
  type FaultProxy,
  type RunningRegistry,
  startFaultProxy,
  startRegistry
} from "../../../../test-support/index.js"

const size = 3 * 1024 * 1024
const bytes = crypto.randomBytes(size)
const client = NodeRegistry.layer({ idleTimeout: "1 second" }).pipe(Layer.provide(CredentialStore.layerAnonymous))

describeIntegration("resuming blob downloads", ["docker-registry"], () => {
  let registry: RunningRegistry
  let proxy: FaultProxy
  let digest: string

  beforeAll(async () => {
    registry = await startRegistry({ auth: "none" })
    proxy = await startFaultProxy({ target: registry.url })
    const source = await Effect.runPromise(
      BlobSource.fromBytes(bytes).pipe(
        Effect.tap((s) => Registry.uploadBlob(`${registry.host}/dl/app`, s)),
        Effect.provide(Layer.merge(client, NodeRegistry.layer()).pipe(Layer.provide(CredentialStore.layerAnonymous)))
      )
    )
    digest = source.digest
  })
  afterAll(async () => {
    await proxy?.stop()
    await registry?.stop()
  })
  beforeEach(() => {
    proxy.clearRules()
    proxy.resetLog()
  })

  const download = () =>
    Effect.map(
      Stream.runCollect(Registry.getBlob(`${proxy.host}/dl/app`, { digest, size })),
      (chunks) => Buffer.concat(Chunk.toArray(chunks))
    )
  const blobGets = () => proxy.log().filter((e) => e.method === "GET" && e.path.includes("/blobs/sha256:"))

  /** Reset the connection of blob GETs after `bytes` of the body. */
  const resetBlobGetsAfter = (bytes: number) =>
    proxy.addRule({ name: "reset", method: "GET", path: /\/blobs\/sha256:/, action: Fault.resetResponseAfter(bytes) })

  it.effect("resumes with a 206 after a connection reset", () =>
    Effect.gen(function*() {
      resetBlobGetsAfter(1_000_000)
      assert.isTrue((yield* download()).equals(bytes))
      const gets = blobGets()
      assert.strictEqual(gets.length, 2)
      assert.match(String(gets[1]!.requestHeaders["range"]), /^bytes=\d+-$/)
      assert.strictEqual(gets[1]!.status, 206)
    }).pipe(Effect.provide(client)))

  it.effect("skips what it has when the server answers the Range with the whole blob", () =>
    Effect.gen(function*() {
      resetBlobGetsAfter(1_500_000)
      proxy.addRule({
        name: "no ranges",
        method: "GET",
        match: (r) => r.headers["range"] !== undefined,
        action: Fault.ignoreRange()
      })
      assert.isTrue((yield* download()).equals(bytes))
      assert.strictEqual(blobGets()[1]!.status, 200)
    }).pipe(Effect.provide(client)))

  it.effect("resumes a body that ends short", () =>
    Effect.gen(function*() {
      proxy.addRule({
        name: "truncate",
        method: "GET",
        path: /\/blobs\/sha256:/,
        action: Fault.truncateResponseAfter(700_000)
      })
      assert.isTrue((yield* download()).equals(bytes))
      assert.strictEqual(blobGets().length, 2)
    }).pipe(Effect.provide(client)))

  it.live("resumes a stalled body after the idle timeout", () =>
    Effect.gen(function*() {
      proxy.addRule({
        name: "stall",
        method: "GET",
        path: /\/blobs\/sha256:/,
        action: Fault.stallResponseAfter(500_000, 20_000)
      })
      const started = Date.now()
      assert.isTrue((yield* download()).equals(bytes))
      assert.isBelow(Date.now() - started, 10_000)
      assert.strictEqual(blobGets().length, 2)
    }).pipe(Effect.provide(client)))

  it.effect("fails with DigestMismatch on bytes changed in transit, without resuming", () =>
    Effect.gen(function*() {
      proxy.addRule({ name: "flip", method: "GET", path: /\/blobs\/sha256:/, action: Fault.flipByte(123_456) })
      const error = yield* Effect.flip(download())
      assert.strictEqual(error._tag, "DigestMismatch")
      assert.strictEqual(blobGets().length, 1)
    }).pipe(Effect.provide(client)))

  it.effect("refuses a 206 that starts elsewhere", () =>
    Effect.gen(function*() {
      resetBlobGetsAfter(1_000_000)
      proxy.addRule({
        name: "wrong range",
        match: (r) => r.headers["range"] !== undefined,
        action: Fault.mapRequestHeaders((h) => ({ ...h, range: "bytes=10-" }))
      })
      const error = yield* Effect.flip(download())
      assert.strictEqual(error._tag, "InvalidResponse")
    }).pipe(Effect.provide(client)))
})
