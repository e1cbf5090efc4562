/**
 * The Node `HttpClient` of ocireg: `node:http` / `node:https` with keep-alive agents (one pool of
 * sockets per origin, reused after every method, `HEAD` included: undici closes the connection
 * after each `HEAD`), response bodies in large pieces with backpressure (`body.ts`), request
 * bodies from Effect streams or native Node streams (file uploads keep their `Content-Length`),
 * interruption through the `AbortSignal` that `HttpClient.make` hands over, and a socket idle
 * timeout. It never follows redirects: `RegistryClient` does, without credentials across origins.
 *
 * @internal
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import { ResponseTimeoutTypeId, type WithResponseTimeout } from "@ocireg/core/RegistryClient"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Http from "node:http"
import * as Https from "node:https"
import { Readable } from "node:stream"
import { BodyReader, type Pulled } from "./body.js"

/** TLS settings of the HTTPS agent (the `node:tls` names). */
export interface TlsOptions {
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer> | undefined
  readonly cert?: string | Buffer | ReadonlyArray<string | Buffer> | undefined
  readonly key?: string | Buffer | ReadonlyArray<string | Buffer> | undefined
  readonly passphrase?: string | undefined
  readonly rejectUnauthorized?: boolean | undefined
  readonly servername?: string | undefined
  readonly minVersion?: "TLSv1.2" | "TLSv1.3" | undefined
}

/** Options of the client; every field has a default. */
export interface Options {
  /** Sockets per origin at most (requests beyond wait for a free one). Default: no limit. */
  readonly maxSockets?: number | undefined
  /** Idle keep-alive sockets kept per origin. Default 64. */
  readonly maxFreeSockets?: number | undefined
  /** TLS settings for every HTTPS origin. */
  readonly tls?: TlsOptions | undefined
  /** Hosts (`name[:port]`) whose TLS certificates are not verified (self-signed registries). */
  readonly insecureHosts?: ReadonlyArray<string> | undefined
  /** A socket with no traffic for this many milliseconds fails its request (0: never). Default 0. */
  readonly socketTimeout?: number | undefined
  /**
   * A request whose response headers have not arrived this many milliseconds after it started
   * fails, its connection closed (0: never). Default 0; `RegistryClient` sets its `requestTimeout`.
   */
  readonly responseTimeout?: number | undefined
  /** Response pieces are handed over once this many bytes are there. Default 256 KiB. */
  readonly minChunk?: number | undefined
  /** Reading pauses while this many bytes wait for the consumer. Default 1 MiB. */
  readonly maxChunk?: number | undefined
}

/** The agents of one client; `destroy` closes every socket. */
export interface Agents {
  readonly http: Http.Agent
  readonly https: Https.Agent
  readonly insecure: Https.Agent
  readonly destroy: () => void
}

/** Make the keep-alive agents. */
export const makeAgents = (options: Options = {}): Agents => {
  const common = {
    keepAlive: true,
    scheduling: "lifo" as const,
    maxSockets: options.maxSockets ?? Infinity,
    maxFreeSockets: options.maxFreeSockets ?? 64
  }
  const tls = { ...options.tls } as Https.AgentOptions
  const http = new Http.Agent(common)
  const https = new Https.Agent({ ...common, ...tls })
  const insecure = new Https.Agent({ ...common, ...tls, rejectUnauthorized: false })
  return {
    http,
    https,
    insecure,
    destroy: () => {
      http.destroy()
      https.destroy()
      insecure.destroy()
    }
  }
}

const defaultMin = 256 * 1024
const defaultMax = 1024 * 1024

/** `[::1]` → `::1`: `node:http` wants the bare address. */
const bareHost = (hostname: string) =>
  hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname

/** An error with the code `node:net` gives its timeouts, which `RegistryClient` reports as `Timeout`. */
const timeoutError = (message: string) => Object.assign(new Error(message), { code: "ETIMEDOUT" })

/**
 * Make the `HttpClient` on the given agents. It can also enforce a response timeout itself
 * (`RegistryClient.ResponseTimeoutTypeId`): the same client with another `responseTimeout`.
 */
export const make = (agents: Agents, options: Options = {}): HttpClient.HttpClient & WithResponseTimeout =>
  Object.assign(makeClient(agents, options), {
    [ResponseTimeoutTypeId]: (millis: number) => make(agents, { ...options, responseTimeout: millis })
  })

