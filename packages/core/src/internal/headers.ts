/**
 * Pure parsers for the response headers the registry client reads: `Link` (pagination),
 * `Retry-After`, Docker Hub's `RateLimit-*`, `Content-Range`, the upload-status `Range`,
 * `Content-Length` and `Content-Type`.
 *
 * Every function is total: malformed input gives `undefined`, never an exception. Scanning is
 * linear; the only regular expressions are anchored and free of nested quantifiers.
 *
 * @internal
 */
import { readQuoted } from "./challenge.js"

const TAB = 9
const SPACE = 32
const QUOTE = 34
const COMMA = 44
const SEMICOLON = 59
const LESS = 60
const EQUALS = 61
const GREATER = 62
const BACKSLASH = 92

const isWhitespace = (c: number): boolean => c === SPACE || c === TAB

const skipWhitespace = (s: string, i: number): number => {
  while (i < s.length && isWhitespace(s.charCodeAt(i))) i++
  return i
}

const isDigits = (s: string): boolean => {
  if (s.length === 0) return false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return false
  }
  return true
}

/** A string of ASCII digits as a safe integer, else `undefined`. */
const parseNonNegativeInteger = (s: string): number | undefined => {
  if (!isDigits(s)) return undefined
  const n = Number(s)
  return Number.isSafeInteger(n) ? n : undefined
}

// ---------------------------------------------------------------------------------------------
// Link (RFC 8288)
// ---------------------------------------------------------------------------------------------

/** Skips to the next comma outside quoted strings and `<...>` (or the end). */
const skipLinkValue = (s: string, i: number): number => {
  let quoted = false
  let bracketed = false
  while (i < s.length) {
    const c = s.charCodeAt(i)
    if (quoted) {
      if (c === BACKSLASH) i++
      else if (c === QUOTE) quoted = false
    } else if (bracketed) {
      if (c === GREATER) bracketed = false
    } else if (c === QUOTE) {
      quoted = true
    } else if (c === LESS) {
      bracketed = true
    } else if (c === COMMA) {
      return i
    }
    i++
  }
  return s.length
}

/** A parameter value (quoted string or bare up to `;`/`,`) starting at `i`. */
const readParamValue = (s: string, i: number): { readonly value: string; readonly end: number } | undefined => {
  if (i < s.length && s.charCodeAt(i) === QUOTE) return readQuoted(s, i)
  let j = i
  while (j < s.length) {
    const c = s.charCodeAt(j)
    if (c === SEMICOLON || c === COMMA) break
    j++
  }
  return { value: s.slice(i, j).trim(), end: j }
}

const hasNextRelation = (rel: string): boolean => {
  for (const relation of rel.split(/[ \t]+/)) {
    if (relation.toLowerCase() === "next") return true
  }
  return false
}

/**
 * The target of the first `rel="next"` link of a `Link` header (RFC 8288), resolved against
 * `base` (the request URL) with `new URL(target, base)` and nothing more. `rel` may be quoted or
 * bare and hold several relation types (`rel="next last"`); elements that do not parse are skipped.
 * `undefined` when there is no such link, its target is empty, or it does not resolve.
 */
