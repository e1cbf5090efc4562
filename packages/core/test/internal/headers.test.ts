import { assert, describe, it } from "@effect/vitest"
import {
  normalizeContentType,
  parseContentLength,
  parseContentRange,
  parseHttpDate,
  parseLinkNext,
  parseRange,
  parseRateLimit,
  parseRetryAfter,
  uploadOffset
} from "../../src/internal/headers.js"

describe("parseLinkNext", () => {
  const base = "https://registry.example.com/v2/library/alpine/tags/list?n=2"
  const table: ReadonlyArray<readonly [string, string | undefined, string | undefined]> = [
    [
      "distribution's relative link",
      `</v2/library/alpine/tags/list?last=3.19&n=2>; rel="next"`,
      "https://registry.example.com/v2/library/alpine/tags/list?last=3.19&n=2"
    ],
    [
      "catalog link",
      `</v2/_catalog?last=b%2Fc&n=100>; rel="next"`,
      "https://registry.example.com/v2/_catalog?last=b%2Fc&n=100"
    ],
    [
      "absolute link (GHCR style)",
      `<https://ghcr.io/v2/owner/img/tags/list?last=v1&n=0>; rel="next"`,
      "https://ghcr.io/v2/owner/img/tags/list?last=v1&n=0"
    ],
    ["unquoted rel", `</v2/x?last=a>; rel=next`, "https://registry.example.com/v2/x?last=a"],
    ["rel with several values", `</v2/x?last=a>; rel="last next"`, "https://registry.example.com/v2/x?last=a"],
    ["rel in upper case, no spaces", `</v2/x?last=a>;REL="NEXT"`, "https://registry.example.com/v2/x?last=a"],
    [
      "several links, next not first",
      `</v2/x?page=1>; rel="first", </v2/x?page=3>; title="a, b; c"; rel="next", </v2/x?page=9>; rel="last"`,
      "https://registry.example.com/v2/x?page=3"
    ],
    [
      "other parameters around rel",
      `</v2/x?p=2>; type="text/html"; rel="next"; hreflang=en`,
      "https://registry.example.com/v2/x?p=2"
    ],
    ["the first rel counts", `</v2/x?p=2>; rel="prev"; rel="next"`, undefined],
    [
      "query kept verbatim",
      `</v2/x?last=a%20b&n=1&x=%7E>; rel="next"`,
      "https://registry.example.com/v2/x?last=a%20b&n=1&x=%7E"
    ],
    [
      "relative path without leading slash",
      `<list?last=z>; rel="next"`,
      "https://registry.example.com/v2/library/alpine/tags/list?last=z"
    ],
    ["no next link", `</v2/x?p=1>; rel="prev"`, undefined],
    ["missing <>", `/v2/x?last=a; rel="next"`, undefined],
    ["unterminated <", `</v2/x?last=a; rel="next"`, undefined],
    ["unterminated quote", `</v2/x>; rel="next`, undefined],
    ["empty target", `<>; rel="next"`, undefined],
    ["malformed element skipped", `garbage, </v2/x?p=2>; rel="next"`, "https://registry.example.com/v2/x?p=2"],
    ["absent", undefined, undefined],
    ["empty", "", undefined]
  ]
  for (const [name, header, expected] of table) {
    it(name, () => {
      assert.strictEqual(parseLinkNext(header, base), expected)
    })
  }

  it("an invalid base gives undefined", () => {
    assert.strictEqual(parseLinkNext(`</v2/x>; rel="next"`, "not a url"), undefined)
  })

  it("hostile inputs finish fast", () => {
    const start = performance.now()
    parseLinkNext(",".repeat(100_000), base)
    parseLinkNext("<".repeat(100_000), base)
    parseLinkNext(`</a>${"; x=y".repeat(50_000)}`, base)
    parseLinkNext(`</a>; rel="${"\\\"".repeat(50_000)}`, base)
    parseLinkNext(`${"</a>; rel=prev, ".repeat(20_000)}</b>; rel=next`, base)
    assert.isBelow(performance.now() - start, 1000)
  })
})

