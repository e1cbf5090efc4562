/**
 * Hostile input fuzzing (issue 17) of the parsers that read the network: manifests and indexes,
 * `WWW-Authenticate`, `Link`, `Retry-After`, `Content-Range`, `Content-Length`, `Range`, and token
 * JSON. Each property feeds fast-check's random (and adversarial) inputs and checks that the
 * parser answers with a value or a typed error: it never throws, never hangs (inputs of
 * megabytes have a time bound), and never accepts what the format forbids (a negative size).
 */
import { assert, describe, it } from "@effect/vitest"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Manifest from "@ocireg/core/Manifest"
import * as Registry from "@ocireg/core/Registry"
import { isRegistryError } from "@ocireg/core/RegistryError"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as fc from "fast-check"
import { parseChallenges } from "../../src/internal/challenge.js"
import {
  parseContentLength,
  parseContentRange,
  parseLinkNext,
  parseRange,
  parseRetryAfter
} from "../../src/internal/headers.js"
import { fakeRegistry, json, sha256Hex } from "../support/fakeRegistry.js"

const runs = Number(process.env.OCIREG_FUZZ_RUNS ?? 300)
const encoder = new TextEncoder()
const digestOf = (s: string) => `sha256:${sha256Hex(s)}`

/** Runs `f` and fails if it took longer than `ms` (a generous bound: quadratic parsers blow it). */
const within = <A>(ms: number, f: () => A): A => {
  const started = performance.now()
  const out = f()
  const took = performance.now() - started
  assert.isBelow(took, ms, `took ${took.toFixed(0)} ms`)
  return out
}

const mediaTypes = fc.constantFrom(
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
  "application/x-unknown",
  "",
  "text/html"
)

const sizes = fc.oneof(
  fc.integer({ min: 0, max: 10_000 }),
  fc.integer({ min: -1_000_000, max: -1 }),
  fc.constantFrom(2 ** 53, 2 ** 63, 1e308, -0, 0.5, -1.5, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2)
)

const descriptor = fc.record({
  mediaType: fc.oneof(mediaTypes, fc.string()),
  digest: fc.oneof(
    fc.constant(digestOf("x")),
    fc.string(),
    fc.constantFrom("sha256:../../etc/passwd", "/etc/passwd", "sha256:", "md5:abc")
  ),
  size: sizes
}, { requiredKeys: ["digest", "size"] })

const manifestLike = fc.record({
  schemaVersion: fc.oneof(fc.constant(2), fc.integer(), fc.string()),
  mediaType: mediaTypes,
  config: descriptor,
  layers: fc.array(descriptor, { maxLength: 5 }),
  manifests: fc.array(descriptor, { maxLength: 5 }),
  annotations: fc.dictionary(fc.string(), fc.string(), { maxKeys: 5 })
}, { requiredKeys: [] })

const decodes = (bytes: Uint8Array, contentType?: string) => {
  const result = Manifest.decode(bytes, contentType)
  if (Either.isLeft(result)) {
    assert.strictEqual(result.left._tag, "InvalidManifest")
    assert.isString(result.left.message)
  }
  return result
}

describe("fuzz: manifests and indexes", () => {
  it("any JSON value, any content type: a manifest or InvalidManifest, never a throw", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.option(mediaTypes, { nil: undefined }), (value, contentType) => {
        decodes(encoder.encode(JSON.stringify(value)), contentType)
      }),
      { numRuns: runs }
    )
  })

  it("any bytes: a manifest or InvalidManifest, never a throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        decodes(bytes)
      }),
      { numRuns: runs }
    )
  })

  it("manifest-shaped documents with hostile sizes, digests and media types: every size accepted is a safe integer >= 0", () => {
    fc.assert(
      fc.property(manifestLike, fc.option(mediaTypes, { nil: undefined }), (doc, contentType) => {
        const result = decodes(encoder.encode(JSON.stringify(doc)), contentType)
        if (Either.isRight(result)) {
          for (const d of Manifest.descriptors(result.right)) {
            assert.isTrue(Number.isSafeInteger(d.size) && d.size >= 0, `size ${d.size} accepted`)
            assert.match(d.digest, /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/, `digest ${d.digest} accepted`)
          }
        }
      }),
      { numRuns: runs }
    )
  })

  it("deeply nested JSON (100 000 levels) is refused, not a stack overflow", () => {
    for (const [open, close] of [["[", "]"], ["{\"a\":", "}"]] as const) {
      const deep = `${open.repeat(100_000)}1${close.repeat(100_000)}`
      const result = within(5_000, () => decodes(encoder.encode(deep)))
      assert.isTrue(Either.isLeft(result))
      const truncated = within(5_000, () => decodes(encoder.encode(open.repeat(100_000))))
      assert.isTrue(Either.isLeft(truncated))
    }
  })

  it("10 MB of annotations decode in bounded time (the size limit is the client's job)", () => {
    const annotations: Record<string, string> = {}
    for (let i = 0; i < 10; i++) annotations[`k${i}`] = "x".repeat(1024 * 1024)
    const doc = {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [],
      annotations
    }
    const result = within(10_000, () => decodes(encoder.encode(JSON.stringify(doc))))
    assert.isTrue(Either.isRight(result))
  })

  it.effect("a 10 MB manifest from a registry is refused with InvalidManifest TooLarge", () =>
    Effect.gen(function*() {
      const big = JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [],
        annotations: { a: "x".repeat(10 * 1024 * 1024) }
      })
      const { layer } = fakeRegistry(() =>
        new Response(big, { headers: { "content-type": "application/vnd.oci.image.index.v1+json" } })
      )
      const error = yield* Effect.flip(Registry.getManifest("registry.test/fuzz/app:v1").pipe(Effect.provide(layer)))
      assert.strictEqual(error._tag, "InvalidManifest")
      if (error._tag === "InvalidManifest") assert.strictEqual(error.reason, "TooLarge")
    }))
})

