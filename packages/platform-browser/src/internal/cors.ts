/**
 * The fetch standard's CORS rules that matter for diagnostics: which requests are preflighted,
 * and the wording of the errors that explain a refused request or a hidden response header.
 *
 * @internal
 */

/** The cause put into the platform's `RequestError`; the `RegistryClient` shows its message. */
export class CorsOrNetworkError extends Error {
  override readonly name = "CorsOrNetworkError"
}

/** The origin of the page the code runs in, when there is one. */
export const pageOrigin = (): string | undefined => {
  const location = (globalThis as { location?: { origin?: unknown } }).location
  return typeof location?.origin === "string" && location.origin !== "null" ? location.origin : undefined
}

const simpleMethods = new Set(["GET", "HEAD", "POST"])

/** Headers the browser sets or refuses itself (forbidden request headers that can appear here). */
const browserOwned = new Set(["content-length", "host", "connection", "keep-alive", "transfer-encoding", "user-agent"])

const safelistedContentTypes = new Set(["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"])

// CORS-unsafe request-header bytes: controls other than tab, and "():<>?@[\]{} and DEL.

const unsafeBytes = /[\x00-\x08\x0a-\x1f"():<>?@[\\\]{}\x7f]/

const isSafelisted = (name: string, value: string): boolean => {
  if (value.length > 128) return false
  switch (name) {
    case "accept":
      return !unsafeBytes.test(value)
    case "accept-language":
    case "content-language":
      return /^[0-9A-Za-z *,\-.;=]*$/.test(value)
    case "content-type": {
      if (unsafeBytes.test(value.replace(/;.*$/, ""))) return false
      return safelistedContentTypes.has(value.split(";")[0]!.trim().toLowerCase())
    }
    case "range":
      return /^bytes=\d+-\d*$/.test(value)
    default:
      return false
  }
}

/** The method and headers that make a request need a preflight. */
export const preflightReasons = (
  method: string,
  headers: Readonly<Record<string, string>>
): { readonly method: string | undefined; readonly headers: ReadonlyArray<string> } => ({
  method: simpleMethods.has(method.toUpperCase()) ? undefined : method.toUpperCase(),
  headers: Object.entries(headers)
    .map(([name, value]) => [name.toLowerCase(), value] as const)
    .filter(([name, value]) => !browserOwned.has(name) && !isSafelisted(name, value))
    .map(([name]) => name)
    .sort()
})

const originOf = (url: string): string | undefined => {
  try {
    return new URL(url).origin
  } catch {
    return undefined
  }
}

/** A URL fit for a message: no user info, no query (signed URLs carry credentials there). */
export const displayUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`
  } catch {
    return "<invalid url>"
  }
}

/** The explanation of a `fetch` that rejected with a `TypeError`. */
export const describeFetchFailure = (failure: {
  readonly message: string
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly pageOrigin: string | undefined
}): string => {
  const target = originOf(failure.url) ?? failure.url
  const page = failure.pageOrigin
  const head = `${failure.message || "fetch failed"}: the browser refused the request or could not connect`
  if (page !== undefined && page === target) {
    return `${head}; ${target} is this page's own origin, so this is a network failure (registry down or ` +
      `unreachable), not CORS`
  }
  if (page?.startsWith("https:") && failure.url.startsWith("http:")) {
    return `${head}; this is most likely mixed content: a page served over HTTPS (${page}) may not fetch ` +
      `${displayUrl(failure.url)} over plain HTTP`
  }
  const who = page ?? "this page's origin"
  const parts = [
    `${head}. It is a CORS failure or a network failure (the browser does not tell which). If ${target} is up, ` +
    `its answers must allow ${who}: every response needs Access-Control-Allow-Origin: ${page ?? "<origin>"} (or *)`
  ]
  const reasons = preflightReasons(failure.method, failure.headers)
  if (reasons.method !== undefined || reasons.headers.length > 0) {
    const why = [
      ...(reasons.method !== undefined ? [`method ${reasons.method}`] : []),
      ...(reasons.headers.length > 0 ? [`headers ${reasons.headers.join(", ")}`] : [])
    ].join("; ")
    parts.push(
      `this ${failure.method.toUpperCase()} is preflighted (${why}), so OPTIONS ${displayUrl(failure.url)} must ` +
        `answer 2xx without credentials (docker-registry answers 401 when authentication is on: let a proxy ` +
        `answer preflights) with Access-Control-Allow-Origin` +
        (reasons.method !== undefined ? `, Access-Control-Allow-Methods: ${reasons.method}` : "") +
        (reasons.headers.length > 0 ? `, Access-Control-Allow-Headers: ${reasons.headers.join(", ")}` : "")
    )
  }
  return parts.join("; ")
}

/** The explanation of a response header a cross-origin answer does not expose. */
export const describeHiddenHeader = (header: string, why: string, exposeHeaders: ReadonlyArray<string>): string =>
  `${why}, but no ${header} header is readable: the answer is cross-origin and the browser hides every header ` +
  `that Access-Control-Expose-Headers does not list. Expose ${header} (ocireg reads Access-Control-Expose-Headers: ` +
  `${exposeHeaders.join(", ")})`

/** Whether `url` is on another origin than the page (true when there is no page). */
export const isCrossOrigin = (url: string): boolean => {
  const page = pageOrigin()
  return page === undefined || originOf(url) !== page
}
