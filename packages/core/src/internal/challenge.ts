/**
 * Parsing of `WWW-Authenticate` challenges (RFC 7235 / RFC 9110 §11) and of the scope strings of the
 * Docker token protocol (`repository:library/alpine:pull,push`).
 *
 * The parser is a hand-written linear scanner (no regular expressions with backtracking), total on
 * any input: malformed parts are skipped and what could be parsed is returned. It accepts several
 * challenges in one header, which also covers several header lines joined by ", " as `fetch` does.
 *
 * @internal
 */

/**
 * One challenge of a `WWW-Authenticate` header. `scheme` and parameter names are lower-cased,
 * values are kept verbatim (quoted strings unescaped). `token68` holds the single opaque credential
 * of schemes like `Negotiate abc==` when given instead of parameters.
 */
export interface Challenge {
  readonly scheme: string
  readonly params: Readonly<Record<string, string>>
  readonly token68?: string
}

const TAB = 9
const LF = 10
const CR = 13
const SPACE = 32
const QUOTE = 34
const COMMA = 44
const EQUALS = 61
const BACKSLASH = 92

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
const tcharTable: ReadonlyArray<boolean> = (() => {
  const table = new Array<boolean>(128).fill(false)
  for (let c = 48; c <= 57; c++) table[c] = true
  for (let c = 65; c <= 90; c++) table[c] = true
  for (let c = 97; c <= 122; c++) table[c] = true
  for (const c of "!#$%&'*+-.^_`|~") table[c.charCodeAt(0)] = true
  return table
})()

const isTchar = (c: number): boolean => c < 128 && tcharTable[c] === true

// token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const isToken68Char = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 || c === 95 ||
  c === 126 || c === 43 || c === 47

const isWhitespace = (c: number): boolean => c === SPACE || c === TAB

const skipWhitespace = (s: string, i: number): number => {
  while (i < s.length && isWhitespace(s.charCodeAt(i))) i++
  return i
}

const readToken = (s: string, i: number): number => {
  while (i < s.length && isTchar(s.charCodeAt(i))) i++
  return i
}

/** Skips to the next comma outside a quoted string (or the end). */
const skipElement = (s: string, i: number): number => {
  let quoted = false
  while (i < s.length) {
    const c = s.charCodeAt(i)
    if (quoted) {
      if (c === BACKSLASH) i++
      else if (c === QUOTE) quoted = false
    } else if (c === QUOTE) {
      quoted = true
    } else if (c === COMMA) {
      return i
    }
    i++
  }
  return s.length
}

/** Reads a quoted string starting at the opening quote; `undefined` when it is not terminated. */
export const readQuoted = (s: string, i: number): { readonly value: string; readonly end: number } | undefined => {
  let value = ""
  let from = i + 1
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j)
    if (c === BACKSLASH) {
      if (j + 1 >= s.length) return undefined
      value += s.slice(from, j)
      from = j + 1
      j++
    } else if (c === QUOTE) {
      return { value: value + s.slice(from, j), end: j + 1 }
    }
  }
  return undefined
}

/**
 * Matches `token68` at `i`: its characters, trailing `=`s, then optional whitespace and a comma or
 * the end. Returns the end of the token68 (before the whitespace) or -1.
 */
const matchToken68 = (s: string, i: number): number => {
  let j = i
  while (j < s.length && isToken68Char(s.charCodeAt(j))) j++
  if (j === i) return -1
  while (j < s.length && s.charCodeAt(j) === EQUALS) j++
  const k = skipWhitespace(s, j)
  return k >= s.length || s.charCodeAt(k) === COMMA ? j : -1
}

interface Builder {
  readonly scheme: string
  readonly params: Record<string, string>
  token68: string | undefined
}

const finish = (b: Builder): Challenge =>
  b.token68 === undefined ? { scheme: b.scheme, params: b.params } : {
    scheme: b.scheme,
    params: b.params,
    token68: b.token68
  }

/**
 * Parses a `WWW-Authenticate` header into its challenges, in order. Never throws: malformed
 * elements (unterminated quotes, stray characters, missing values) are skipped, and duplicate
 * parameters keep their first value.
 */