export const parseLinkNext = (header: string | undefined, base: string): string | undefined => {
  if (header === undefined) return undefined
  const s = header
  let i = 0
  while (i < s.length) {
    const c = s.charCodeAt(i)
    if (isWhitespace(c) || c === COMMA) {
      i++
      continue
    }
    if (c !== LESS) {
      i = skipLinkValue(s, i)
      continue
    }
    const close = s.indexOf(">", i + 1)
    if (close === -1) return undefined
    const target = s.slice(i + 1, close).trim()
    i = close + 1
    // link-params: *( OWS ";" OWS link-param ); the first `rel` counts (RFC 8288 §3.3)
    let rel: string | undefined
    let malformed = false
    for (;;) {
      i = skipWhitespace(s, i)
      if (i >= s.length || s.charCodeAt(i) === COMMA) break
      if (s.charCodeAt(i) !== SEMICOLON) {
        malformed = true
        break
      }
      i = skipWhitespace(s, i + 1)
      let nameEnd = i
      while (nameEnd < s.length) {
        const n = s.charCodeAt(nameEnd)
        if (n === EQUALS || n === SEMICOLON || n === COMMA || isWhitespace(n)) break
        nameEnd++
      }
      const name = s.slice(i, nameEnd).toLowerCase()
      i = skipWhitespace(s, nameEnd)
      if (i < s.length && s.charCodeAt(i) === EQUALS) {
        const value = readParamValue(s, skipWhitespace(s, i + 1))
        if (value === undefined) return undefined
        i = value.end
        if (name === "rel" && rel === undefined) rel = value.value
      }
    }
    if (malformed) {
      i = skipLinkValue(s, i)
      continue
    }
    if (rel !== undefined && hasNextRelation(rel) && target !== "") {
      try {
        return new URL(target, base).href
      } catch {
        return undefined
      }
    }
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Retry-After (RFC 9110 §10.2.3)
// ---------------------------------------------------------------------------------------------

const dayShort = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
const dayLong = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
const month = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
const time = "(\\d{2}):(\\d{2}):(\\d{2})"
// IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT (a one-digit day is tolerated)
const imfFixdate = new RegExp(`^${dayShort}, (\\d{1,2}) ${month} (\\d{4}) ${time} GMT$`, "i")
// obsolete RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
const rfc850 = new RegExp(`^${dayLong}, (\\d{2})-${month}-(\\d{2}) ${time} GMT$`, "i")
// obsolete asctime: Sun Nov  6 08:49:37 1994 (UTC, no zone written)
const asctime = new RegExp(`^${dayShort} ${month} (?: (\\d)|(\\d{2})) ${time} (\\d{4})$`, "i")

const months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

const utc = (
  year: number,
  monthName: string,
  day: number,
  hour: number,
  minute: number,
  second: number
): number | undefined => {
  const monthIndex = months.indexOf(monthName.toLowerCase())
  if (monthIndex === -1 || day < 1 || hour > 23 || minute > 59 || second > 60) return undefined
  const millis = Date.UTC(year, monthIndex, day, hour, minute, second)
  // reject days the month does not have (31 Feb)
  return new Date(millis).getUTCDate() === day || second === 60 ? millis : undefined
}

/**
 * An HTTP-date (RFC 9110 §5.6.7) as epoch milliseconds: IMF-fixdate, or the obsolete RFC 850 and
 * asctime forms, computed with `Date.UTC` rather than the engine-dependent `Date.parse`. A two-digit
 * RFC 850 year more than 50 years after `now` is read as the century before. `undefined` otherwise.
 */
export const parseHttpDate = (value: string, now: number = Date.now()): number | undefined => {
  const s = value.trim()
  if (s.length > 64) return undefined
  let m = imfFixdate.exec(s)
  if (m !== null) return utc(Number(m[3]), m[2], Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]))
  m = rfc850.exec(s)
  if (m !== null) {
    const currentYear = new Date(now).getUTCFullYear()
    let year = currentYear - (currentYear % 100) + Number(m[3])
    if (year > currentYear + 50) year -= 100
    return utc(year, m[2], Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]))
  }
  m = asctime.exec(s)
  if (m !== null) {
    return utc(Number(m[7]), m[1], Number(m[2] ?? m[3]), Number(m[4]), Number(m[5]), Number(m[6]))
  }
  return undefined
}

/**
 * Milliseconds to wait according to a `Retry-After` value: delta-seconds (a non-negative integer)
 * or an HTTP-date relative to `now` (epoch milliseconds; a date in the past gives 0). `undefined`
 * when absent or unparseable.
 */
export const parseRetryAfter = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined) return undefined
  const s = value.trim()
  if (isDigits(s)) {
    const seconds = parseNonNegativeInteger(s)
    if (seconds === undefined) return undefined
    const millis = seconds * 1000
    return Number.isSafeInteger(millis) ? millis : undefined
  }
  const date = parseHttpDate(s, now)
  return date === undefined ? undefined : Math.max(0, date - now)
}

