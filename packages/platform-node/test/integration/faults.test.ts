/**
 * The fault-injection suite of issue 6: ocireg against real `docker-registry` processes (one open,
 * one with token auth behind the test token server), each behind the programmable fault proxy,
 * with one test per scenario: broken connections, short and long bodies, flipped bytes, 5xx
 * bursts, 429s, redirects to other origins, stalls, tokens that stop working mid-copy, hostile
 * `WWW-Authenticate` answers, huge manifests and error bodies, foreign `Link`s, `Warning: 299`.
 *
 * Every scenario ends either in verified bytes (compared with the source) or in the right typed
 * error, and never with data lost or silently corrupted. Each records `{ scenario, expected,
 * outcome }`; the suite prints the table and writes it to `test-results/faults.md`.
 */
import { assert, it } from "@effect/vitest"
import * as BlobSource from "@ocireg/core/BlobSource"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import type * as Digest from "@ocireg/core/Digest"
import * as Image from "@ocireg/core/Image"
import * as MediaType from "@ocireg/core/MediaType"
import * as Registry from "@ocireg/core/Registry"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import type { RegistryError } from "@ocireg/core/RegistryError"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest"
import { buildImage, collect, pushImage, recordingClient, sha256 } from "../../../../test-support/campaign/common.js"
import {
  describeIntegration,
  Fault,
  type FaultProxy,
  type FaultRequest,
  lazyBody,
  type RecordingOrigin,
  renderScenarioTable,
  type RunningRegistry,
  type ScenarioRow,
  startFaultProxy,
  startRecordingOrigin,
  startRegistry,
  startTokenServer,
  type TokenServer
} from "../../../../test-support/index.js"

const resultsFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../test-results/faults.md")

const MiB = 1024 * 1024
const PASSWORD = "faults-Pa55word-do-not-leak"
const users = { alice: PASSWORD }
const chunkSize = 256 * 1024
/** Retries of the clients under test: 3, from 20 ms, doubling, jittered (4 attempts in all). */
const retrySchedule = Schedule.exponential("20 millis", 2).pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(3))
)
const attempts = 4

const blobBytes = crypto.randomBytes(3 * MiB)
const blobDigest = sha256(blobBytes)

const smallImage = buildImage([1024])
const multiImage = buildImage([300_000, 300_000, 300_000])

// ---------------------------------------------------------------------------------------------
// clients under test
// ---------------------------------------------------------------------------------------------

const makeClient = (
  credentials: Readonly<Record<string, CredentialStore.Credential>>,
  overrides: RegistryClient.Options = {}
) =>
  recordingClient(credentials, {
    retrySchedule,
    idleTimeout: "1 second",
    maxRetryAfter: "3 seconds",
    requestTimeout: "10 seconds",
    chunkSize,
    ...overrides
  })

const download = (host: string, repository: string, digest: Digest.Digest, size?: number) =>
  collect(Registry.getBlob(`${host}/${repository}`, size === undefined ? digest : { digest, size }))

/** The error of an effect that must fail; a success fails the test. */
const expectFailure = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<E, never, R> =>
  Effect.flatMap(
    Effect.either(effect),
    (result) =>
      Either.isLeft(result)
        ? Effect.succeed(result.left)
        : Effect.dieMessage("the operation succeeded, but a typed failure was expected")
  )

const expectTag = <T extends RegistryError["_tag"]>(
  error: RegistryError,
  tag: T
): Extract<RegistryError, { _tag: T }> => {
  assert.strictEqual(error._tag, tag, `expected ${tag}, got ${error._tag}: ${error.message}`)
  return error as Extract<RegistryError, { _tag: T }>
}

const fmtBytes = (n: number) =>
  n >= MiB ? `${(n / MiB).toFixed(2)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`

const authed = (request: FaultRequest) => request.headers["authorization"] !== undefined

// ---------------------------------------------------------------------------------------------
// the report
// ---------------------------------------------------------------------------------------------

const rows: Array<ScenarioRow> = []

/**
 * One scenario: a live test whose effect returns the outcome; a failure is recorded as such, with
 * what the test noted (`note`) before the failing assertion.
 */
const scenario = (
  name: string,
  expected: string,
  body: (note: (observed: string) => void) => Effect.Effect<string, unknown>
) =>
  it.live(name, () => {
    const started = Date.now()
    const notes: Array<string> = []
    return Effect.suspend(() => body((observed) => notes.push(observed))).pipe(
      Effect.onExit((exit) =>
        Effect.sync(() => {
          const seconds = `${((Date.now() - started) / 1000).toFixed(2)} s`
          const outcome = Exit.isSuccess(exit)
            ? `${exit.value} (${seconds})`
            : `FAILED: ${Cause.pretty(exit.cause).split("\n")[0]!.slice(0, 300)}` +
              (notes.length > 0 ? ` (observed: ${notes.join("; ")})` : "")
          rows.push({ scenario: name, expected, outcome })
        })
      )
    )
  })

