import * as HttpClient from "@effect/platform/HttpClient"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as MediaType from "@ocireg/core/MediaType"
import * as OciPromise from "@ocireg/core/Promise"
import * as Registry from "@ocireg/core/Registry"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import { NotFound } from "@ocireg/core/RegistryError"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { afterEach, assert, describe, it } from "vitest"
import { sha256Hex, TestHasher } from "./support/fakeRegistry.js"

// helpers ---------------------------------------------------------------------------------------

const encoder = new TextEncoder()
const encode = (value: unknown) => encoder.encode(typeof value === "string" ? value : JSON.stringify(value))
const digestOf = (bytes: Uint8Array) => `sha256:${sha256Hex(bytes)}`

type Handle = (request: Request) => Promise<Response>

/**
 * A client over `RegistryTest`; `wrap` may intercept requests before the registry answers. The
 * registry service is returned for inspection.
 */
const makeClient = (options: RegistryTest.Options = {}, wrap?: (handle: Handle) => Handle) => {
  const registry = Effect.runSync(RegistryTest.make(options).pipe(Effect.provide(TestHasher)))
  const handle = wrap ? wrap(registry.handle) : registry.handle
  const http = Layer.succeed(HttpClient.HttpClient, RegistryTest.httpClient({ ...registry, handle }))
  const layer = RegistryClient.layer({ retrySchedule: undefined }).pipe(
    Layer.provide(http),
    Layer.provide(CredentialStore.layerAnonymous),
    Layer.merge(TestHasher)
  )
  const client = OciPromise.createClient(layer)
  clients.push(client)
  return { client, registry }
}

const clients: Array<OciPromise.RegistryClientPromise> = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()))
})

const readAll = async (stream: ReadableStream<Uint8Array>) => {
  const chunks: Array<Uint8Array> = []
  for (const reader = stream.getReader();;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
  }
  return Buffer.concat(chunks)
}

const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected a rejection")
}

const repo = "registry.test/team/app"
const layerBytes = encode("layer bytes ".repeat(100))
const configBytes = encode({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } })
const manifestBytes = encode({
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: MediaType.ociConfig, digest: digestOf(configBytes), size: configBytes.length },
  layers: [{ mediaType: MediaType.ociLayerTar, digest: digestOf(layerBytes), size: layerBytes.length }]
})

/** Push a small image through the facade. */
const pushImage = async (client: OciPromise.RegistryClientPromise, tag = "v1") => {
  const layer = await client.uploadBlob(repo, layerBytes)
  const config = await client.uploadBlob(repo, configBytes)
  const put = await client.putManifest(`${repo}:${tag}`, manifestBytes)
  return { layer, config, put }
}

// tests -----------------------------------------------------------------------------------------

