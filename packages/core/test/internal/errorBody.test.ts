import { assert, describe, it } from "@effect/vitest"
import { errorCodes, maxErrorEntries, maxMessageLength, parseErrorBody } from "../../src/internal/errorBody.js"
import { ErrorDetail } from "../../src/RegistryError.js"

const bytes = (text: string) => new TextEncoder().encode(text)
const json = (value: unknown) => bytes(JSON.stringify(value))

describe("parseErrorBody", () => {
  it("distribution's MANIFEST_UNKNOWN", () => {
    const details = parseErrorBody(json({
      errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown", detail: { Tag: "nope" } }]
    }))
    assert.strictEqual(details.length, 1)
    assert.instanceOf(details[0], ErrorDetail)
    assert.strictEqual(details[0]!.code, "MANIFEST_UNKNOWN")
    assert.strictEqual(details[0]!.message, "manifest unknown")
    assert.deepStrictEqual(details[0]!.detail, { Tag: "nope" })
  })

  it("Docker Hub's UNAUTHORIZED with a detail array, unknown fields ignored", () => {
    const details = parseErrorBody(json({
      errors: [{
        code: "UNAUTHORIZED",
        message: "authentication required",
        detail: [{ Type: "repository", Class: "", Name: "library/nope", Action: "pull" }],
        extra: true
      }],
      other: 1
    }))
    assert.deepStrictEqual(errorCodes(details), ["UNAUTHORIZED"])
    assert.isArray(details[0]!.detail)
    assert.notProperty(details[0]!, "extra")
  })

  it("several entries, missing message and detail", () => {
    const details = parseErrorBody(json({
      errors: [{ code: "BLOB_UNKNOWN", message: "blob unknown", detail: "sha256:abc" }, { code: "DENIED" }]
    }))
    assert.deepStrictEqual(errorCodes(details), ["BLOB_UNKNOWN", "DENIED"])
    assert.strictEqual(details[1]!.message, "")
    assert.strictEqual(details[1]!.detail, undefined)
    assert.isFalse("detail" in details[1]!)
  })

  it("entries without a string code are skipped; a non-string message becomes empty", () => {
    const details = parseErrorBody(json({
      errors: [null, 1, "x", { message: "no code" }, { code: 42 }, { code: "TOOMANYREQUESTS", message: null }]
    }))
    assert.deepStrictEqual(errorCodes(details), ["TOOMANYREQUESTS"])
    assert.strictEqual(details[0]!.message, "")
  })

  it("keeps at most 20 entries", () => {
    const errors = Array.from({ length: 10_000 }, (_, i) => ({ code: `C${i}`, message: "m" }))
    const details = parseErrorBody(json({ errors }))
    assert.strictEqual(maxErrorEntries, 20)
    assert.strictEqual(details.length, 20)
    assert.strictEqual(details[19]!.code, "C19")
  })

  it("truncates messages to 500 characters", () => {
    const details = parseErrorBody(json({ errors: [{ code: "UNKNOWN", message: "x".repeat(100_000) }] }))
    assert.strictEqual(maxMessageLength, 500)
    assert.strictEqual(details[0]!.message.length, 500)
    assert.isTrue(details[0]!.message.endsWith("…"))
    const exact = parseErrorBody(json({ errors: [{ code: "UNKNOWN", message: "y".repeat(500) }] }))
    assert.strictEqual(exact[0]!.message, "y".repeat(500))
  })

  it("does not split a surrogate pair when truncating", () => {
    const message = "a".repeat(498) + "😀".repeat(10)
    const [detail] = parseErrorBody(json({ errors: [{ code: "UNKNOWN", message }] }))
    assert.strictEqual(detail!.message, "a".repeat(498) + "…")
  })

  const empty: ReadonlyArray<readonly [string, Uint8Array]> = [
    ["empty body", new Uint8Array()],
    ["HTML error page", bytes("<html><body><h1>502 Bad Gateway</h1></body></html>")],
    ["plain text", bytes("404 page not found\n")],
    ["truncated JSON", bytes(`{"errors":[{"code":"DENIED"`)],
    ["JSON of another shape", json({ error: "invalid_token", details: "expired" })],
    ["errors not an array", json({ errors: { code: "DENIED" } })],
    ["JSON null", bytes("null")],
    ["JSON array", json([{ code: "DENIED" }])],
    ["invalid UTF-8", new Uint8Array([0xff, 0xfe, 0x7b, 0x00, 0xc3])]
  ]
  for (const [name, body] of empty) {
    it(`${name} → []`, () => {
      assert.deepStrictEqual(parseErrorBody(body), [])
    })
  }

  it("a UTF-8 BOM is tolerated", () => {
    const body = new Uint8Array([0xef, 0xbb, 0xbf, ...json({ errors: [{ code: "DENIED", message: "denied" }] })])
    assert.deepStrictEqual(errorCodes(parseErrorBody(body)), ["DENIED"])
  })
})

describe("errorCodes", () => {
  it("lists codes in order", () => {
    assert.deepStrictEqual(errorCodes([]), [])
    assert.deepStrictEqual(
      errorCodes([new ErrorDetail({ code: "NAME_UNKNOWN" }), new ErrorDetail({ code: "DENIED", message: "x" })]),
      ["NAME_UNKNOWN", "DENIED"]
    )
  })
})