describeIntegration("fault injection", ["docker-registry", "openssl"], () => {
  let tokens: TokenServer
  let open: RunningRegistry
  let secured: RunningRegistry
  /** In front of the open registry. */
  let openProxy: FaultProxy
  /** In front of the token-auth registry. */
  let tokenProxy: FaultProxy
  /** A second way into the token-auth registry (another registry host, so a copy streams bytes). */
  let tokenProxy2: FaultProxy
  /** Another origin: redirect target and `Link` target; records what it is sent. */
  let origin: RecordingOrigin

  /** Secrets that must never appear in an error: the password, Basic values and every bearer token seen. */
  const secrets = new Set<string>([PASSWORD, Buffer.from(`alice:${PASSWORD}`).toString("base64")])
  /** Every error of a token-auth scenario, checked again at the end against every secret seen. */
  const tokenAuthErrors: Array<RegistryError> = []

  const harvestSecrets = () => {
    const entries = [...tokenProxy.log(), ...tokenProxy2.log()].map((e) => e.requestHeaders)
    for (const headers of [...entries, ...origin.requests().map((r) => r.headers)]) {
      const value = headers["authorization"]
      if (value === undefined) continue
      secrets.add(value)
      const credential = value.replace(/^\s*(bearer|basic)\s+/i, "").trim()
      if (credential.length >= 8) secrets.add(credential)
    }
  }

  /** Asserts that no secret seen so far appears in the error, however it is rendered. */
  const assertNoSecrets = (error: RegistryError) => {
    harvestSecrets()
    tokenAuthErrors.push(error)
    const renderings = [error.message, JSON.stringify(error), String(error), Cause.pretty(Cause.fail(error))]
    for (const secret of secrets) {
      for (const text of renderings) assert.notInclude(text, secret, "a secret leaked into an error")
    }
  }

  const tokenCredentials = () => ({
    [tokenProxy.host]: CredentialStore.basic("alice", Redacted.make(PASSWORD)),
    [tokenProxy2.host]: CredentialStore.basic("alice", Redacted.make(PASSWORD))
  })
  const openClient = (overrides: RegistryClient.Options = {}) => makeClient({}, overrides)
  const tokenClient = (overrides: RegistryClient.Options = {}) => makeClient(tokenCredentials(), overrides)

  const blobGets = (proxy: FaultProxy) =>
    proxy.log().filter((e) => e.method === "GET" && e.path.includes("/blobs/sha256:"))
  const manifestGets = (proxy: FaultProxy) =>
    proxy.log().filter((e) => e.method === "GET" && e.path.includes("/manifests/"))
  /** Records when each matching request arrives (a rule that never fires); install it first. */
  const arrivals = (proxy: FaultProxy, pathPattern: RegExp) => {
    const at: Array<number> = []
    proxy.addRule({
      name: "clock",
      path: pathPattern,
      match: () => {
        at.push(Date.now())
        return false
      },
      action: []
    })
    return at
  }

  /**
   * Answer every authenticated manifest GET of the token-auth registry with `status`: the error
   * `getManifest` ends with, and how many GETs got that status.
   */
  const failEveryManifestGet = (status: number) =>
    Effect.gen(function*() {
      tokenProxy.addRule({
        method: "GET",
        path: /\/manifests\//,
        match: authed,
        times: 20,
        action: Fault.status(status)
      })
      const error = yield* expectFailure(Registry.getManifest(`${tokenProxy.host}/faults/src:v1`))
      return { error, failed: manifestGets(tokenProxy).filter((e) => e.status === status).length }
    })

  beforeAll(async () => {
    tokens = await startTokenServer({ users })
    ;[open, secured, origin] = await Promise.all([
      startRegistry({ auth: "none" }),
      startRegistry({ auth: "token", tokenServer: tokens }),
      startRecordingOrigin((req, res) => {
        // the blob store a registry may redirect to: serves the test blob, unauthenticated
        if (req.method === "GET" && req.url?.startsWith(`/storage/${blobDigest}`)) {
          res.writeHead(200, { "content-type": "application/octet-stream", "content-length": blobBytes.length })
          res.end(blobBytes)
        }
      })
    ])
    ;[openProxy, tokenProxy, tokenProxy2] = await Promise.all([
      startFaultProxy({ target: open.url }),
      startFaultProxy({ target: secured.url }),
      startFaultProxy({ target: secured.url })
    ])
    const seed = NodeRegistry.layer().pipe(Layer.provide(CredentialStore.layerStatic({
      [secured.host]: CredentialStore.basic("alice", Redacted.make(PASSWORD))
    })))
    await Effect.runPromise(
      Effect.gen(function*() {
        const blob = yield* BlobSource.fromBytes(blobBytes)
        yield* Registry.uploadBlob(`${open.host}/faults/blob`, blob)
        yield* Registry.uploadBlob(`${secured.host}/faults/app`, blob)
        yield* pushImage(`${open.host}/faults/small:v1`, smallImage)
        yield* pushImage(`${secured.host}/faults/src:v1`, multiImage)
        yield* pushImage(`${secured.host}/faults/src:v2`, smallImage)
      }).pipe(Effect.provide(seed))
    )
  }, 60_000)

  afterAll(async () => {
    if (rows.length > 0) {
      const table = renderScenarioTable(rows)
      console.log(`\nfault-injection scenarios (${rows.length})\n\n${table}`)
      await fs.mkdir(path.dirname(resultsFile), { recursive: true })
      await fs.writeFile(resultsFile, `# Fault-injection scenarios\n\n${table}`)
    }
    await Promise.allSettled([openProxy?.stop(), tokenProxy?.stop(), tokenProxy2?.stop(), origin?.stop()])
    await Promise.allSettled([open?.stop(), secured?.stop()])
    await tokens?.stop()
  })

  beforeEach(() => {
    for (const proxy of [openProxy, tokenProxy, tokenProxy2]) {
      proxy.clearRules()
      proxy.resetLog()
    }
    origin.reset()
  })
  afterEach(() => harvestSecrets())

  // -------------------------------------------------------------------------------------------
  // broken connections
  // -------------------------------------------------------------------------------------------

  scenario(
    "connection reset mid-blob download",
    "resumed with Range, 206; all bytes verified",
    () =>
      Effect.gen(function*() {
        openProxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, action: Fault.resetResponseAfter(1_000_000) })
        const got = yield* download(openProxy.host, "faults/blob", blobDigest, blobBytes.length)
        assert.isTrue(got.equals(blobBytes), "the bytes are the blob")
        const gets = blobGets(openProxy)
        assert.strictEqual(gets.length, 2)
        assert.match(String(gets[1]!.requestHeaders["range"]), /^bytes=\d+-$/)
        assert.strictEqual(gets[1]!.status, 206)
        return `ok: ${fmtBytes(got.length)} verified; resumed with \`${gets[1]!.requestHeaders["range"]}\` → 206`
      }).pipe(Effect.provide(openClient().layer))
  )

  scenario(
    "connection reset before any response (GET manifest)",
    "retried (idempotent); manifest verified",
    () =>
      Effect.gen(function*() {
        openProxy.addRule({ method: "GET", path: /\/manifests\//, action: Fault.resetBeforeResponse() })
        const result = yield* Registry.getManifest(`${openProxy.host}/faults/small:v1`)
        assert.strictEqual(result.digest, smallImage.digest)
        assert.strictEqual(manifestGets(openProxy).length, 2)
        return `ok: retried once, digest verified`
      }).pipe(Effect.provide(openClient().layer))
  )

  scenario(
    "connection reset mid-upload (chunked PATCH, re-readable source)",
    "new session, whole upload again; blob reads back verified",
    () =>
      Effect.gen(function*() {
        const bytes = crypto.randomBytes(6 * chunkSize + 1000)
        openProxy.addRule({
          name: "reset mid-chunk",
          method: "PATCH",
          match: (r) => r.query.size > 0,
          action: Fault.resetBeforeResponse({ afterRequestBytes: 100_000 })
        })
        const source = yield* BlobSource.fromBytes(bytes)
        const result = yield* Registry.uploadBlob(`${openProxy.host}/faults/upload`, source)
        assert.strictEqual(result.outcome, "uploaded")
        assert.isTrue(openProxy.log().some((e) => e.fired === "reset mid-chunk"), "the fault fired")
        const sessions = openProxy.log().filter((e) => e.method === "POST").length
        assert.strictEqual(sessions, 2, "a second session")
        const back = yield* download(open.host, "faults/upload", source.digest, bytes.length)
        assert.isTrue(back.equals(bytes), "the stored blob is the source")
        return `ok: ${sessions} sessions, ${fmtBytes(bytes.length)} read back verified`
      }).pipe(Effect.provide(openClient().layer))
  )

  scenario(
    "connection reset mid-upload (chunked PATCH, one-shot source)",
    "TransportError; nothing stored (headBlob NotFound)",
    () =>
      Effect.gen(function*() {
        const bytes = crypto.randomBytes(6 * chunkSize + 1000)
        const digest = sha256(bytes)
        openProxy.addRule({ method: "PATCH", action: Fault.resetBeforeResponse({ afterRequestBytes: 100_000 }) })
        const source = BlobSource.fromStream({
          digest,
          size: bytes.length,
          stream: Stream.succeed(new Uint8Array(bytes))
        })
        const error = yield* expectFailure(Registry.uploadBlob(`${openProxy.host}/faults/oneshot`, source))
        expectTag(error, "TransportError")
        const missing = yield* expectFailure(Registry.headBlob(`${open.host}/faults/oneshot`, digest))
        expectTag(missing, "NotFound")
        return `${error._tag} (${(error as { reason?: string }).reason}); headBlob → ${missing._tag}`
      }).pipe(Effect.provide(openClient().layer))
  )

  // -------------------------------------------------------------------------------------------
  // short, long and changed bodies
  // -------------------------------------------------------------------------------------------

  scenario(
    "truncated blob body (clean FIN after 700 kB)",
    "resumed with Range; all bytes verified",
    () =>
      Effect.gen(function*() {
        openProxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, action: Fault.truncateResponseAfter(700_000) })
        const got = yield* download(openProxy.host, "faults/blob", blobDigest, blobBytes.length)
        assert.isTrue(got.equals(blobBytes))
        assert.strictEqual(blobGets(openProxy).length, 2)
        return `ok: ${fmtBytes(got.length)} verified after 1 resume`
      }).pipe(Effect.provide(openClient().layer))
  )

  scenario(
    "truncated blob body on every attempt",
    "TransportError (BodyFailed) after the first GET and 3 resumes; no short blob passes as good",
    () =>
      Effect.gen(function*() {
        openProxy.addRule({
          method: "GET",
          path: /\/blobs\/sha256:/,
          times: 20,
          action: Fault.truncateResponseAfter(700_000)
        })
        const error = yield* expectFailure(download(openProxy.host, "faults/blob", blobDigest, blobBytes.length))
        assert.strictEqual(expectTag(error, "TransportError").reason, "BodyFailed")
        const gets = blobGets(openProxy).length
        assert.strictEqual(gets, 4, "the first request and 3 resumes")
        return `TransportError (BodyFailed) after ${gets} GETs`
      }).pipe(Effect.provide(openClient().layer))
  )

  scenario(
    "truncated manifest body",
    "retried (idempotent GET); manifest verified",
    () =>
      Effect.gen(function*() {
        openProxy.addRule({ method: "GET", path: /\/manifests\//, action: Fault.truncateResponseAfter(100) })
        const result = yield* Registry.getManifest(`${openProxy.host}/faults/small:v1`)
        assert.strictEqual(result.digest, smallImage.digest)
        return `ok: digest verified after ${manifestGets(openProxy).length} GETs`
      }).pipe(Effect.provide(openClient().layer))
  )

  scenario(
    "blob body longer than declared (Content-Length kept, extra bytes after it)",
    "reads the declared length; verified",
    () =>
      Effect.gen(function*() {
        openProxy.addRule({
          method: "GET",
          path: /\/blobs\/sha256:/,
          action: Fault.extendResponse(crypto.randomBytes(4096), { keepContentLength: true })
        })
        const got = yield* download(openProxy.host, "faults/blob", blobDigest, blobBytes.length)
        assert.isTrue(got.equals(blobBytes))
        return `ok: ${fmtBytes(got.length)} read and verified, extra bytes ignored`
      }).pipe(Effect.provide(openClient().layer))
  )

  scenario(
    "manifest body longer than declared (Content-Length kept)",
    "reads the declared length; verified",
    () =>
      Effect.gen(function*() {
        openProxy.addRule({
          method: "GET",
          path: /\/manifests\//,
          action: Fault.extendResponse(Buffer.from("{\"evil\":true}"), { keepContentLength: true })
        })
        const result = yield* Registry.getManifest(`${openProxy.host}/faults/small:v1`)
        assert.strictEqual(result.digest, smallImage.digest)
        assert.isTrue(Buffer.from(result.bytes).equals(smallImage.manifest))
        return "ok: manifest bytes verified"
      }).pipe(Effect.provide(openClient().layer))
  )

  scenario(
    "blob body longer than the blob (chunked, extra bytes; size known)",
    "DigestMismatch via size",
    () =>
      Effect.gen(function*() {
        openProxy.addRule({
          method: "GET",
          path: /\/blobs\/sha256:/,
          action: Fault.extendResponse(crypto.randomBytes(10))
        })
        const error = expectTag(
          yield* expectFailure(download(openProxy.host, "faults/blob", blobDigest, blobBytes.length)),
          "DigestMismatch"
        )
        assert.strictEqual(error.expectedSize, blobBytes.length)
        assert.isAbove(error.actualSize ?? 0, blobBytes.length)
        return `DigestMismatch (expected ${error.expectedSize} bytes, got ${error.actualSize})`
      }).pipe(Effect.provide(openClient().layer))
  )

  scenario(
    "blob body longer than the blob (chunked, extra bytes; size unknown)",
    "DigestMismatch via hash",
    () =>
      Effect.gen(function*() {
        openProxy.addRule({
          method: "GET",
          path: /\/blobs\/sha256:/,
          action: Fault.extendResponse(crypto.randomBytes(10))
        })
        const error = expectTag(
          yield* expectFailure(download(openProxy.host, "faults/blob", blobDigest)),
          "DigestMismatch"
        )
        assert.notStrictEqual(error.actual, blobDigest)
        return `DigestMismatch (got ${error.actual?.slice(0, 19)}…, ${error.actualSize} bytes)`
      }).pipe(Effect.provide(openClient().layer))
  )

  scenario(
    "manifest body longer than declared (chunked, extra bytes)",
    "DigestMismatch (manifest)",
    () =>
      Effect.gen(function*() {
        openProxy.addRule({ method: "GET", path: /\/manifests\//, action: Fault.extendResponse(Buffer.from(" ")) })
        const error = expectTag(
          yield* expectFailure(Registry.getManifest(`${openProxy.host}/faults/small:v1`)),
          "DigestMismatch"
        )
        assert.strictEqual(error.subject, "manifest")
        return `DigestMismatch (${error.subject})`
      }).pipe(Effect.provide(openClient().layer))
  )

  scenario(
    "byte flipped in transit (blob)",
    "DigestMismatch; not resumed",
    () =>
      Effect.gen(function*() {
        openProxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, action: Fault.flipByte(123_456) })
        const error = expectTag(
          yield* expectFailure(download(openProxy.host, "faults/blob", blobDigest, blobBytes.length)),
          "DigestMismatch"
        )
        assert.strictEqual(blobGets(openProxy).length, 1)
        return `DigestMismatch (${error.subject}), 1 GET`
      }).pipe(Effect.provide(openClient().layer))
  )

  scenario(
    "byte flipped in transit (manifest by tag, token auth)",
    "DigestMismatch against Docker-Content-Digest; no secret in the error",
    () =>
      Effect.gen(function*() {
        tokenProxy.addRule({ method: "GET", path: /\/manifests\//, match: authed, action: Fault.flipByte(40) })
        const error = expectTag(
          yield* expectFailure(Registry.getManifest(`${tokenProxy.host}/faults/src:v1`)),
          "DigestMismatch"
        )
        assert.strictEqual(error.subject, "manifest")
        assert.strictEqual(error.expected, multiImage.digest)
        assertNoSecrets(error)
        return `DigestMismatch (${error.subject}, expected the announced digest)`
      }).pipe(Effect.provide(tokenClient().layer))
  )

  scenario(
    "byte flipped in transit (manifest by digest, token auth)",
    "DigestMismatch; no secret in the error",
    () =>
      Effect.gen(function*() {
        tokenProxy.addRule({ method: "GET", path: /\/manifests\//, match: authed, action: Fault.flipByte(40) })
        const error = expectTag(
          yield* expectFailure(Registry.getManifest(`${tokenProxy.host}/faults/src@${multiImage.digest}`)),
          "DigestMismatch"
        )
        assert.strictEqual(error.subject, "manifest")
        assertNoSecrets(error)
        return `DigestMismatch (${error.subject})`
      }).pipe(Effect.provide(tokenClient().layer))
  )

  // -------------------------------------------------------------------------------------------
  // 5xx and 429
  // -------------------------------------------------------------------------------------------

  scenario(
    "two 503s, then success",
    "retried; manifest verified",
    () =>
      Effect.gen(function*() {
        openProxy.addRule({ method: "GET", path: /\/manifests\//, times: 2, action: Fault.status(503) })
        const result = yield* Registry.getManifest(`${openProxy.host}/faults/small:v1`)
        assert.strictEqual(result.digest, smallImage.digest)
        assert.strictEqual(manifestGets(openProxy).length, 3)
        return `ok after 3 GETs`
      }).pipe(Effect.provide(openClient().layer))
  )

  scenario(
    "500, 502, 503 burst, then success",
    "retried; manifest verified",
    () =>
      Effect.gen(function*() {
        for (const status of [500, 502, 503]) {
          openProxy.addRule({ method: "GET", path: /\/manifests\//, action: Fault.status(status) })
        }
        const result = yield* Registry.getManifest(`${openProxy.host}/faults/small:v1`)
        assert.strictEqual(result.digest, smallImage.digest)
        assert.deepStrictEqual(manifestGets(openProxy).map((e) => e.status), [500, 502, 503, 200])
        return `ok after 4 GETs (500, 502, 503, 200)`
      }).pipe(Effect.provide(openClient().layer))
  )

  scenario(
    "503 burst longer than the retry schedule (token auth)",
    "RegistryResponseError 503 after 4 attempts; no secret in the error",
    () =>
      Effect.gen(function*() {
        const { error: failure, failed } = yield* failEveryManifestGet(503)
        const error = expectTag(failure, "RegistryResponseError")
        assert.strictEqual(error.status, 503)
        assert.strictEqual(failed, attempts)
        assertNoSecrets(error)
        return `RegistryResponseError ${error.status} after ${failed} attempts`
      }).pipe(Effect.provide(tokenClient().layer))
  )

  scenario(
    "429 with Retry-After: 1 (seconds)",
    "waits ≥ 1 s, then succeeds",
    () =>
      Effect.gen(function*() {
        const at = arrivals(openProxy, /\/manifests\//)
        openProxy.addRule({
          method: "GET",
          path: /\/manifests\//,
          action: Fault.status(429, { headers: { "retry-after": "1" } })
        })
        const result = yield* Registry.getManifest(`${openProxy.host}/faults/small:v1`)
        assert.strictEqual(result.digest, smallImage.digest)
        assert.strictEqual(at.length, 2)
        const waited = at[1]! - at[0]!
        assert.isAtLeast(waited, 1000)
        return `ok: retried after ${waited} ms`
      }).pipe(Effect.provide(openClient().layer))
  )

  scenario(
    "429 with Retry-After as an HTTP-date",
    "waits until that date, then succeeds",
    () =>
      Effect.gen(function*() {
        const at = arrivals(openProxy, /\/manifests\//)
        let until = 0
        openProxy.addRule({
          method: "GET",
          path: /\/manifests\//,
          action: Fault.respond((_req, res) => {
            until = Math.ceil(Date.now() / 1000) * 1000 + 1000
            res.writeHead(429, { "retry-after": new Date(until).toUTCString(), "content-length": 0 })
            res.end()
          })
        })
        const result = yield* Registry.getManifest(`${openProxy.host}/faults/small:v1`)
        assert.strictEqual(result.digest, smallImage.digest)
        assert.strictEqual(at.length, 2)
        // the date has a resolution of a second; allow for timer granularity only
        assert.isAtLeast(at[1]!, until - 5, "retried before the date")
        return `ok: retried ${at[1]! - until} ms after the date (${at[1]! - at[0]!} ms after the 429)`
      }).pipe(Effect.provide(openClient().layer))
  )

  scenario(
    "429 with Retry-After: 3600 (beyond maxRetryAfter 300 ms)",
    "waits the cap, not an hour; succeeds",
    () =>
      Effect.gen(function*() {
        const at = arrivals(openProxy, /\/manifests\//)
        openProxy.addRule({
          method: "GET",
          path: /\/manifests\//,
          action: Fault.status(429, { headers: { "retry-after": "3600" } })
        })
        const result = yield* Registry.getManifest(`${openProxy.host}/faults/small:v1`)
        assert.strictEqual(result.digest, smallImage.digest)
        const waited = at[1]! - at[0]!
        assert.isAtLeast(waited, 300)
        assert.isBelow(waited, 3000)
        return `ok: retried after ${waited} ms`
      }).pipe(Effect.provide(openClient({ maxRetryAfter: "300 millis" }).layer))
  )

  scenario(
    "429 without Retry-After, once",
    "backoff, then success",
    () =>
      Effect.gen(function*() {
        const at = arrivals(openProxy, /\/manifests\//)
        openProxy.addRule({ method: "GET", path: /\/manifests\//, action: Fault.status(429) })
        const result = yield* Registry.getManifest(`${openProxy.host}/faults/small:v1`)
        assert.strictEqual(result.digest, smallImage.digest)
        assert.strictEqual(at.length, 2)
        return `ok: retried after ${at[1]! - at[0]!} ms of backoff`
      }).pipe(Effect.provide(openClient().layer))
  )

  scenario(
    "429 without Retry-After, persistent (token auth)",
    "RateLimited after 4 attempts; no secret in the error",
    () =>
      Effect.gen(function*() {
        const { error: failure, failed: limited } = yield* failEveryManifestGet(429)
        const error = expectTag(failure, "RateLimited")
        assert.isUndefined(error.retryAfterMillis)
        assert.strictEqual(limited, attempts)
        assertNoSecrets(error)
        return `RateLimited after ${limited} attempts`
      }).pipe(Effect.provide(tokenClient().layer))
  )

  // -------------------------------------------------------------------------------------------
  // redirects, ranges, stalls
  // -------------------------------------------------------------------------------------------

  scenario(
    "blob GET redirected to another origin (token auth)",
    "followed without Authorization; bytes verified",
    () =>
      Effect.gen(function*() {
        tokenProxy.addRule({
          name: "to storage",
          method: "GET",
          path: /\/blobs\/sha256:/,
          match: authed,
          action: Fault.redirect(`${origin.url}/storage/${blobDigest}?X-Signature=abc`, 307)
        })
        const got = yield* download(tokenProxy.host, "faults/app", blobDigest, blobBytes.length)
        assert.isTrue(got.equals(blobBytes))
        const redirected = tokenProxy.log().find((e) => e.fired === "to storage")
        assert.match(String(redirected?.requestHeaders["authorization"]), /^Bearer /, "there was a token to leak")
        const seen = origin.requests()
        assert.strictEqual(seen.length, 1)
        assert.isUndefined(seen[0]!.headers["authorization"], "no Authorization to the other origin")
        assert.isUndefined(seen[0]!.headers["cookie"])
        return `ok: ${fmtBytes(got.length)} verified; the other origin got ${seen.length} request, no Authorization`
      }).pipe(Effect.provide(tokenClient().layer))
  )

  scenario(
    "blob GET redirected with two Location headers",
    "InvalidResponse (several Location headers); neither location is followed",
    () => {
      const client = openClient()
      return Effect.gen(function*() {
        // a hostile server sends two locations to see which one a client picks; joined, the pair
        // still parses as one URL on the storage origin (which serves the blob by its prefix)
        openProxy.addRule({
          name: "two locations",
          method: "GET",
          path: /\/blobs\/sha256:/,
          action: Fault.respond((_req, res) => {
            res.setHeader("location", [`${origin.url}/storage/${blobDigest}`, `${origin.url}/elsewhere`])
            res.setHeader("content-length", "0")
            res.writeHead(307)
            res.end()
          })
        })
        const error = expectTag(
          yield* expectFailure(download(openProxy.host, "faults/blob", blobDigest, blobBytes.length)),
          "InvalidResponse"
        )
        assert.strictEqual(error.reason, "several Location headers")
        assert.strictEqual(origin.requests().length, 0, "nothing sent to either location")
        assert.isFalse(client.wire.some((w) => w.url.startsWith(origin.url)), "no request to the other origin")
        return `InvalidResponse (${error.reason}); nothing sent to either location`
      }).pipe(Effect.provide(client.layer))
    }
  )

  scenario(
    "blob GET redirected to 169.254.169.254",
    "InvalidResponse; nothing sent there",
    () => {
      const client = openClient()
      return Effect.gen(function*() {
        openProxy.addRule({
          method: "GET",
          path: /\/blobs\/sha256:/,
          action: Fault.redirect("http://169.254.169.254/latest/meta-data/iam/security-credentials/", 302)
        })
        const error = expectTag(
          yield* expectFailure(download(openProxy.host, "faults/blob", blobDigest, blobBytes.length)),
          "InvalidResponse"
        )
        assert.isFalse(
          client.wire.some((w) => w.url.includes("169.254.169.254")),
          "nothing sent to the metadata address"
        )
        return `InvalidResponse (${error.reason})`
      }).pipe(Effect.provide(client.layer))
    }
  )

  scenario(
    "Range request answered with 200 (after a reset)",
    "skips the bytes it has; whole blob verified once",
    () =>
      Effect.gen(function*() {
        openProxy.addRule({ method: "GET", path: /\/blobs\/sha256:/, action: Fault.resetResponseAfter(1_500_000) })
        openProxy.addRule({
          method: "GET",
          match: (r) => r.headers["range"] !== undefined,
          action: Fault.ignoreRange()
        })
        const got = yield* download(openProxy.host, "faults/blob", blobDigest, blobBytes.length)
        assert.isTrue(got.equals(blobBytes))
        const gets = blobGets(openProxy)
        assert.strictEqual(gets.length, 2)
        assert.strictEqual(gets[1]!.status, 200)
        return `ok: second GET answered 200, ${fmtBytes(got.length)} verified`
      }).pipe(Effect.provide(openClient().layer))
  )

  scenario(
    "stalled blob body (20 s pause after 500 kB)",
    "idle timeout (1 s), resumed; verified",
    () =>
      Effect.gen(function*() {
        openProxy.addRule({
          method: "GET",
          path: /\/blobs\/sha256:/,
          action: Fault.stallResponseAfter(500_000, 20_000)
        })
        const started = Date.now()
        const got = yield* download(openProxy.host, "faults/blob", blobDigest, blobBytes.length)
        const elapsed = Date.now() - started
        assert.isTrue(got.equals(blobBytes))
        assert.isBelow(elapsed, 10_000)
        assert.strictEqual(blobGets(openProxy).length, 2)
        return `ok: resumed after the idle timeout, ${fmtBytes(got.length)} verified in ${elapsed} ms`
      }).pipe(Effect.provide(openClient().layer))
  )

  // -------------------------------------------------------------------------------------------
  // tokens that stop working mid-copy
  // -------------------------------------------------------------------------------------------

  const copyWithBadToken = (kind: "expired" | "untrusted") =>
    Effect.gen(function*() {
      const repository = `faults/copy-${kind}`
      let armed = false
      // once the copy has read the source manifest with its token, the next token issued is bad
      tokenProxy.addRule({
        name: "arm",
        match: (r) => {
          if (!armed && authed(r)) {
            armed = true
            if (kind === "expired") tokens.issueExpired(1)
            else tokens.issueWithUntrustedKey(1)
          }
          return false
        },
        action: []
      })
      const result = yield* Image.copy(`${tokenProxy.host}/faults/src:v1`, `${tokenProxy2.host}/${repository}:v1`)
      assert.isTrue(armed, "the bad token was armed mid-copy")
      assert.strictEqual(result.digest, multiImage.digest)
      const rejected = [...tokenProxy.log(), ...tokenProxy2.log()].filter((e) =>
        e.upstreamStatus === 401 && String(e.requestHeaders["authorization"] ?? "").startsWith("Bearer ")
      )
      assert.isAtLeast(rejected.length, 1, "the registry refused the bad token")
      const bad = tokens.decode(String(rejected[0]!.requestHeaders["authorization"]).slice("Bearer ".length))
      if (kind === "expired") assert.isBelow(Number(bad.claims["exp"]), Date.now() / 1000, "the token was expired")
      else assert.strictEqual(bad.header["kid"], tokens.untrustedKeyId, "the token was signed by an untrusted key")
      const head = yield* Registry.headManifest(`${tokenProxy2.host}/${repository}:v1`)
      assert.strictEqual(head.digest, multiImage.digest)
      for (const bytes of multiImage.blobs) {
        const back = yield* download(tokenProxy2.host, repository, sha256(bytes), bytes.length)
        assert.isTrue(back.equals(bytes))
      }
      return `ok: ${rejected.length} request(s) with the ${kind} token answered 401, re-authenticated; ` +
        `digest equal, ${multiImage.blobs.length} blobs verified (${result.blobs.uploaded} uploaded)`
    }).pipe(Effect.provide(tokenClient().layer))

  scenario(
    "token expired mid-copy (Image.copy of a 3-layer image)",
    "re-authenticates; copy succeeds, digests equal",
    () => copyWithBadToken("expired")
  )

  scenario(
    "token revoked mid-copy (signed by an untrusted key)",
    "re-authenticates; copy succeeds, digests equal",
    () => copyWithBadToken("untrusted")
  )

  // -------------------------------------------------------------------------------------------
  // hostile WWW-Authenticate answers
  // -------------------------------------------------------------------------------------------

  const challenge401 = (proxy: FaultProxy, header: string) =>
    proxy.addRule({
      name: "hostile challenge",
      times: 50,
      action: Fault.status(401, {
        headers: { "www-authenticate": header, "content-type": "application/json" },
        body: "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}"
      })
    })

  const hostileRealm = (realm: string, withCredentials: boolean, why: RegExp) => {
    const client = withCredentials ? tokenClient() : openClient()
    return Effect.gen(function*() {
      const before = tokens.requests().length
      challenge401(tokenProxy, `Bearer realm="${realm}",service="evil",scope="repository:faults/src:pull"`)
      const error = expectTag(
        yield* expectFailure(Registry.getManifest(`${tokenProxy.host}/faults/src:v1`)),
        "AuthenticationError"
      )
      assert.strictEqual(error.reason, "InsecureTransport")
      assert.match(error.detail ?? "", why)
      const host = new URL(realm).host
      assert.isFalse(client.wire.some((w) => new URL(w.url).host === host), `nothing sent to ${host}`)
      assert.isTrue(client.wire.every((w) => !w.authorization), "no credentials sent anywhere")
      assert.strictEqual(tokens.requests().length, before)
      assertNoSecrets(error)
      return `AuthenticationError (${error.reason}); ${client.wire.length} request(s), none to ${host}`
    }).pipe(Effect.provide(client.layer))
  }

  scenario(
    "WWW-Authenticate realm on another host (https://evil.example/token), credentials configured",
    "AuthenticationError InsecureTransport; nothing sent there",
    () => hostileRealm("https://evil.example/token", true, /not on the registry's site/)
  )

  scenario(
    "WWW-Authenticate realm over plain http on a non-loopback host, credentials configured",
    "AuthenticationError InsecureTransport; nothing sent there",
    () => hostileRealm("http://auth.registry.example/token", true, /plain HTTP/)
  )

  scenario(
    "WWW-Authenticate realm http://169.254.169.254/… (anonymous)",
    "AuthenticationError InsecureTransport even anonymously; nothing sent there",
    () => hostileRealm("http://169.254.169.254/latest/meta-data/token", false, /link-local or metadata/)
  )

  scenario(
    "WWW-Authenticate with malformed quoting (9 variants), credentials configured",
    "no crash; typed AuthenticationError each time",
    () =>
      Effect.gen(function*() {
        const variants = [
          `Bearer realm="${tokens.realm}`,
          `Bearer realm="${tokens.realm}",service="${tokens.service}`,
          `Bearer realm=${tokens.realm}"",service"=x`,
          `Bearer realm="\\"", scope=","`,
          `Bearer ,,,, =, realm`,
          `"""""`,
          `Bearer realm="${"\\".repeat(5000)}`,
          `Basic realm="unterminated`,
          `Bearer realm="javascript:alert(1)"`
        ]
        const reasons: Array<string> = []
        for (const header of variants) {
          tokenProxy.clearRules()
          challenge401(tokenProxy, header)
          const client = tokenClient()
          const exit = yield* Effect.exit(
            Registry.getManifest(`${tokenProxy.host}/faults/src:v1`).pipe(Effect.provide(client.layer))
          )
          assert.isTrue(Exit.isFailure(exit), `${header.slice(0, 60)}: expected a failure`)
          if (Exit.isSuccess(exit)) continue
          assert.isFalse(Cause.isDie(exit.cause), `${header.slice(0, 60)}: a defect`)
          const error = Option.getOrThrow(Cause.failureOption(exit.cause))
          const typed = expectTag(error, "AuthenticationError")
          assert.isTrue(
            client.wire.every((w) => ["127.0.0.1"].includes(new URL(w.url).hostname)),
            "nothing left this machine"
          )
          assertNoSecrets(typed)
          reasons.push(typed.reason)
        }
        const counts = [...new Set(reasons)].map((r) => `${reasons.filter((x) => x === r).length}× ${r}`)
        return `${reasons.length}/${variants.length} AuthenticationError: ${counts.join(", ")}`
      })
  )

  // -------------------------------------------------------------------------------------------
  // huge bodies
  // -------------------------------------------------------------------------------------------

  const hugeManifest = (declareLength: boolean, note: (observed: string) => void) =>
    Effect.gen(function*() {
      openProxy.addRule({
        name: "huge",
        method: "GET",
        path: /\/manifests\//,
        action: Fault.respond(lazyBody({
          size: 100 * MiB,
          declareLength,
          headers: { "content-type": MediaType.ociManifest },
          prefix: "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"x\":\""
        }))
      })
      const started = Date.now()
      const error = expectTag(
        yield* expectFailure(Registry.getManifest(`${openProxy.host}/faults/small:v1`)),
        "InvalidManifest"
      )
      const elapsed = Date.now() - started
      assert.strictEqual(error.reason, "TooLarge")
      assert.isBelow(elapsed, 5000)
      // let whatever the server can still push settle in socket buffers before measuring
      yield* Effect.sleep("300 millis")
      const entry = openProxy.log().find((e) => e.fired === "huge")!
      const sent = entry.responseBytes
      note(`InvalidManifest (${error.reason}) in ${elapsed} ms, ${fmtBytes(sent)} written, connection ${entry.state}`)
      assert.isBelow(sent, 16 * MiB, "the client stopped reading early")
      assert.notStrictEqual(
        entry.state,
        "open",
        "the client released the connection instead of leaving the body pending"
      )
      return `InvalidManifest (${error.reason}) in ${elapsed} ms; the server got to write ${
        fmtBytes(sent)
      } of 100 MiB; connection ${entry.state}`
    }).pipe(Effect.provide(openClient().layer))

  scenario(
    "100 MiB \"manifest\" with Content-Length",
    "InvalidManifest TooLarge at once; body not read, connection released",
    (note) => hugeManifest(true, note)
  )

  scenario(
    "100 MiB \"manifest\" streamed without Content-Length",
    "InvalidManifest TooLarge after 4 MiB; stops reading, connection released",
    (note) => hugeManifest(false, note)
  )

  const errorBody = (status: 500 | 404, body: string) =>
    Effect.gen(function*() {
      tokenProxy.addRule({
        method: "GET",
        path: /\/manifests\//,
        match: authed,
        times: 20,
        action: Fault.status(status, { body, headers: { "content-type": "application/json" } })
      })
      const error = yield* expectFailure(Registry.getManifest(`${tokenProxy.host}/faults/src:v1`))
      expectTag(error, status === 404 ? "NotFound" : "RegistryResponseError")
      assert.isBelow(error.message.length, 2000, "the message is bounded")
      assertNoSecrets(error)
      return `${error._tag}${"status" in error ? ` ${error.status}` : ""}; message ${error.message.length} chars`
    }).pipe(Effect.provide(tokenClient().layer))

  const oneMiB = (json: string) => json + " ".repeat(Math.max(0, MiB - json.length))

  scenario(
    "1 MiB error body on a 500 (one huge message, token auth)",
    "RegistryResponseError 500; message < 2000 chars",
    () => errorBody(500, JSON.stringify({ errors: [{ code: "UNKNOWN", message: "x".repeat(MiB) }] }))
  )

  scenario(
    "1 MiB error body on a 404 (token auth)",
    "NotFound; message < 2000 chars",
    () => errorBody(404, JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "y".repeat(MiB) }] }))
  )

  scenario(
    "1 MiB error body on a 500 (valid JSON, 40 long entries, padded; token auth)",
    "RegistryResponseError 500; message < 2000 chars",
    () =>
      errorBody(
        500,
        oneMiB(JSON.stringify({
          errors: Array.from({ length: 40 }, (_, i) => ({ code: `CODE_${i}`, message: "z".repeat(1000) }))
        }))
      )
  )

  // -------------------------------------------------------------------------------------------
  // headers
  // -------------------------------------------------------------------------------------------

  scenario(
    "Link header on tags/list pointing at another host (token auth)",
    "InvalidResponse; nothing sent to the other host",
    () => {
      const client = tokenClient()
      return Effect.gen(function*() {
        tokenProxy.addRule({
          method: "GET",
          path: /\/tags\/list$/,
          match: authed,
          action: Fault.mapResponseHeaders((headers) => ({
            ...headers,
            link: `<${origin.url}/v2/faults/src/tags/list?n=1&last=v1>; rel="next"`
          }))
        })
        const error = expectTag(
          yield* expectFailure(Registry.listAllTags(`${tokenProxy.host}/faults/src`)),
          "InvalidResponse"
        )
        assert.strictEqual(origin.requests().length, 0, "the other host got nothing")
        assert.isFalse(client.wire.some((w) => w.url.startsWith(origin.url)))
        assertNoSecrets(error)
        return `InvalidResponse (${error.reason.replace(/\/\/[^/]+\//, "//<other>/")})`
      }).pipe(Effect.provide(client.layer))
    }
  )

  scenario(
    "Warning: 299 on every response (added by the proxy)",
    "in client.warnings once, logged once",
    () => {
      const text = "faults: this registry is deprecated, move to registry.example"
      const logged: Array<string> = []
      const logger = Logger.make(({ message }) => {
        logged.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
      })
      return Effect.gen(function*() {
        openProxy.addRule({
          times: 1000,
          action: Fault.mapResponseHeaders((headers) => ({ ...headers, warning: `299 - "${text}", 299 - "${text}"` }))
        })
        const first = yield* Registry.getManifest(`${openProxy.host}/faults/small:v1`)
        yield* Registry.headManifest(`${openProxy.host}/faults/small:v1`)
        yield* Registry.getManifest(`${openProxy.host}/faults/small@${first.digest}`)
        const got = yield* download(openProxy.host, "faults/blob", blobDigest, blobBytes.length)
        assert.isTrue(got.equals(blobBytes))
        const client = yield* RegistryClient.RegistryClient
        const warnings = yield* client.warnings
        assert.deepStrictEqual(warnings, [text])
        const times = logged.filter((line) => line.includes(text)).length
        assert.strictEqual(times, 1)
        const responses = openProxy.log().length
        return `ok: ${responses} responses carried it; warnings = [1 text], logged ${times}×`
      }).pipe(Effect.provide(Layer.merge(openClient().layer, Logger.replace(Logger.defaultLogger, logger))))
    }
  )

  scenario(
    "no secret in any error of the token-auth scenarios",
    "password, Basic value and every Bearer token absent from message and JSON",
    () =>
      Effect.sync(() => {
        harvestSecrets()
        const bearers = [...secrets].filter((s) => s.startsWith("Bearer ")).length
        assert.isAtLeast(tokenAuthErrors.length, 10)
        assert.isAtLeast(bearers, 1)
        for (const error of tokenAuthErrors) {
          for (const text of [error.message, JSON.stringify(error)]) {
            for (const secret of secrets) assert.notInclude(text, secret)
          }
        }
        return `ok: ${tokenAuthErrors.length} errors × ${secrets.size} secrets (${bearers} Bearer values) checked`
      })
  )
})
