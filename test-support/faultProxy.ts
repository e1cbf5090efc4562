/**
 * A programmable fault-injection HTTP proxy for integration tests: a `node:http` server on
 * 127.0.0.1 that forwards every request to one target (a `docker-registry`, the token server, ...)
 * and, for the requests a test's rules match, answers by itself, resets or stalls the connection,
 * or changes headers and body bytes in transit.
 *
 * Forwarding keeps the method, the path and query verbatim and the headers (the `host` header is
 * rewritten to the target, hop-by-hop headers are dropped), streams bodies both ways without
 * buffering, and rewrites `Location` and `Link` headers that point at the target's origin so that
 * they point at the proxy (clients keep going through it). `WWW-Authenticate` is left untouched.
 *
 * ```ts
 * const proxy = await startFaultProxy({ target: registry.url })
 * proxy.addRule({ method: "GET", path: /\/blobs\//, action: Fault.truncateResponseAfter(100) })
 * ```
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as http from "node:http"
import type * as net from "node:net"
import { type HarnessError, toHarnessError } from "./exec.js"

/** What a rule's predicate sees of a request. */
export interface FaultRequest {
  readonly method: string
  /** The pathname, e.g. `/v2/foo/blobs/sha256:...`. */
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: http.IncomingHttpHeaders
  /** The nth request the proxy has seen (0-based, never reset). */
  readonly index: number
  /** How many times this rule has fired already. */
  readonly matchCount: number
}

/** Headers as the mapping hooks see them: lower-case names, repeated headers as arrays. */
export type FaultHeaders = Record<string, string | Array<string>>

/** A response status and headers, as `Fault.mapResponse` sees and returns them. */
export interface FaultResponseHead {
  readonly status: number
  readonly headers: FaultHeaders
}

/**
 * One thing a rule does; build them with the `Fault` constructors. A rule may combine several:
 * `Delay`s run first, then the first answering action (`Status`, `Redirect`, `Respond`,
 * `ResetBeforeResponse` without `afterRequestBytes`) answers, or else the request is forwarded with
 * every header mapping and body fault applied.
 */
