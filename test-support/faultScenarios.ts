/**
 * Helpers for fault-injection suites built on `faultProxy.ts`: a second origin on 127.0.0.1 that
 * records every request it gets (to prove what a client sent, or did not send, to another origin),
 * a responder that streams a huge body lazily (generated chunk by chunk, stopping when the client
 * goes away), and the Markdown table a suite prints of its scenarios and their outcomes.
 */
import * as http from "node:http"
import type * as net from "node:net"

/** One request a recording origin got. */
export interface RecordedRequest {
  readonly method: string
  /** The path and query as sent. */
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
}

/** A running recording origin. */
export interface RecordingOrigin {
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  /** `127.0.0.1:PORT` */
  readonly host: string
  readonly port: number
  /** The requests seen since the start or the last `reset()`. */
  requests(): Array<RecordedRequest>
  reset(): void
  /** Closes the server and every open connection. Idempotent. */
  stop(): Promise<void>
}

/**
 * Starts an HTTP server on a free 127.0.0.1 port that records each request (method, URL, headers)
 * and answers with `handler`, or 404 when the handler leaves the response unanswered.
 */
export const startRecordingOrigin = async (
  handler?: (req: http.IncomingMessage, res: http.ServerResponse) => void
): Promise<RecordingOrigin> => {
  let seen: Array<RecordedRequest> = []
  const sockets = new Set<net.Socket>()
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? "GET", url: req.url ?? "/", headers: { ...req.headers } })
    req.resume()
    handler?.(req, res)
    if (!res.headersSent && !res.writableEnded) {
      res.writeHead(404, { "content-type": "text/plain", "content-length": 9 })
      res.end("not found")
    }
  })
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.once("close", () => sockets.delete(socket))
  })
  server.on("clientError", (_err, socket) => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject)
      resolve()
    })
  })
  const port = (server.address() as net.AddressInfo).port
  let stopping: Promise<void> | undefined
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    requests: () => [...seen],
    reset: () => {
      seen = []
    },
    stop: () => (stopping ??= new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
      for (const s of sockets) s.destroy()
    }))
  }
}

/** Options of `lazyBody`. */
export interface LazyBodyOptions {
  /** Body size in bytes (e.g. 100 MiB). */
  readonly size: number
  /** Response headers (`content-length` is added when `declareLength`). */
  readonly headers?: Readonly<Record<string, string>>
  /** Send `Content-Length: size`; otherwise the body goes chunked with no declared length. */
  readonly declareLength: boolean
  /** The first bytes of the body (e.g. the start of a JSON document); the rest is spaces. */
  readonly prefix?: string
  /** Gives up (destroys the response) after this long; default 15 000 ms. */
  readonly deadlineMs?: number
}

/**
 * A `Fault.respond` handler that answers 200 with a body of `size` bytes generated lazily in
 * 64 KiB chunks: it writes only as fast as the client reads (waiting for `drain`), stops as soon
 * as the connection closes, and gives up at the deadline. Nothing of the body is held in memory
 * beyond one chunk, so a "100 MiB manifest" costs nothing unless the client really reads it.
 */
export const lazyBody =
  (options: LazyBodyOptions) => (_req: http.IncomingMessage, res: http.ServerResponse): Promise<void> =>
    new Promise<void>((resolve) => {
      const chunk = Buffer.alloc(64 * 1024, 0x20)
      const first = Buffer.from(chunk)
      if (options.prefix !== undefined) first.write(options.prefix.slice(0, chunk.length), 0, "utf8")
      const headers: Record<string, string> = { ...options.headers }
      if (options.declareLength) headers["content-length"] = String(options.size)
      let sent = 0
      let settled = false
      const finish = () => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        res.destroy()
        finish()
      }, options.deadlineMs ?? 15_000)
      res.once("close", finish)
      res.writeHead(200, headers)
      const pump = (): void => {
        // at most size / 64 KiB iterations over the whole response
        while (sent < options.size && !res.destroyed) {
          const n = Math.min(chunk.length, options.size - sent)
          const bytes = sent === 0 ? first : chunk
          sent += n
          if (!res.write(n === bytes.length ? bytes : bytes.subarray(0, n))) {
            res.once("drain", pump)
            return
          }
        }
        if (!res.destroyed) res.end()
      }
      pump()
    })

/** One row of a fault suite's report. */
export interface ScenarioRow {
  readonly scenario: string
  readonly expected: string
  readonly outcome: string
}

const cell = (text: string): string => text.replace(/\r?\n/g, " ").replace(/\|/g, "\\|")

/** The rows as a Markdown table: `| scenario | expected | outcome |`. */
export const renderScenarioTable = (rows: ReadonlyArray<ScenarioRow>): string =>
  [
    "| scenario | expected | outcome |",
    "| --- | --- | --- |",
    ...rows.map((r) => `| ${cell(r.scenario)} | ${cell(r.expected)} | ${cell(r.outcome)} |`)
  ].join("\n") + "\n"