// ---------------------------------------------------------------------------------------------
// RateLimit-* (Docker Hub)
// ---------------------------------------------------------------------------------------------

/** What Docker Hub's `RateLimit-Limit` / `RateLimit-Remaining` headers say. */
export interface RateLimit {
  readonly limit?: number
  readonly remaining?: number
  readonly windowSeconds?: number
}

const headerValue = (headers: Readonly<Record<string, string>>, name: string): string | undefined => {
  const direct = headers[name]
  if (typeof direct === "string") return direct
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name) {
      const value = headers[key]
      return typeof value === "string" ? value : undefined
    }
  }
  return undefined
}

/**
 * One `RateLimit-*` value: `100;w=21600`, a plain `100`, or a list of quota policies
 * (`100, 100;w=21600`) whose first item is the quota.
 */
const parseQuota = (value: string | undefined): { readonly n: number; readonly w?: number } | undefined => {
  if (value === undefined) return undefined
  let n: number | undefined
  let w: number | undefined
  for (const item of value.split(",")) {
    const [head, ...params] = item.split(";")
    const amount = parseNonNegativeInteger(head.trim())
    if (amount === undefined) {
      if (n === undefined) return undefined
      continue
    }
    if (n === undefined) n = amount
    if (amount !== n || w !== undefined) continue
    for (const param of params) {
      const eq = param.indexOf("=")
      if (eq !== -1 && param.slice(0, eq).trim().toLowerCase() === "w") {
        w = parseNonNegativeInteger(param.slice(eq + 1).trim())
        break
      }
    }
  }
  if (n === undefined) return undefined
  return w === undefined ? { n } : { n, w }
}

/**
 * Docker Hub's pull quota from `RateLimit-Limit: 100;w=21600` and `RateLimit-Remaining: 76;w=21600`
 * (plain numbers accepted). Header names are matched case-insensitively. `undefined` when neither
 * header is present and valid.
 */
export const parseRateLimit = (headers: Readonly<Record<string, string>>): RateLimit | undefined => {
  const limit = parseQuota(headerValue(headers, "ratelimit-limit"))
  const remaining = parseQuota(headerValue(headers, "ratelimit-remaining"))
  if (limit === undefined && remaining === undefined) return undefined
  const windowSeconds = limit?.w ?? remaining?.w
  return {
    ...(limit !== undefined ? { limit: limit.n } : {}),
    ...(remaining !== undefined ? { remaining: remaining.n } : {}),
    ...(windowSeconds !== undefined ? { windowSeconds } : {})
  }
}

// ---------------------------------------------------------------------------------------------
// Content-Range, upload Range, Content-Length, Content-Type
// ---------------------------------------------------------------------------------------------

/** A `Content-Range` of bytes: inclusive `start` and `end`, and the `total` size when known. */
export interface ContentRange {
  readonly start: number
  readonly end: number
  readonly total?: number
}

/**
 * Parses `Content-Range: bytes start-end/total` (RFC 9110 §14.4; `total` may be `*`). `undefined`
 * for other units, the unsatisfied-range form (`*` instead of `start-end`), `end < start` or
 * `end >= total`.
 */
export const parseContentRange = (value: string | undefined): ContentRange | undefined => {
  if (value === undefined) return undefined
  const s = value.trim()
  if (s.length < 6 || s.slice(0, 5).toLowerCase() !== "bytes" || !isWhitespace(s.charCodeAt(5))) return undefined
  const rest = s.slice(6).trim()
  const slash = rest.indexOf("/")
  if (slash === -1) return undefined
  const range = rest.slice(0, slash)
  const dash = range.indexOf("-")
  if (dash === -1) return undefined
  const start = parseNonNegativeInteger(range.slice(0, dash))
  const end = parseNonNegativeInteger(range.slice(dash + 1))
  if (start === undefined || end === undefined || end < start) return undefined
  const totalText = rest.slice(slash + 1)
  if (totalText === "*") return { start, end }
  const total = parseNonNegativeInteger(totalText)
  if (total === undefined || end >= total) return undefined
  return { start, end, total }
}