export type FaultAction =
  | {
    readonly _tag: "Status"
    readonly status: number
    readonly headers: Readonly<Record<string, string | ReadonlyArray<string>>>
    readonly body: Uint8Array
  }
  | { readonly _tag: "ResetBeforeResponse"; readonly afterRequestBytes?: number; readonly readRequestBody: boolean }
  | { readonly _tag: "ResetResponseAfter"; readonly bytes: number }
  | { readonly _tag: "TruncateResponseAfter"; readonly bytes: number }
  | { readonly _tag: "ExtendResponse"; readonly extra: Uint8Array; readonly keepContentLength: boolean }
  | { readonly _tag: "FlipByte"; readonly offset: number }
  | { readonly _tag: "StallResponseAfter"; readonly bytes: number; readonly ms: number }
  | { readonly _tag: "Redirect"; readonly location: string; readonly status: number }
  | {
    readonly _tag: "Respond"
    readonly handler: (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>
  }
  | { readonly _tag: "Delay"; readonly ms: number }
  | { readonly _tag: "MapRequestHeaders"; readonly f: (headers: FaultHeaders, request: FaultRequest) => FaultHeaders }
  | {
    readonly _tag: "MapResponse"
    readonly f: (response: FaultResponseHead, request: FaultRequest) => FaultResponseHead
  }

/** Constructors of `FaultAction`s. */
export const Fault = {
  /** Answers `code` directly (e.g. 503, or 429 with `Retry-After`) without forwarding. */
  status: (
    code: number,
    options: {
      readonly headers?: Readonly<Record<string, string | ReadonlyArray<string>>>
      readonly body?: string | Uint8Array
    } = {}
  ): FaultAction => ({
    _tag: "Status",
    status: code,
    headers: options.headers ?? {},
    body: typeof options.body === "string" ? Buffer.from(options.body) : options.body ?? new Uint8Array(0)
  }),

  /**
   * Resets the client connection without answering. Without `afterRequestBytes` nothing is
   * forwarded (the body is drained first when `readRequestBody` is true). With `afterRequestBytes`
   * the request is forwarded and both connections are cut once that many body bytes have passed
   * to the target (a connection reset mid-upload: the target got exactly those bytes, then EOF).
   * If the body is shorter, it is forwarded whole and the cut happens when the target's response
   * headers arrive (the request took effect, the answer was lost); `Infinity` asks for that.
   */
  resetBeforeResponse: (
    options: { readonly afterRequestBytes?: number; readonly readRequestBody?: boolean } = {}
  ): FaultAction => ({
    _tag: "ResetBeforeResponse",
    readRequestBody: options.readRequestBody ?? false,
    ...(options.afterRequestBytes !== undefined ? { afterRequestBytes: options.afterRequestBytes } : {})
  }),

  /** Forwards, then resets the client connection (TCP RST) after `bytes` body bytes. */
  resetResponseAfter: (bytes: number): FaultAction => ({ _tag: "ResetResponseAfter", bytes }),

  /**
   * Forwards with the declared headers (`Content-Length` unchanged, `Connection: close` added) and
   * ends the response cleanly (FIN, no RST) after `bytes` body bytes. With a `Content-Length` the
   * client sees a premature end; a chunked answer ends with a proper last chunk (a short body).
   */
  truncateResponseAfter: (bytes: number): FaultAction => ({ _tag: "TruncateResponseAfter", bytes }),

  /**
   * Appends `extra` after the body. By default `Content-Length` is removed and the answer is sent
   * chunked, so the client reads a body longer than the blob; with `keepContentLength` the header
   * stays, the extra bytes follow the declared body on the wire, and `Connection: close` is added.
   */
  extendResponse: (extra: Uint8Array, options: { readonly keepContentLength?: boolean } = {}): FaultAction => ({
    _tag: "ExtendResponse",
    extra,
    keepContentLength: options.keepContentLength ?? false
  }),

  /** Forwards, flipping every bit of the response body byte at `offset` (same length, other bytes). */
  flipByte: (offset: number): FaultAction => ({ _tag: "FlipByte", offset }),

  /**
   * Forwards, pausing the body after `bytes` for `ms` milliseconds (capped at the proxy's
   * `maxStallMs`), then continues. `Infinity` hangs until the client gives up or `stop()`.
   */
  stallResponseAfter: (bytes: number, ms: number): FaultAction => ({ _tag: "StallResponseAfter", bytes, ms }),

  /** Answers with a redirect to any URL (no body). */
  redirect: (location: string, status = 307): FaultAction => ({ _tag: "Redirect", location, status }),

  /** Full control: the handler answers the request itself (nothing is forwarded). */
  respond: (handler: (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>): FaultAction => ({
    _tag: "Respond",
    handler
  }),

  /** Waits `ms` (capped at `maxStallMs`; `Infinity` waits for the client to give up) before going on. */
  delay: (ms: number): FaultAction => ({ _tag: "Delay", ms }),

  /** Changes the request headers before forwarding (`host` is set to the target afterwards). */
  mapRequestHeaders: (f: (headers: FaultHeaders, request: FaultRequest) => FaultHeaders): FaultAction => ({
    _tag: "MapRequestHeaders",
    f
  }),

  /** Strips the client's `Range` (and `If-Range`) so the target answers 200 with the whole body. */
  ignoreRange: (): FaultAction => ({
    _tag: "MapRequestHeaders",
    f: (headers) => {
      const { "if-range": _ifRange, range: _range, ...rest } = headers
      return rest
    }
  }),

  /** Changes the upstream status and headers (after `Location`/`Link` rewriting). */
  mapResponse: (f: (response: FaultResponseHead, request: FaultRequest) => FaultResponseHead): FaultAction => ({
    _tag: "MapResponse",
    f
  }),

  /** Changes the upstream response headers (e.g. drop `Docker-Content-Digest`, add `Warning`). */
  mapResponseHeaders: (
    f: (headers: FaultHeaders, response: { readonly status: number }) => FaultHeaders
  ): FaultAction => ({
    _tag: "MapResponse",
    f: (response) => ({ status: response.status, headers: f({ ...response.headers }, { status: response.status }) })
  })
} as const

/** A rule: when it matches (every given condition holds), its action runs instead of plain forwarding. */
export interface FaultRule {
  /** Shown in the log's `fired`; default: the action tags joined with `+`. */
  readonly name?: string
  /** Matches this method only (case-insensitive). */
  readonly method?: string
  /** Matches this exact pathname, or pathnames the RegExp matches. */
  readonly path?: string | RegExp
  readonly match?: (request: FaultRequest) => boolean
  /** How many times the rule fires before requests fall through to normal forwarding; default 1. */
  readonly times?: number
  readonly action: FaultAction | ReadonlyArray<FaultAction>
}

/** One request the proxy saw. */
export interface FaultLogEntry {
  readonly index: number
  readonly method: string
  readonly path: string
  /** The raw query string without `?`. */
  readonly query: string
  /** The status sent to the client; `undefined` when no response head was sent (a reset). */
  readonly status: number | undefined
  /** The status the target answered, when the request was forwarded and answered. */
  readonly upstreamStatus: number | undefined
  /** The headers as the client sent them (credentials included: this is a test tool). */
  readonly requestHeaders: http.IncomingHttpHeaders
  /** The name of the rule that fired, if any. */
  readonly fired?: string
  /** Request body bytes read from the client (and forwarded, when forwarded). */
  readonly requestBytes: number
  /** Response body bytes the proxy wrote to the client. */
  readonly responseBytes: number
  /** `open` while in flight, `finished` when the response ended, `closed` when the connection closed first. */
  readonly state: "open" | "finished" | "closed"
  /** Why forwarding failed (e.g. the target refused the connection). */
  readonly error?: string
}

/** Options of `startFaultProxy`. */
export interface FaultProxyOptions {
  /** The origin to forward to, e.g. `http://127.0.0.1:5000`. */
  readonly target: string
  /** The cap of finite stalls and delays; default 30 000 ms. */
  readonly maxStallMs?: number
}

/** A running fault proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  /** `127.0.0.1:PORT` (what goes in an image reference). */
  readonly host: string
  readonly port: number
  /** The target's origin. */
  readonly target: string
  /** Installs a rule (after the existing ones: the first matching rule fires); returns its removal. */
  addRule(rule: FaultRule): () => void
  clearRules(): void
  /** A snapshot of the requests seen since the start or the last `resetLog()`. */
  log(): Array<FaultLogEntry>
  resetLog(): void
  /** Client connections open right now (to prove a client released its sockets). */
  connections(): number
  /** Closes the server, destroys open sockets, in-flight upstream requests and the agent. Idempotent. */
  stop(): Promise<void>
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

interface InstalledRule {
  readonly rule: FaultRule
  readonly actions: ReadonlyArray<FaultAction>
  readonly name: string
  fired: number
}

const REQUEST_HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "upgrade",
  "expect",
  "host"
])
const RESPONSE_HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "trailer",
  "upgrade"
])