describe("Promise facade: operations", () => {
  it("uploads blobs, puts a manifest, lists tags and reads the manifest back", async () => {
    const { client, registry } = makeClient()
    const { config, layer, put } = await pushImage(client)
    assert.deepStrictEqual(layer, { digest: digestOf(layerBytes), size: layerBytes.length, outcome: "uploaded" })
    assert.strictEqual(config.outcome, "uploaded")
    assert.strictEqual((await client.uploadBlob(repo, layerBytes)).outcome, "exists")
    assert.deepStrictEqual(put, {
      reference: `${repo}:v1`,
      digest: digestOf(manifestBytes),
      mediaType: MediaType.ociManifest,
      size: manifestBytes.length,
      subject: undefined
    })
    assert.strictEqual(registry.tags("team/app").get("v1"), digestOf(manifestBytes))

    await client.putManifest(`${repo}:v2`, new TextDecoder().decode(manifestBytes), MediaType.ociManifest)
    assert.deepStrictEqual(await client.listTags(repo), ["v1", "v2"])
    assert.deepStrictEqual(await client.listTags(repo, { pageSize: 1 }), ["v1", "v2"])
    assert.deepStrictEqual(await client.listRepositories("registry.test"), ["team/app"])
    assert.deepStrictEqual(await client.ping("registry.test"), {
      registry: "registry.test",
      apiVersion: "registry/2.0"
    })

    const got = await client.getManifest(`${repo}:v1`)
    assert.strictEqual(got.digest, digestOf(manifestBytes))
    assert.strictEqual(got.kind, "ImageManifest")
    assert.strictEqual(got.mediaType, MediaType.ociManifest)
    assert.strictEqual(got.size, manifestBytes.length)
    assert.deepStrictEqual(Buffer.from(got.bytes), Buffer.from(manifestBytes))
    assert.strictEqual(got.reference, `${repo}:v1`)
    assert.ok("layers" in got.manifest)
    if ("layers" in got.manifest) assert.strictEqual(got.manifest.layers[0]!.digest, digestOf(layerBytes))

    assert.deepStrictEqual(await client.headManifest(`${repo}:v1`), {
      reference: `${repo}:v1`,
      digest: digestOf(manifestBytes),
      mediaType: MediaType.ociManifest,
      size: manifestBytes.length
    })
    assert.deepStrictEqual(await client.headBlob(repo, digestOf(layerBytes)), {
      digest: digestOf(layerBytes),
      size: layerBytes.length
    })
  })

  it("streams a blob through a web ReadableStream, and reads one whole", async () => {
    const { client } = makeClient()
    await pushImage(client)
    const stream = await client.getBlob(repo, { digest: digestOf(layerBytes), size: layerBytes.length })
    assert.ok(stream instanceof ReadableStream)
    assert.deepStrictEqual(await readAll(stream), Buffer.from(layerBytes))
    assert.deepStrictEqual(Buffer.from(await client.getBlobBytes(repo, digestOf(layerBytes))), Buffer.from(layerBytes))
    const big = await rejection(client.getBlobBytes(repo, digestOf(layerBytes), { maxSize: 10 }))
    assert.ok(OciPromise.isRegistryError(big, "InvalidResponse"))
  })

  it("uploads from a web ReadableStream and from an async iterable", async () => {
    const { client, registry } = makeClient()
    const bytes = encode("streamed blob")
    const web = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.subarray(0, 4))
        c.enqueue(bytes.subarray(4))
        c.close()
      }
    })
    const first = await client.uploadBlob(repo, { digest: digestOf(bytes), size: bytes.length, stream: web })
    assert.strictEqual(first.outcome, "uploaded")
    const other = encode("iterated blob")
    async function* chunks() {
      yield other.subarray(0, 3)
      yield other.subarray(3)
    }
    const second = await client.uploadBlob("registry.test/team/other", {
      digest: digestOf(other),
      size: other.length,
      stream: chunks()
    })
    assert.strictEqual(second.outcome, "uploaded")
    assert.deepStrictEqual(Buffer.from(registry.blobs().get(digestOf(other))!), Buffer.from(other))
  })

  it("copies, tags, inspects, mounts, lists referrers and deletes", async () => {
    const { client } = makeClient({ tagDelete: true })
    await pushImage(client)
    const events: Array<string> = []
    const copied = await client.copy(`${repo}:v1`, "registry.test/team/copy:v1", {
      onEvent: (event) => void events.push(event._tag)
    })
    assert.strictEqual(copied.digest, digestOf(manifestBytes))
    assert.strictEqual(copied.blobs.mounted, 2)
    assert.ok(events.includes("BlobFinished"))

    const tagged = await client.tag(`${repo}:v1`, "stable")
    assert.strictEqual(tagged.reference, `${repo}:stable`)
    const inspection = await client.inspect(`${repo}:stable`)
    assert.strictEqual(inspection.digest, digestOf(manifestBytes))
    assert.strictEqual(inspection.image?.platform, "linux/amd64")

    assert.deepStrictEqual(await client.mountBlob("registry.test/team/third", digestOf(layerBytes), "team/app"), {
      mounted: true,
      digest: digestOf(layerBytes)
    })
    assert.deepStrictEqual(await client.getReferrers(`${repo}@${digestOf(manifestBytes)}`), [])

    await client.deleteTag(`${repo}:stable`)
    assert.deepStrictEqual(await client.listTags(repo), ["v1"])
    assert.strictEqual(await client.deleteManifest(`${repo}:v1`), digestOf(manifestBytes))
    await client.deleteBlob(repo, digestOf(layerBytes))
    const gone = await rejection(client.headBlob(repo, digestOf(layerBytes)))
    assert.ok(OciPromise.isRegistryError(gone, "NotFound"))
  })

  it("runs any Effect with the same semantics", async () => {
    const { client } = makeClient()
    await pushImage(client)
    const digest = await client.run(Effect.map(Registry.headManifest(`${repo}:v1`), (h) => h.digest))
    assert.strictEqual(digest, digestOf(manifestBytes))
  })
})

describe("Promise facade: errors", () => {
  it("rejects with the tagged error itself", async () => {
    const { client } = makeClient()
    const error = await rejection(client.getManifest(`${repo}:missing`))
    assert.ok(error instanceof Error)
    assert.ok(error instanceof NotFound)
    assert.ok(OciPromise.isRegistryError(error))
    assert.ok(OciPromise.isRegistryError(error, "NotFound"))
    assert.ok(!OciPromise.isRegistryError(error, "AuthenticationError"))
    assert.ok(client.isRegistryError(error, "NotFound"))
    assert.strictEqual((error as NotFound)._tag, "NotFound")
    assert.strictEqual((error as NotFound).kind, "tag")
    assert.match((error as Error).message, /not found/)
    assert.notInclude(String((error as Error).name), "FiberFailure")
  })

  it("rejects getBlob itself when the blob is missing, and an invalid reference before any request", async () => {
    const { client, registry } = makeClient()
    const missing = await rejection(client.getBlob(repo, digestOf(encode("nothing"))))
    assert.ok(OciPromise.isRegistryError(missing, "NotFound"))
    const before = registry.requests().length
    const invalid = await rejection(client.listTags("registry.test/UPPER/case"))
    assert.ok(OciPromise.isRegistryError(invalid, "InvalidReference"))
    assert.strictEqual(registry.requests().length, before)
  })

  it("errors the stream with DigestMismatch when the bytes are not the blob's", async () => {
    const wrong = encode("not the bytes you asked for")
    const { client } = makeClient(
      {},
      (handle) => async (request) =>
        request.url.includes("/blobs/sha256:") && request.method === "GET"
          ? new Response(wrong, { headers: { "content-length": String(wrong.length) } })
          : handle(request)
    )
    const stream = await client.getBlob(repo, digestOf(encode("the real bytes")))
    const error = await rejection(readAll(stream))
    assert.ok(OciPromise.isRegistryError(error, "DigestMismatch"))
  })
})