const makeClient = (agents: Agents, options: Options): HttpClient.HttpClient => {
  const insecureHosts = new Set(options.insecureHosts ?? [])
  const min = Math.max(1, options.minChunk ?? defaultMin)
  const max = Math.max(min, options.maxChunk ?? defaultMax)
  const socketTimeout = options.socketTimeout ?? 0
  const responseTimeout = options.responseTimeout ?? 0
  // worded as RegistryClient words its own timeouts ("no response within 1m")
  const noResponse = `no response within ${Duration.format(Duration.millis(responseTimeout))}`
  return HttpClient.make((request, url, signal) =>
    Effect.flatMap(
      bodySource(request),
      (source) =>
        Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((resume) => {
          const secure = url.protocol === "https:"
          const agent = secure ? (insecureHosts.has(url.host) ? agents.insecure : agents.https) : agents.http
          let response: NodeResponse | undefined
          let req: Http.ClientRequest
          try {
            req = (secure ? Https : Http).request({
              agent,
              protocol: url.protocol,
              hostname: bareHost(url.hostname),
              port: url.port,
              path: url.pathname + url.search,
              method: request.method,
              headers: request.headers,
              signal
            })
          } catch (cause) {
            resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause })))
            return
          }
          const timer = responseTimeout > 0
            ? setTimeout(() => req.destroy(timeoutError(noResponse)), responseTimeout)
            : undefined
          req.on("error", (cause) => {
            clearTimeout(timer)
            if (response !== undefined) response.reader.fail(cause)
            else resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause })))
          })
          req.once("response", (message: Http.IncomingMessage) => {
            clearTimeout(timer)
            response = new NodeResponse(request, req, message, new BodyReader(message, min, max))
            resume(Effect.succeed(response))
          })
          if (socketTimeout > 0) {
            req.setTimeout(socketTimeout, () => {
              req.destroy(timeoutError(`no traffic on the connection for ${socketTimeout} ms`))
            })
          }
          send(req, source)
          return Effect.sync(() => {
            clearTimeout(timer)
            if (response === undefined) req.destroy()
          })
        })
    )
  )
}

/** A request body as `node:http` takes it. */
type Source =
  | { readonly _tag: "None" }
  | { readonly _tag: "Bytes"; readonly bytes: Uint8Array | string }
  | { readonly _tag: "Readable"; readonly readable: Readable }

const none: Source = { _tag: "None" }

const isReadable = (value: unknown): value is Readable =>
  typeof value === "object" && value !== null && typeof (value as Readable).pipe === "function" &&
  typeof (value as Readable).on === "function"