const fromDistinct = (distinct: NodeJS.Dict<Array<string>>, drop: ReadonlySet<string>): FaultHeaders => {
  const out: FaultHeaders = {}
  for (const [name, values] of Object.entries(distinct)) {
    if (values === undefined || drop.has(name)) continue
    out[name] = values.length === 1 ? values[0]! : [...values]
  }
  return out
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** Resolves true after `ms`, or false as soon as `signal` aborts (timer cleared). */
const sleep = (ms: number, signal: AbortSignal): Promise<boolean> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve(false)
    let timer: NodeJS.Timeout | undefined
    const onAbort = () => {
      if (timer !== undefined) clearTimeout(timer)
      resolve(false)
    }
    signal.addEventListener("abort", onAbort, { once: true })
    if (Number.isFinite(ms)) {
      timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort)
        resolve(true)
      }, Math.max(0, ms))
    }
  })

class Abandoned extends Error {
  constructor() {
    super("the client connection closed")
  }
}

/** Writes to `res`, waiting for `drain` under backpressure; rejects with `Abandoned` once it is closed. */
const writeTo = (res: http.ServerResponse, chunk: Uint8Array, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal.aborted || res.destroyed) return reject(new Abandoned())
    if (res.write(chunk)) return resolve()
    const done = () => {
      signal.removeEventListener("abort", onAbort)
      resolve()
    }
    const onAbort = () => {
      res.off("drain", done)
      reject(new Abandoned())
    }
    res.once("drain", done)
    signal.addEventListener("abort", onAbort, { once: true })
  })