/** Strings built from the characters that matter to header grammars, plus anything. */
const headerish = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.array(
    fc.constantFrom(
      "Bearer",
      "Basic",
      "realm",
      "service",
      "scope",
      "error",
      "=",
      "\"",
      "\\",
      ",",
      ";",
      " ",
      "\t",
      "<",
      ">",
      "rel",
      "next",
      "http://127.0.0.1/v2/_catalog?n=1",
      "/v2/x/tags/list?last=a",
      "\u0000",
      "é",
      "%",
      "'"
    ),
    { maxLength: 60 }
  ).map((parts) => parts.join(""))
)

describe("fuzz: headers", () => {
  it("WWW-Authenticate: challenges or nothing, never a throw; params are strings", () => {
    fc.assert(
      fc.property(headerish, (header) => {
        const challenges = parseChallenges(header)
        for (const c of challenges) {
          assert.isString(c.scheme)
          for (const value of Object.values(c.params)) assert.isString(value)
        }
      }),
      { numRuns: runs * 3 }
    )
  })

  it("WWW-Authenticate of megabytes (unterminated quotes, endless params) parses in linear time", () => {
    for (
      const header of [
        `Bearer realm="${"a".repeat(1_000_000)}`,
        `Bearer ${"a=\"b\",".repeat(200_000)}`,
        `Bearer ${"\\\"".repeat(500_000)}`,
        ",".repeat(1_000_000),
        `${"Bearer ".repeat(200_000)}`
      ]
    ) within(5_000, () => parseChallenges(header))
  })

  it("Link: a URL or undefined, never a throw", () => {
    fc.assert(
      fc.property(headerish, (header) => {
        const next = parseLinkNext(header, "http://127.0.0.1:5000/v2/_catalog")
        if (next !== undefined) assert.doesNotThrow(() => new URL(next))
      }),
      { numRuns: runs * 3 }
    )
    within(5_000, () => parseLinkNext(`<${"a".repeat(1_000_000)}`, "http://127.0.0.1/"))
    within(5_000, () => parseLinkNext("<a>; ".repeat(200_000), "http://127.0.0.1/"))
  })

  it("Retry-After, Content-Range, Content-Length, Range: finite non-negative numbers or undefined", () => {
    const numbers = fc.oneof(
      headerish,
      fc.integer().map(String),
      fc.constantFrom("1e309", "-1", "NaN", "Infinity", "0x10", " 5 ", "99999999999999999999", "1.5", "")
    )
    fc.assert(
      fc.property(numbers, (value) => {
        const retry = parseRetryAfter(value, Date.now())
        if (retry !== undefined) assert.isTrue(Number.isFinite(retry) && retry >= 0, `Retry-After ${retry}`)
        const length = parseContentLength(value)
        if (length !== undefined) assert.isTrue(Number.isSafeInteger(length) && length >= 0, `length ${length}`)
        const range = parseRange(value)
        if (range !== undefined) assert.isTrue(Number.isSafeInteger(range) && range >= 0, `range ${range}`)
        const contentRange = parseContentRange(`bytes ${value}`)
        if (contentRange !== undefined) {
          assert.isTrue(Number.isSafeInteger(contentRange.start) && contentRange.start >= 0)
        }
      }),
      { numRuns: runs * 3 }
    )
  })
})

describe("fuzz: token JSON", () => {
  const body = fc.oneof(
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 100 }),
    fc.record({
      token: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
      access_token: fc.oneof(fc.string(), fc.constant(null)),
      expires_in: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)),
      issued_at: fc.oneof(fc.string(), fc.integer())
    }, { requiredKeys: [] }).map((v) => JSON.stringify(v))
  )

  it("any token answer: the operation succeeds or fails with a typed error that shows no credential", async () => {
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: []
    })
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom(200, 400, 401, 500), async (tokenBody, status) => {
        const { layer } = fakeRegistry(
          (request) => {
            if (request.url.pathname === "/token") {
              return new Response(tokenBody, { status, headers: { "content-type": "application/json" } })
            }
            if (request.headers["authorization"]?.startsWith("Bearer ")) {
              return new Response(manifest, {
                headers: {
                  "content-type": "application/vnd.oci.image.index.v1+json",
                  "docker-content-digest": digestOf(manifest)
                }
              })
            }
            return json({ errors: [{ code: "UNAUTHORIZED" }] }, {
              status: 401,
              headers: { "www-authenticate": "Bearer realm=\"https://registry.test/token\",service=\"registry.test\"" }
            })
          },
          {
            credentials: { "registry.test": CredentialStore.basic("alice", Redacted.make("fuzz-secret-pw")) },
            client: { retrySchedule: Schedule.stop }
          }
        )
        const exit = await Effect.runPromiseExit(
          Registry.getManifest("registry.test/fuzz/app:v1").pipe(Effect.provide(layer))
        )
        if (Exit.isFailure(exit)) {
          const failure = Cause.failureOption(exit.cause)
          assert.isTrue(Option.isSome(failure) && isRegistryError(failure.value), Cause.pretty(exit.cause))
          if (Option.isSome(failure)) {
            const text = `${(failure.value as Error).message} ${JSON.stringify(failure.value)}`
            assert.notInclude(text, "fuzz-secret-pw")
          }
        }
      }),
      { numRuns: Math.min(runs, 100) }
    )
  }, 120_000)
})