describe("Promise facade: abort", () => {
  /** Requests whose path includes `hang` never get an answer until they are aborted. */
  const hanging = () => {
    const seen: Array<Request> = []
    let started: () => void = () => {}
    const reached = new Promise<void>((resolve) => (started = resolve))
    const wrap = (handle: Handle): Handle => (request) => {
      if (!request.url.includes("hang")) return handle(request)
      seen.push(request)
      started()
      return new Promise((_, reject) => request.signal.addEventListener("abort", () => reject(request.signal.reason)))
    }
    return { seen, reached, wrap }
  }

  it("interrupts a call in flight and rejects with the signal's reason", async () => {
    const h = hanging()
    const { client } = makeClient({}, h.wrap)
    const controller = new AbortController()
    const call = client.listTags("registry.test/team/hang", { signal: controller.signal })
    await h.reached
    const reason = new Error("user gave up")
    controller.abort(reason)
    assert.strictEqual(await rejection(call), reason)
    assert.ok(h.seen[0]!.signal.aborted, "the HTTP request was aborted")
  })

  it("rejects with an AbortError when aborted without a reason, and at once when already aborted", async () => {
    const h = hanging()
    const { client, registry } = makeClient({}, h.wrap)
    const controller = new AbortController()
    const call = client.getManifest("registry.test/team/hang:v1", { signal: controller.signal })
    await h.reached
    controller.abort()
    const error = await rejection(call)
    assert.ok(OciPromise.isAbortError(error))
    assert.strictEqual((error as Error).name, "AbortError")

    const before = registry.requests().length
    const already = await rejection(client.ping("registry.test", { signal: AbortSignal.abort(new Error("no")) }))
    assert.strictEqual((already as Error).message, "no")
    assert.strictEqual(registry.requests().length, before)
  })

  it("aborts a blob stream mid-read: the read rejects and the response body is released", async () => {
    const head = encode("first part;")
    let cancelled = false
    const { client } = makeClient({}, (handle) => async (request) => {
      if (!(request.url.includes("/blobs/") && request.method === "GET")) return handle(request)
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(head)
        },
        cancel() {
          cancelled = true
        }
      })
      return new Response(body, { headers: { "content-length": "1000" } })
    })
    const controller = new AbortController()
    const stream = await client.getBlob(repo, digestOf(encode("x")), { signal: controller.signal })
    const reader = stream.getReader()
    const first = await reader.read()
    assert.deepStrictEqual(Buffer.from(first.value!), Buffer.from(head))
    const pending = reader.read()
    const reason = new Error("stop reading")
    setTimeout(() => controller.abort(reason), 20)
    assert.strictEqual(await rejection(pending), reason)
    await new Promise((resolve) => setTimeout(resolve, 20))
    assert.ok(cancelled, "the response body was cancelled")
  })

  it("releases the response when the caller cancels the stream", async () => {
    let cancelled = false
    const { client } = makeClient({}, (handle) => async (request) => {
      if (!(request.url.includes("/blobs/") && request.method === "GET")) return handle(request)
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(encode("some bytes"))
        },
        cancel() {
          cancelled = true
        }
      })
      return new Response(body)
    })
    const stream = await client.getBlob(repo, digestOf(encode("y")))
    const reader = stream.getReader()
    await reader.read()
    await reader.cancel()
    await new Promise((resolve) => setTimeout(resolve, 20))
    assert.ok(cancelled)
  })
})

describe("Promise facade: dispose", () => {
  it("interrupts what is in flight, then refuses new calls", async () => {
    const seen: Array<Request> = []
    const { client } = makeClient({}, (handle) => (request) => {
      if (!request.url.includes("hang")) return handle(request)
      seen.push(request)
      return new Promise((_, reject) => request.signal.addEventListener("abort", () => reject(request.signal.reason)))
    })
    await client.ping("registry.test")
    const call = client.listTags("registry.test/team/hang")
    while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    await client[Symbol.asyncDispose]()
    const error = await rejection(call)
    assert.ok(OciPromise.isAbortError(error))
    const after = await rejection(client.ping("registry.test"))
    assert.strictEqual((after as Error).name, "ClientDisposedError")
    await client.dispose()
  })

  it("works with await using", async () => {
    let inner: OciPromise.RegistryClientPromise | undefined
    {
      await using client = makeClient().client
      inner = client
      await client.ping("registry.test")
    }
    const after = await rejection(inner.ping("registry.test"))
    assert.strictEqual((after as Error).name, "ClientDisposedError")
  })
})