describe("parseRetryAfter", () => {
  const now = Date.UTC(2024, 0, 1, 0, 0, 0)
  const table: ReadonlyArray<readonly [string, string | undefined, number | undefined]> = [
    ["delta-seconds", "120", 120_000],
    ["zero", "0", 0],
    ["surrounding whitespace", "  5 ", 5_000],
    ["IMF-fixdate", "Mon, 01 Jan 2024 00:01:00 GMT", 60_000],
    ["RFC 850", "Monday, 01-Jan-24 00:00:30 GMT", 30_000],
    ["asctime", "Mon Jan  1 00:00:10 2024", 10_000],
    ["date in the past", "Sun, 06 Nov 1994 08:49:37 GMT", 0],
    ["negative", "-5", undefined],
    ["fraction", "1.5", undefined],
    ["exponent", "1e3", undefined],
    ["garbage", "soon", undefined],
    ["loose date Date.parse would accept", "2024-01-01T00:01:00Z", undefined],
    ["number Date.parse would read as a year", "1 2", undefined],
    ["31 February", "Sat, 31 Feb 2024 00:00:00 GMT", undefined],
    ["too large", "9".repeat(400), undefined],
    ["absent", undefined, undefined],
    ["empty", "", undefined]
  ]
  for (const [name, value, expected] of table) {
    it(name, () => {
      assert.strictEqual(parseRetryAfter(value, now), expected)
    })
  }

  it("RFC 850 two-digit years more than 50 years ahead are the previous century", () => {
    assert.strictEqual(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT", now), Date.UTC(1994, 10, 6, 8, 49, 37))
    assert.strictEqual(parseHttpDate("Tuesday, 01-Jan-80 00:00:00 GMT", now), Date.UTC(1980, 0, 1))
    assert.strictEqual(parseHttpDate("Tuesday, 01-Jan-70 00:00:00 GMT", now), Date.UTC(2070, 0, 1))
    assert.strictEqual(parseHttpDate("Friday, 01-Jan-2024 00:00:00 GMT", now), undefined)
  })
})

describe("parseRateLimit", () => {
  it("Docker Hub", () => {
    assert.deepStrictEqual(
      parseRateLimit({
        "ratelimit-limit": "100;w=21600",
        "ratelimit-remaining": "76;w=21600",
        "docker-ratelimit-source": "1.2.3.4"
      }),
      { limit: 100, remaining: 76, windowSeconds: 21600 }
    )
  })

  it("plain numbers and case-insensitive names", () => {
    assert.deepStrictEqual(parseRateLimit({ "RateLimit-Limit": "200", "RateLimit-Remaining": "0" }), {
      limit: 200,
      remaining: 0
    })
  })

  it("only one header; a quota-policy list", () => {
    assert.deepStrictEqual(parseRateLimit({ "ratelimit-remaining": "3;w=60" }), { remaining: 3, windowSeconds: 60 })
    assert.deepStrictEqual(parseRateLimit({ "ratelimit-limit": "10, 10;w=1, 50;w=60" }), {
      limit: 10,
      windowSeconds: 1
    })
  })

  it("absent or garbage", () => {
    assert.strictEqual(parseRateLimit({}), undefined)
    assert.strictEqual(parseRateLimit({ "content-type": "text/plain" }), undefined)
    assert.strictEqual(parseRateLimit({ "ratelimit-limit": "lots", "ratelimit-remaining": "-1" }), undefined)
  })
})

describe("parseContentRange", () => {
  const table: ReadonlyArray<readonly [string, string | undefined, unknown]> = [
    ["with total", "bytes 0-1023/4096", { start: 0, end: 1023, total: 4096 }],
    ["unknown total", "bytes 100-199/*", { start: 100, end: 199 }],
    ["upper-case unit, extra spaces", "  BYTES   5-5/6 ", { start: 5, end: 5, total: 6 }],
    ["unsatisfied range", "bytes */4096", undefined],
    ["end before start", "bytes 10-5/100", undefined],
    ["end beyond total", "bytes 0-100/100", undefined],
    ["other unit", "items 0-1/2", undefined],
    ["no unit", "0-1/2", undefined],
    ["negative", "bytes -1-5/10", undefined],
    ["absent", undefined, undefined]
  ]
  for (const [name, value, expected] of table) {
    it(name, () => {
      assert.deepStrictEqual(parseContentRange(value), expected)
    })
  }
})

describe("parseRange (upload status)", () => {
  const table: ReadonlyArray<readonly [string, string | undefined, number | undefined]> = [
    ["distribution after a chunk", "0-1234", 1235],
    ["OCI spec / Quay form", "bytes=0-1234", 1235],
    ["upper-case prefix, whitespace", " Bytes=0-9 ", 10],
    ["0-0 read literally (one byte)", "0-0", 1],
    ["empty session as 0--1 (Quay, go-containerregistry, olareg)", "0--1", 0],
    ["empty session as bytes=0--1", "bytes=0--1", 0],
    ["range not starting at 0", "5-10", undefined],
    ["-1 only", "-1", undefined],
    ["missing end", "0-", undefined],
    ["spaces inside", "0 - 5", undefined],
    ["Content-Range form", "bytes 0-5/6", undefined],
    ["several ranges", "0-5,7-9", undefined],
    ["beyond safe integers", `0-${"9".repeat(20)}`, undefined],
    ["absent", undefined, undefined]
  ]
  for (const [name, value, expected] of table) {
    it(name, () => {
      assert.strictEqual(parseRange(value), expected)
    })
  }

  it("uploadOffset reads 0-0 as empty when nothing was sent", () => {
    assert.strictEqual(uploadOffset("0-0", 0), 0)
    assert.strictEqual(uploadOffset("0-0", 1), 1)
    assert.strictEqual(uploadOffset("0-1234", 1235), 1235)
    assert.strictEqual(uploadOffset("0--1", 0), 0)
    assert.strictEqual(uploadOffset(undefined, 0), undefined)
  })
})

describe("parseContentLength", () => {
  const table: ReadonlyArray<readonly [string | undefined, number | undefined]> = [
    ["0", 0],
    ["1234", 1234],
    [" 12 ", 12],
    ["42, 42", 42],
    ["42, 43", undefined],
    ["-1", undefined],
    ["1e3", undefined],
    ["  12x", undefined],
    ["0x10", undefined],
    ["", undefined],
    ["9007199254740993", undefined],
    [undefined, undefined]
  ]
  for (const [value, expected] of table) {
    it(`${JSON.stringify(value)} → ${expected}`, () => {
      assert.strictEqual(parseContentLength(value), expected)
    })
  }
})

describe("normalizeContentType", () => {
  it("drops parameters, trims and lower-cases", () => {
    assert.strictEqual(
      normalizeContentType(" Application/VND.OCI.Image.Manifest.v1+JSON ; charset=utf-8"),
      "application/vnd.oci.image.manifest.v1+json"
    )
    assert.strictEqual(normalizeContentType("application/json"), "application/json")
    assert.strictEqual(normalizeContentType("application/json, application/json"), "application/json")
    assert.strictEqual(normalizeContentType("  ; charset=utf-8"), undefined)
    assert.strictEqual(normalizeContentType(undefined), undefined)
  })
})