export const parseChallenges = (header: string): ReadonlyArray<Challenge> => {
  const s = header
  const out: Array<Challenge> = []
  let current: Builder | undefined
  // whether a list separator (or the start) precedes the next element: only then can a scheme begin
  let atElementStart = true
  let i = 0
  while (i < s.length) {
    const c = s.charCodeAt(i)
    if (isWhitespace(c)) {
      i++
      continue
    }
    if (c === COMMA) {
      atElementStart = true
      i++
      continue
    }
    const nameEnd = readToken(s, i)
    if (nameEnd === i) {
      // not a token: garbage up to the next separator
      i = skipElement(s, i)
      continue
    }
    const afterName = skipWhitespace(s, nameEnd)
    const next = afterName < s.length ? s.charCodeAt(afterName) : -1
    if (next === EQUALS && current !== undefined && current.token68 === undefined) {
      // auth-param of the current challenge (a missing comma between parameters is tolerated)
      const name = s.slice(i, nameEnd).toLowerCase()
      const valueStart = skipWhitespace(s, afterName + 1)
      const v = valueStart < s.length ? s.charCodeAt(valueStart) : -1
      let value: string | undefined
      if (v === QUOTE) {
        const quoted = readQuoted(s, valueStart)
        if (quoted === undefined) break // unterminated: the rest of the header is one broken value
        value = quoted.value
        i = quoted.end
      } else if (isTchar(v)) {
        const end = readToken(s, valueStart)
        value = s.slice(valueStart, end)
        i = end
      } else {
        i = skipElement(s, valueStart)
        atElementStart = false
        continue
      }
      if (!Object.prototype.hasOwnProperty.call(current.params, name)) current.params[name] = value
      atElementStart = false
      continue
    }
    if (atElementStart && (next === -1 || next === COMMA || afterName > nameEnd)) {
      // a new challenge: `scheme`, optionally followed by token68 or parameters
      if (current !== undefined) out.push(finish(current))
      current = { scheme: s.slice(i, nameEnd).toLowerCase(), params: Object.create(null), token68: undefined }
      atElementStart = false
      i = afterName
      if (i < s.length && s.charCodeAt(i) !== COMMA) {
        const token68End = matchToken68(s, i)
        if (token68End !== -1) {
          current.token68 = s.slice(i, token68End)
          i = token68End
        }
      }
      continue
    }
    // a token that is neither a parameter nor a scheme where one may start
    i = skipElement(s, i)
    atElementStart = false
  }
  if (current !== undefined) out.push(finish(current))
  return out
}

/**
 * The `error` (`insufficient_scope`, `invalid_token`, ...), `error_description` and `scope`
 * parameters of a Bearer challenge (RFC 6750 §3), where present.
 */
export const bearerError = (
  challenge: Challenge
): { readonly error?: string; readonly description?: string; readonly scope?: string } => {
  const { error, error_description: description, scope } = challenge.params
  return {
    ...(error !== undefined ? { error } : {}),
    ...(description !== undefined ? { description } : {}),
    ...(scope !== undefined ? { scope } : {})
  }
}

/** Splits a space-separated scope string (`repository:a:pull registry:catalog:*`) into its scopes. */
export const parseScopes = (scope: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  let start = -1
  for (let i = 0; i <= scope.length; i++) {
    const c = i < scope.length ? scope.charCodeAt(i) : SPACE
    if (c === SPACE || c === TAB || c === LF || c === CR) {
      if (start !== -1) out.push(scope.slice(start, i))
      start = -1
    } else if (start === -1) {
      start = i
    }
  }
  return out
}

/**
 * Merges two sets of scopes (arrays or space-separated strings): scopes of the same
 * `type:name` (`repository:a:pull` and `repository:a:push,pull`) become one with the union of
 * their actions (`repository:a:pull,push`), other scopes are kept, duplicates dropped. The result
 * is sorted, so it can serve as a cache key.
 */
export const mergeScopes = (
  a: string | ReadonlyArray<string>,
  b: string | ReadonlyArray<string>
): ReadonlyArray<string> => {
  const resources = new Map<string, Set<string>>()
  const others = new Set<string>()
  const add = (scope: string) => {
    // type ":" name ":" actions; the name may itself contain ":", the actions never do
    const first = scope.indexOf(":")
    const last = scope.lastIndexOf(":")
    if (first <= 0 || last === first || last === first + 1) {
      others.add(scope)
      return
    }
    const key = scope.slice(0, last)
    let actions = resources.get(key)
    if (actions === undefined) {
      actions = new Set()
      resources.set(key, actions)
    }
    for (const action of scope.slice(last + 1).split(",")) {
      const trimmed = action.trim()
      if (trimmed !== "") actions.add(trimmed)
    }
  }
  for (const scopes of [a, b]) {
    for (const scope of typeof scopes === "string" ? parseScopes(scopes) : scopes) {
      if (scope !== "") add(scope)
    }
  }
  const out = new Set(others)
  for (const [key, actions] of resources) out.add(`${key}:${Array.from(actions).sort().join(",")}`)
  return Array.from(out).sort()
}

/** Joins scopes into the space-separated form of the token request's `scope` parameter. */
export const formatScopes = (scopes: ReadonlyArray<string>): string => scopes.join(" ")