/** Turn the request's body into something `node:http` can send. */
const bodySource = (
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<Source, HttpClientError.RequestError> => {
  const body: HttpBody.HttpBody = request.body
  switch (body._tag) {
    case "Empty":
      return Effect.succeed(none)
    case "Uint8Array":
      return Effect.succeed({ _tag: "Bytes", bytes: body.body })
    case "Raw": {
      const raw = body.body
      if (raw instanceof Uint8Array || typeof raw === "string") return Effect.succeed({ _tag: "Bytes", bytes: raw })
      if (isReadable(raw)) return Effect.succeed({ _tag: "Readable", readable: raw })
      if (raw instanceof ReadableStream) {
        return Effect.succeed({ _tag: "Readable", readable: Readable.fromWeb(raw as never) })
      }
      return Effect.fail(
        new HttpClientError.RequestError({ request, reason: "Encode", cause: new TypeError("unsupported raw body") })
      )
    }
    case "Stream":
      return Effect.map(NodeStream.toReadable(body.stream), (readable) => ({ _tag: "Readable", readable }))
    case "FormData": {
      const web = new Response(body.formData)
      return Effect.sync(() => ({
        _tag: "Readable",
        readable: Readable.fromWeb(web.body! as never)
      }))
    }
  }
}

/** Write the body: bytes at once, streams piped with backpressure (a failing source breaks the request). */
const send = (req: Http.ClientRequest, source: Source) => {
  switch (source._tag) {
    case "None":
      req.end()
      return
    case "Bytes":
      req.end(source.bytes)
      return
    case "Readable": {
      const readable = source.readable
      readable.once("error", (cause) => req.destroy(cause))
      req.once("close", () => {
        if (!readable.readableEnded) readable.destroy()
      })
      readable.pipe(req)
    }
  }
}

/**
 * The headers `node:http` parsed, except a repeated `Location`: node keeps only its first value,
 * silently; it is kept joined with ", " (as fetch joins it) so that `RegistryClient` sees a hostile
 * answer and refuses it instead of following whichever value node kept.
 */
const responseHeaders = (message: Http.IncomingMessage): Record<string, string | Array<string>> => {
  const headers = message.headers as Record<string, string | Array<string>>
  if (headers["location"] === undefined) return headers
  const locations = message.headersDistinct["location"]
  return locations !== undefined && locations.length > 1 ? { ...headers, location: locations.join(", ") } : headers
}

/** A response on `node:http`'s `IncomingMessage`, its body read by a `BodyReader`. */
class NodeResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId

  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    readonly req: Http.ClientRequest,
    readonly message: Http.IncomingMessage,
    readonly reader: BodyReader
  ) {
    super()
  }

  get status(): number {
    return this.message.statusCode ?? 0
  }

  private cachedHeaders: Headers.Headers | undefined
  get headers(): Headers.Headers {
    return this.cachedHeaders ??= Headers.fromInput(responseHeaders(this.message))
  }

  private cachedCookies: Cookies.Cookies | undefined
  get cookies(): Cookies.Cookies {
    if (this.cachedCookies !== undefined) return this.cachedCookies
    const header = this.message.headers["set-cookie"]
    return this.cachedCookies = header === undefined ? Cookies.empty : Cookies.fromSetCookie(header)
  }

  get remoteAddress(): Option.Option<string> {
    return Option.fromNullable(this.message.socket?.remoteAddress)
  }

  private error(cause: unknown) {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }

  /** One pull: the next piece, the end (`None`), or the error. */
  private readonly pullOnce: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<HttpClientError.ResponseError>> =
    Effect.async((resume) => {
      let sync = true
      let result: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<HttpClientError.ResponseError>> | undefined
      this.reader.pull((pulled: Pulled) => {
        const effect = pulled._tag === "Bytes"
          ? Effect.succeed(Chunk.unsafeFromArray(pulled.pieces))
          : pulled._tag === "End"
          ? Effect.fail(Option.none())
          : Effect.fail(Option.some(this.error(pulled.cause)))
        if (sync) result = effect
        else resume(effect)
      })
      sync = false
      if (result !== undefined) return resume(result)
      return Effect.sync(() => this.reader.cancelPull())
    })

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return Stream.repeatEffectChunkOption(this.pullOnce).pipe(
      // a body left before its end: the connection cannot be reused for the next request
      Stream.ensuring(Effect.sync(() => {
        if (!this.reader.done) this.req.destroy()
      }))
    )
  }

  private cachedBytes: Effect.Effect<Uint8Array, HttpClientError.ResponseError> | undefined
  private get bytes(): Effect.Effect<Uint8Array, HttpClientError.ResponseError> {
    // read whole without a Stream: the manifests, tokens and error bodies read this way are small
    const read = Effect.async<Uint8Array, HttpClientError.ResponseError>((resume) => {
      const parts: Array<Uint8Array> = []
      const next = (): void =>
        this.reader.pull((pulled) => {
          if (pulled._tag === "Bytes") {
            parts.push(...pulled.pieces)
            return next()
          }
          if (pulled._tag === "Error") return resume(Effect.fail(this.error(pulled.cause)))
          resume(Effect.succeed(parts.length === 1 ? parts[0]! : new Uint8Array(Buffer.concat(parts))))
        })
      next()
      return Effect.sync(() => {
        this.reader.cancelPull()
        if (!this.reader.done) this.req.destroy()
      })
    })
    return this.cachedBytes ??= Effect.runSync(Effect.cached(read))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.map(
      this.bytes,
      (bytes) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
    )
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return Effect.map(this.bytes, (bytes) => new TextDecoder().decode(bytes))
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => (text === "" ? null : JSON.parse(text) as unknown),
        catch: (cause) => this.error(cause)
      }))
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => UrlParams.fromInput(new URLSearchParams(text)),
        catch: (cause) => this.error(cause)
      }))
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.flatMap(this.bytes, (bytes) =>
      Effect.tryPromise({
        try: () =>
          new Response(bytes as unknown as BodyInit, { headers: this.message.headers as Record<string, string> })
            .formData() as Promise<
              FormData
            >,
        catch: (cause) => this.error(cause)
      }))
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}

/** The agents for the life of a scope, then every socket closed. */
export const scopedAgents = (options: Options = {}): Effect.Effect<Agents, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.sync(() => makeAgents(options)), (agents) => Effect.sync(() => agents.destroy()))
