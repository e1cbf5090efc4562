/**
 * Serve `RegistryTest`, the in-memory OCI registry, over real HTTP on a loopback port (like
 * `crane registry serve`): for demos, for trying the CLI, and for tests of programs that need a
 * registry URL rather than an `HttpClient` layer. With `storage: dir` the content lives on disk in
 * distribution's layout (what `registry:2` writes), so a restart keeps everything.
 *
 * @since 0.1.0
 */
import type { Hasher } from "@ocireg/core/Digest"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { pipeline, Readable } from "node:stream"
import type { ReadableStream as NodeReadableStream } from "node:stream/web"
import * as FsStorage from "./internal/registryFsStorage.js"

/**
 * Where and how to serve.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Omit<RegistryTest.Options, "storage"> {
  /**
   * Where the content lives: a directory (created when missing; distribution's filesystem
   * layout under `docker/registry/v2`, kept across restarts), a `RegistryTest.Storage`, or
   * (the default) memory.
   */
  readonly storage?: string | RegistryTest.Storage | undefined
  /** Default `127.0.0.1`. */
  readonly hostname?: string | undefined
  /** Default 0: any free port. */
  readonly port?: number | undefined
}

/**
 * A running server.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunningServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  /** `127.0.0.1:PORT`, as it goes in image references. */
  readonly host: string
  readonly port: number
  /** The registry behind it, for inspection. */
  readonly registry: RegistryTest.Service
  /**
   * `http://127.0.0.1:PORT2`: the storage service blob downloads redirect to, on its own port,
   * when the dialect redirects them (Docker Hub, GHCR, ECR, GAR, ACR, Quay).
   */
  readonly storageUrl: string | undefined
}

/**
 * The server could not listen.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServeError extends Data.TaggedError("ServeError")<{ readonly reason: string }> {}

/**
 * The running server as a service.
 *
 * @since 0.1.0
 * @category services
 */
export class RegistryServer
  extends Context.Tag("@ocireg/platform-node/RegistryServer")<RegistryServer, RunningServer>()
{}

const toRequest = (req: Http.IncomingMessage, origin: string): Request => {
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v)
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD"
  return new Request(new URL(req.url ?? "/", origin), {
    method: req.method ?? "GET",
    headers,
    ...(hasBody ? { body: bodyStream(req), duplex: "half" } : {})
  } as RequestInit)
}

/**
 * The request body as a web stream. Unlike `Readable.toWeb`, a stream the registry cancels (it
 * answered before reading everything: a body over a dialect's limit) drains the rest quietly
 * instead of throwing "Controller is already closed" from the socket's next chunk.
 */
const bodyStream = (req: Http.IncomingMessage): ReadableStream<Uint8Array> => {
  let done = false
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on("data", (chunk: Buffer) => {
        if (done) return
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
        if ((controller.desiredSize ?? 1) <= 0) req.pause()
      })
      req.once("end", () => {
        if (done) return
        done = true
        controller.close()
      })
      req.once("error", (error) => {
        if (done) return
        done = true
        controller.error(error)
      })
    },
    pull() {
      req.resume()
    },
    cancel() {
      done = true
      req.resume()
    }
  }, { highWaterMark: 4 })
}

const send = async (response: Response, res: Http.ServerResponse) => {
  const headers: Record<string, string> = {}
  response.headers.forEach((value, name) => {
    headers[name] = value
  })
  res.writeHead(response.status, headers)
  if (response.body === null) return void res.end()
  // pipeline, not pipe: a client that goes away cancels the body (and closes a blob file on disk)
  pipeline(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), res, () => undefined)
}

/**
 * Start serving; the server stops when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const serve = (options: Options = {}): Effect.Effect<RunningServer, ServeError, Scope.Scope | Hasher> =>
  Effect.gen(function*() {
    const hostname = options.hostname ?? "127.0.0.1"
    const hostOf = (port: number) => `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`
    // both ports answer with the registry's handler, made once the storage port is known
    const started: { registry?: RegistryTest.Service } = {}
    const listener = (req: Http.IncomingMessage, res: Http.ServerResponse) => {
      const origin = `http://${req.headers.host ?? hostname}`
      if (started.registry === undefined) return void res.writeHead(503).end()
      started.registry.handle(toRequest(req, origin)).then((response) => send(response, res)).catch(() => {
        if (!res.headersSent) res.writeHead(500)
        res.end()
      })
    }
    // the storage service of a dialect that redirects blob downloads: a second origin
    const storagePort = RegistryTest.dialectInfo(options.dialect ?? "distribution").blobStorage === undefined
      ? undefined
      : yield* listen(Http.createServer(listener), hostname, 0)
    const storageUrl = storagePort === undefined ? undefined : `http://${hostOf(storagePort)}`
    const { storage: where, ...rest } = options
    const storage = typeof where === "string"
      ? yield* Effect.try({
        try: () => FsStorage.make(where),
        catch: (cause) => new ServeError({ reason: `cannot keep the registry in ${where}: ${String(cause)}` })
      })
      : where
    const registry = yield* RegistryTest.make({
      ...rest,
      ...(storage !== undefined ? { storage } : {}),
      ...(storageUrl !== undefined ? { storageOrigin: storageUrl } : {})
    })
    started.registry = registry
    const port = yield* listen(Http.createServer(listener), hostname, options.port ?? 0)
    const host = hostOf(port)
    return { url: `http://${host}`, host, port, registry, storageUrl }
  })

/** Listen on a port until the scope closes. */
const listen = (server: Http.Server, hostname: string, port: number) =>
  Effect.acquireRelease(
    Effect.async<number, ServeError>((resume) => {
      server.once("error", (error) => resume(Effect.fail(new ServeError({ reason: error.message }))))
      server.listen(port, hostname, () => resume(Effect.succeed((server.address() as AddressInfo).port)))
    }),
    () =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

/**
 * The server as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<RegistryServer, ServeError, Hasher> =>
  Layer.scoped(RegistryServer, serve(options))