/** Resolves once everything written to `res` so far was handed to the kernel (or it closed). */
const flushed = (res: http.ServerResponse): Promise<void> =>
  new Promise((resolve) => {
    const socket = res.socket
    if (socket === null || socket.destroyed || socket.writableLength === 0) return resolve()
    // an empty write's callback runs after the queued writes were flushed
    socket.write(new Uint8Array(0), () => resolve())
  })

const writeRequest = (req: http.ClientRequest, chunk: Uint8Array): Promise<void> =>
  new Promise((resolve, reject) => {
    req.write(chunk, (err) => (err ? reject(err) : resolve()))
  })

const resetSocket = (socket: net.Socket | null): void => {
  if (socket === null || socket.destroyed) return
  try {
    socket.resetAndDestroy()
  } catch {
    socket.destroy()
  }
}

/**
 * Starts a fault proxy on a free 127.0.0.1 port in front of `options.target`.
 */
export const startFaultProxy = async (options: FaultProxyOptions): Promise<FaultProxy> => {
  const target = new URL(options.target)
  if (target.protocol !== "http:") throw new Error(`startFaultProxy: only http targets, got ${options.target}`)
  const targetOrigin = target.origin
  const maxStallMs = options.maxStallMs ?? 30_000
  const agent = new http.Agent({ keepAlive: true })
  const sockets = new Set<net.Socket>()
  const controllers = new Set<AbortController>()
  const upstreams = new Set<http.ClientRequest>()
  let rules: Array<InstalledRule> = []
  let entries: Array<Mutable<FaultLogEntry>> = []
  let requestCount = 0
  let stopped = false
  let proxyOrigin = ""

  const capped = (ms: number): number => (Number.isFinite(ms) ? Math.min(ms, maxStallMs) : ms)
  const linkPattern = new RegExp(`<${escapeRegExp(targetOrigin)}(?=[/?#>])`, "g")
  const rewriteLocation = (v: string): string =>
    v.startsWith(targetOrigin) && (v.length === targetOrigin.length || "/?#".includes(v[targetOrigin.length]!))
      ? proxyOrigin + v.slice(targetOrigin.length)
      : v
  const rewriteLink = (v: string): string => v.replace(linkPattern, `<${proxyOrigin}`)
  const mapValue = (v: string | Array<string>, f: (s: string) => string) => (Array.isArray(v) ? v.map(f) : f(v))

  const pickRule = (base: Omit<FaultRequest, "matchCount">): InstalledRule | undefined => {
    for (const installed of rules) {
      const { rule } = installed
      if (installed.fired >= (rule.times ?? 1)) continue
      if (rule.method !== undefined && rule.method.toUpperCase() !== base.method.toUpperCase()) continue
      if (typeof rule.path === "string" && rule.path !== base.path) continue
      if (rule.path instanceof RegExp) {
        rule.path.lastIndex = 0
        if (!rule.path.test(base.path)) continue
      }
      if (rule.match !== undefined && !rule.match({ ...base, matchCount: installed.fired })) continue
      return installed
    }
    return undefined
  }

  const countResponseBytes = (res: http.ServerResponse, entry: Mutable<FaultLogEntry>): void => {
    const size = (chunk: unknown): number =>
      typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk instanceof Uint8Array ? chunk.byteLength : 0
    const write = res.write
    const end = res.end
    res.write = function(this: http.ServerResponse, chunk: any, ...rest: Array<any>) {
      entry.responseBytes += size(chunk)
      return (write as any).call(this, chunk, ...rest)
    } as typeof res.write
    res.end = function(this: http.ServerResponse, chunk?: any, ...rest: Array<any>) {
      entry.responseBytes += size(chunk)
      return (end as any).call(this, chunk, ...rest)
    } as typeof res.end
  }

  const answer = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    action: FaultAction,
    entry: Mutable<FaultLogEntry>
  ): Promise<void> => {
    switch (action._tag) {
      case "Status": {
        const headers: http.OutgoingHttpHeaders = { ...action.headers as any }
        if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-length")) {
          headers["content-length"] = action.body.byteLength
        }
        res.writeHead(action.status, headers)
        entry.status = action.status
        res.end(action.body)
        return
      }
      case "Redirect": {
        res.writeHead(action.status, { location: action.location, "content-length": 0 })
        entry.status = action.status
        res.end()
        return
      }
      case "Respond": {
        await action.handler(req, res)
        return
      }
      case "ResetBeforeResponse": {
        if (action.readRequestBody) {
          for await (const chunk of req) entry.requestBytes += (chunk as Buffer).length
        }
        resetSocket(req.socket)
        return
      }
      default:
        return
    }
  }

  const forward = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    request: FaultRequest,
    actions: ReadonlyArray<FaultAction>,
    entry: Mutable<FaultLogEntry>,
    signal: AbortSignal
  ): Promise<void> => {
    let requestHeaders = fromDistinct(req.headersDistinct, REQUEST_HOP_BY_HOP)
    for (const a of actions) if (a._tag === "MapRequestHeaders") requestHeaders = a.f({ ...requestHeaders }, request)
    requestHeaders.host = target.host
    const cut = actions.find((a) => a._tag === "ResetBeforeResponse")?.afterRequestBytes

    const upstreamReq = http.request({
      protocol: "http:",
      hostname: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: requestHeaders,
      agent
    })
    upstreams.add(upstreamReq)
    let upstreamDone = false
    let cutDone = false
    upstreamReq.once("close", () => upstreams.delete(upstreamReq))
    const abortUpstream = () => {
      if (!upstreamDone) upstreamReq.destroy()
    }
    signal.addEventListener("abort", abortUpstream, { once: true })
    const cutNow = () => {
      cutDone = true
      resetSocket(req.socket)
      upstreamReq.destroy()
    }
    const responded = new Promise<http.IncomingMessage>((resolve, reject) => {
      upstreamReq.once("response", resolve)
      upstreamReq.on("error", reject)
    })
    responded.catch(() => {})

    // request body
    if (cut === undefined) {
      req.on("data", (chunk: Buffer) => {
        entry.requestBytes += chunk.length
      })
      req.pipe(upstreamReq)
    } else {
      void (async () => {
        try {
          if (cut <= 0) {
            upstreamReq.flushHeaders()
            await writeRequest(upstreamReq, new Uint8Array(0))
            return cutNow()
          }
          let passed = 0
          for await (const raw of req) {
            const chunk = raw as Buffer
            const take = Math.min(chunk.length, cut - passed)
            if (take > 0) {
              await writeRequest(upstreamReq, take === chunk.length ? chunk : chunk.subarray(0, take))
              passed += take
              entry.requestBytes += take
            }
            if (passed >= cut) return cutNow()
          }
          upstreamReq.end()
        } catch {
          cutNow()
        }
      })()
    }

    let upstreamRes: http.IncomingMessage
    try {
      upstreamRes = await responded
    } catch (e) {
      if (cutDone || signal.aborted) return
      throw e
    }
    entry.upstreamStatus = upstreamRes.statusCode
    upstreamRes.once("end", () => {
      upstreamDone = true
    })
    if (cut !== undefined) {
      // the body was shorter than the cut: the request took effect, the answer is lost
      upstreamRes.resume()
      return cutNow()
    }

    // response head
    let headers = fromDistinct(upstreamRes.headersDistinct, RESPONSE_HOP_BY_HOP)
    if (headers.location !== undefined) headers.location = mapValue(headers.location, rewriteLocation)
    if (headers.link !== undefined) headers.link = mapValue(headers.link, rewriteLink)
    let head: FaultResponseHead = { status: upstreamRes.statusCode ?? 502, headers }
    for (const a of actions) {
      if (a._tag === "MapResponse") head = a.f({ status: head.status, headers: { ...head.headers } }, request)
    }
    headers = { ...head.headers }

    type BodyEvent = { readonly at: number; readonly kind: "stall" | "reset" | "truncate"; readonly ms: number }
    const events: Array<BodyEvent> = []
    const flips = new Set<number>()
    let extend: Extract<FaultAction, { _tag: "ExtendResponse" }> | undefined
    for (const a of actions) {
      if (a._tag === "StallResponseAfter") events.push({ at: a.bytes, kind: "stall", ms: a.ms })
      else if (a._tag === "ResetResponseAfter") events.push({ at: a.bytes, kind: "reset", ms: 0 })
      else if (a._tag === "TruncateResponseAfter") events.push({ at: a.bytes, kind: "truncate", ms: 0 })
      else if (a._tag === "FlipByte") flips.add(a.offset)
      else if (a._tag === "ExtendResponse") extend = a
    }
    events.sort((a, b) => a.at - b.at)
    const closes = events.some((e) => e.kind !== "stall") || extend?.keepContentLength === true
    if (closes) headers.connection = "close"
    if (extend !== undefined && !extend.keepContentLength) delete headers["content-length"]

    res.writeHead(head.status, headers)
    entry.status = head.status
    if (events.length > 0) res.flushHeaders()

    /** Runs a body event; false when the response is over. */
    const fire = async (event: BodyEvent): Promise<boolean> => {
      switch (event.kind) {
        case "stall": {
          if (!(await sleep(capped(event.ms), signal))) throw new Abandoned()
          return true
        }
        case "reset": {
          await flushed(res)
          resetSocket(res.socket)
          abortUpstream()
          return false
        }
        case "truncate": {
          res.end()
          abortUpstream()
          return false
        }
      }
    }

    let offset = 0
    let next = 0
    try {
      for await (const raw of upstreamRes) {
        let chunk = raw as Buffer
        if (flips.size > 0) {
          for (const at of flips) {
            if (at >= offset && at < offset + chunk.length) {
              if (chunk === raw) chunk = Buffer.from(chunk)
              chunk[at - offset] = chunk[at - offset]! ^ 0xff
            }
          }
        }
        let pos = 0
        while (next < events.length && events[next]!.at < offset + chunk.length) {
          const event = events[next++]!
          const until = Math.max(event.at - offset, pos)
          if (until > pos) await writeTo(res, chunk.subarray(pos, until), signal)
          pos = until
          if (!(await fire(event))) return
        }
        if (pos < chunk.length) await writeTo(res, pos === 0 ? chunk : chunk.subarray(pos), signal)
        offset += chunk.length
      }
      while (next < events.length && events[next]!.at <= offset) {
        if (!(await fire(events[next++]!))) return
      }
      if (extend !== undefined && extend.extra.byteLength > 0) await writeTo(res, extend.extra, signal)
      res.end()
    } catch (e) {
      if (e instanceof Abandoned || signal.aborted) {
        abortUpstream()
        return
      }
      throw e
    }
  }

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const index = requestCount++
    const url = new URL(req.url ?? "/", "http://proxy.invalid")
    const method = req.method ?? "GET"
    const entry: Mutable<FaultLogEntry> = {
      index,
      method,
      path: url.pathname,
      query: url.search.slice(1),
      status: undefined,
      upstreamStatus: undefined,
      requestHeaders: req.headers,
      requestBytes: 0,
      responseBytes: 0,
      state: "open"
    }
    entries.push(entry)
    countResponseBytes(res, entry)
    const controller = new AbortController()
    controllers.add(controller)
    if (stopped) controller.abort()
    res.once("close", () => {
      entry.state = res.writableFinished ? "finished" : "closed"
      if (res.headersSent) entry.status = res.statusCode
      controllers.delete(controller)
      controller.abort()
    })

    const base = { method, path: url.pathname, query: url.searchParams, headers: req.headers, index }
    const installed = pickRule(base)
    const request: FaultRequest = { ...base, matchCount: installed?.fired ?? 0 }
    if (installed !== undefined) {
      installed.fired++
      entry.fired = installed.name
    }
    const actions = installed?.actions ?? []

    const run = async () => {
      for (const a of actions) {
        if (a._tag === "Delay" && !(await sleep(capped(a.ms), controller.signal))) {
          resetSocket(req.socket)
          return
        }
      }
      const terminal = actions.find((a) =>
        a._tag === "Status" || a._tag === "Redirect" || a._tag === "Respond" ||
        (a._tag === "ResetBeforeResponse" && a.afterRequestBytes === undefined)
      )
      if (terminal !== undefined) return answer(req, res, terminal, entry)
      return forward(req, res, request, actions, entry, controller.signal)
    }
    run().catch((e) => {
      entry.error = e instanceof Error ? e.message : String(e)
      if (!res.headersSent && !res.destroyed) {
        const body = `fault proxy: ${entry.error}\n`
        res.writeHead(502, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) })
        res.end(body)
      } else {
        res.destroy()
      }
    })
  }

  const server = http.createServer(onRequest)
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.once("close", () => sockets.delete(socket))
  })
  // a client that resets mid-request must not crash the test process
  server.on("clientError", (_err, socket) => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject)
      resolve()
    })
  })
  const address = server.address() as net.AddressInfo
  const port = address.port
  proxyOrigin = `http://127.0.0.1:${port}`

  let stopping: Promise<void> | undefined
  return {
    url: proxyOrigin,
    host: `127.0.0.1:${port}`,
    port,
    target: targetOrigin,
    addRule: (rule) => {
      const actions: ReadonlyArray<FaultAction> = Array.isArray(rule.action)
        ? rule.action
        : [rule.action as FaultAction]
      const installed: InstalledRule = {
        rule,
        actions,
        name: rule.name ?? actions.map((a) => a._tag).join("+"),
        fired: 0
      }
      rules.push(installed)
      return () => {
        rules = rules.filter((r) => r !== installed)
      }
    },
    clearRules: () => {
      rules = []
    },
    log: () => entries.map((e) => ({ ...e })),
    resetLog: () => {
      entries = []
    },
    connections: () => sockets.size,
    stop: () => (stopping ??= new Promise<void>((resolve) => {
      stopped = true
      rules = []
      for (const c of controllers) c.abort()
      for (const r of upstreams) r.destroy()
      server.close(() => resolve())
      server.closeAllConnections()
      for (const s of sockets) s.destroy()
      agent.destroy()
    }))
  }
}

/**
 * `startFaultProxy` as a scoped Effect: the proxy stops when the scope closes.
 */
export const acquireFaultProxy = (options: FaultProxyOptions): Effect.Effect<FaultProxy, HarnessError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({ try: () => startFaultProxy(options), catch: toHarnessError("startFaultProxy") }),
    (proxy) => Effect.promise(() => proxy.stop())
  )