/**
 * The exclusive end offset (the number of bytes the registry holds) of an upload session, from the
 * `Range` header of the responses to `POST`, `PATCH` and `GET` on an upload URL.
 *
 * The header is an inclusive byte range that always starts at 0, written in the wild as:
 *
 * - `0-<last>`: distribution (`docker-registry`), zot, go-containerregistry's test registry, most
 *   others. `0-1234` gives 1235.
 * - `bytes=0-<last>`: the older OCI/Docker spec text and Quay. Accepted the same way.
 * - `0--1` / `bytes=0--1`: "no bytes yet" from servers that print `size - 1` without clamping
 *   (Quay, go-containerregistry after an empty `PATCH`, olareg). Gives 0.
 * - `0-0`: literally one byte, but distribution clamps `size - 1` at 0, so an empty session also says
 *   `0-0` (every `POST` answer of `docker-registry`, and go-containerregistry's `POST`). This function
 *   gives the literal 1, as distribution's own client and regclient read it; use `uploadOffset` when
 *   the number of bytes sent so far is known, to read it as 0 when nothing was sent.
 *
 * `undefined` when absent or malformed, including ranges that do not start at 0.
 */
export const parseRange = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  let s = value.trim()
  if (s.length >= 6 && s.slice(0, 6).toLowerCase() === "bytes=") s = s.slice(6).trim()
  const dash = s.indexOf("-")
  if (dash <= 0) return undefined
  const start = parseNonNegativeInteger(s.slice(0, dash))
  if (start !== 0) return undefined
  const endText = s.slice(dash + 1)
  if (endText === "-1") return 0
  const end = parseNonNegativeInteger(endText)
  if (end === undefined || !Number.isSafeInteger(end + 1)) return undefined
  return end + 1
}

/**
 * The registry's offset for an upload session given the `Range` header and the number of bytes the
 * client has sent so far: as `parseRange`, except that the ambiguous `0-0` reads as 0 when nothing
 * was sent (distribution's empty session). The caller still compares the result with `sent`.
 */
export const uploadOffset = (value: string | undefined, sent: number): number | undefined => {
  const offset = parseRange(value)
  return offset === 1 && sent === 0 ? 0 : offset
}

/**
 * A `Content-Length` as a non-negative safe integer; `undefined` for anything else (`-1`, `1e3`,
 * `12x`). A list of identical values (`42, 42`, from a repeated header) is accepted (RFC 9110 §8.6).
 */
export const parseContentLength = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  let result: number | undefined
  for (const part of value.split(",")) {
    const n = parseNonNegativeInteger(part.trim())
    if (n === undefined || (result !== undefined && n !== result)) return undefined
    result = n
  }
  return result
}

/**
 * The media type of a `Content-Type` value without its parameters, trimmed and lower-cased
 * (`application/vnd.oci.image.manifest.v1+json; charset=utf-8` gives
 * `application/vnd.oci.image.manifest.v1+json`). `undefined` when absent or empty.
 */
export const normalizeContentType = (value: string | undefined): string | undefined => {
  if (value === undefined) return undefined
  let end = value.length
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c === SEMICOLON || c === COMMA) {
      end = i
      break
    }
  }
  const type = value.slice(0, end).trim().toLowerCase()
  return type === "" ? undefined : type
}

/**
 * Whether a header that holds one URI (`Location`) arrived several times: HTTP clients join
 * repeated fields with ", " (RFC 9110 §5.3), and whitespace is never part of a URI (RFC 3986
 * appendix C), so any inner whitespace means several values. Which one the server meant cannot be
 * known; a hostile server may send two to see which one a client picks, so callers refuse it.
 */
export const hasSeveralValues = (value: string): boolean => /\s/.test(value.trim())
