/**
 * ocireg's `node:http` client against small local servers: keep-alive after every method, large
 * response pieces, backpressure, no redirects followed, interruption, upload bodies that keep
 * their `Content-Length`, and TLS for hosts marked insecure.
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Registry from "@ocireg/core/Registry"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as NodeHttpClient from "@ocireg/platform-node/NodeHttpClient"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import * as https from "node:https"
import type * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { describeIntegration, exec } from "../../../test-support/index.js"

interface Server {
  readonly url: string
  readonly connections: () => number
  readonly close: () => Promise<void>
}

const listen = (server: http.Server | https.Server, scheme: "http" | "https"): Promise<Server> =>
  new Promise((resolve) => {
    let connections = 0
    const sockets = new Set<net.Socket>()
    server.on(scheme === "https" ? "secureConnection" : "connection", (socket: net.Socket) => {
      connections++
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      resolve({
        url: `${scheme}://127.0.0.1:${port}`,
        connections: () => connections,
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          })
      })
    })
  })

const withServer = <A, E>(
  handler: http.RequestListener,
  use: (server: Server) => Effect.Effect<A, E, HttpClient.HttpClient>,
  options: NodeHttpClient.Options = {}
) =>
  Effect.acquireUseRelease(
    Effect.promise(() => listen(http.createServer(handler), "http")),
    (server) => Effect.provide(use(server), NodeHttpClient.layer(options)),
    (server) => Effect.promise(() => server.close())
  )

const readAll = (req: http.IncomingMessage) =>
  new Promise<Buffer>((resolve) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks)))
  })

describe("NodeHttpClient", () => {
  it.live("keeps one connection for sequential HEAD, GET, PUT and DELETE requests", () =>
    withServer(
      (req, res) => {
        void readAll(req).then(() => {
          res.writeHead(200, { "content-type": "text/plain", "content-length": "5" })
          res.end(req.method === "HEAD" ? undefined : "hello")
        })
      },
      (server) =>
        Effect.gen(function*() {
          const client = yield* HttpClient.HttpClient
          for (let i = 0; i < 5; i++) {
            const head = yield* client.execute(HttpClientRequest.head(`${server.url}/x`))
            assert.strictEqual(head.status, 200)
            const get = yield* client.execute(HttpClientRequest.get(`${server.url}/x`))
            assert.strictEqual(yield* get.text, "hello")
            const put = yield* client.execute(
              HttpClientRequest.put(`${server.url}/x`).pipe(HttpClientRequest.bodyUint8Array(new Uint8Array(10)))
            )
            yield* put.text
            // a body nobody reads still ends and frees the connection
            yield* client.execute(HttpClientRequest.del(`${server.url}/x`))
          }
          // the last unread body is freed by its own reading: wait for the socket to go back
          yield* Effect.sleep("50 millis")
          const again = yield* client.execute(HttpClientRequest.get(`${server.url}/x`))
          yield* again.text
          assert.strictEqual(server.connections(), 1)
        })
    ))

  it.live("hands a fast body over in pieces larger than socket reads", () => {
    const body = crypto.randomBytes(8 * 1024 * 1024)
    return withServer(
      (_req, res) => {
        res.writeHead(200, { "content-length": String(body.length) })
        res.end(body)
      },
      (server) =>
        Effect.gen(function*() {
          const client = yield* HttpClient.HttpClient
          const response = yield* client.execute(HttpClientRequest.get(`${server.url}/big`))
          let pulls = 0
          const parts: Array<Uint8Array> = []
          yield* Stream.runForEachChunk(response.stream, (chunk) =>
            Effect.andThen(Effect.sleep("5 millis"), () => {
              pulls++
              parts.push(...Chunk.toReadonlyArray(chunk))
            }))
          assert.isTrue(Buffer.concat(parts).equals(body))
          // 128 socket reads of 64 KiB; a slow consumer gets them in at most a quarter as many pieces
          assert.isAtMost(pulls, 32)
        })
    )
  })

  it.live("pauses the socket while the consumer does not pull (backpressure)", () => {
    let written = 0
    let finished = false
    const piece = Buffer.alloc(64 * 1024, 1)
    const total = 256 * 1024 * 1024
    return withServer(
      (_req, res) => {
        res.writeHead(200, { "content-length": String(total) })
        const pump = (): void => {
          while (written < total) {
            written += piece.length
            if (!res.write(piece)) {
              res.once("drain", pump)
              return
            }
          }
          finished = true
          res.end()
        }
        pump()
      },
      (server) =>
        Effect.gen(function*() {
          const client = yield* HttpClient.HttpClient
          const response = yield* client.execute(HttpClientRequest.get(`${server.url}/big`))
          const first = yield* Stream.runHead(response.stream.pipe(Stream.take(1)))
          assert.isTrue(first._tag === "Some")
          yield* Effect.sleep("500 millis")
          // the reader holds at most 1 MiB; kernel socket buffers hold a few more
          assert.isFalse(finished)
          assert.isBelow(written, 64 * 1024 * 1024)
        })
    )
  })

  it.live("returns redirects instead of following them", () =>
    withServer(
      (req, res) => {
        if (req.url === "/from") res.writeHead(307, { location: "/to", "content-length": "0" }).end()
        else res.writeHead(200, { "content-length": "2" }).end("to")
      },
      (server) =>
        Effect.gen(function*() {
          const client = yield* HttpClient.HttpClient
          const response = yield* client.execute(
            HttpClientRequest.get(`${server.url}/from`, { headers: { authorization: "Bearer secret" } })
          )
          assert.strictEqual(response.status, 307)
          assert.strictEqual(response.headers["location"], "/to")
        })
    ))

  it.live("aborts the request when the fiber is interrupted", () => {
    let closed: (() => void) | undefined
    const sawClose = new Promise<void>((resolve) => (closed = resolve))
    return withServer(
      (req) => {
        req.socket.on("close", () => closed?.())
      },
      (server) =>
        Effect.gen(function*() {
          const client = yield* HttpClient.HttpClient
          const fiber = yield* Effect.fork(client.execute(HttpClientRequest.get(`${server.url}/hang`)))
          yield* Effect.sleep("100 millis")
          yield* Fiber.interrupt(fiber)
          yield* Effect.promise(() => sawClose)
        })
    )
  })

  it.live("fails a request whose socket is silent for longer than socketTimeout", () =>
    withServer(
      () => undefined,
      (server) =>
        Effect.gen(function*() {
          const client = yield* HttpClient.HttpClient
          const error = yield* Effect.flip(client.execute(HttpClientRequest.get(`${server.url}/hang`)))
          assert.strictEqual(error._tag, "RequestError")
          assert.include(String((error.cause as Error).message), "no traffic")
        }),
      { socketTimeout: 200 }
    ))

  it.live("fails a request whose response headers do not come within responseTimeout, not one whose body is slow", () => {
    let closed = 0
    return withServer(
      (req, res) => {
        req.socket.on("close", () => closed++)
        if (req.url === "/slow-body") {
          res.writeHead(200, { "content-length": "2" })
          res.write("a")
          setTimeout(() => res.end("b"), 400)
        }
      },
      (server) =>
        Effect.gen(function*() {
          const client = yield* HttpClient.HttpClient
          const started = Date.now()
          const error = yield* Effect.flip(client.execute(HttpClientRequest.get(`${server.url}/hang`)))
          assert.isAtLeast(Date.now() - started, 190)
          assert.isBelow(Date.now() - started, 2000)
          assert.strictEqual(error._tag, "RequestError")
          assert.strictEqual((error.cause as { code?: string }).code, "ETIMEDOUT")
          assert.include(String((error.cause as Error).message), "no response within 200")
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
          assert.strictEqual(closed, 1, "the connection of the request that timed out is closed")
          const response = yield* client.execute(HttpClientRequest.get(`${server.url}/slow-body`))
          assert.strictEqual(yield* response.text, "ab", "the timer stops with the headers")
        }),
      { responseTimeout: 200 }
    )
  })

  it.live("offers RegistryClient a copy of itself with a response timeout", () =>
    withServer(
      () => undefined,
      (server) =>
        Effect.gen(function*() {
          const client = yield* HttpClient.HttpClient
          assert.isTrue(RegistryClient.hasResponseTimeout(client))
          if (!RegistryClient.hasResponseTimeout(client)) return
          const timed = client[RegistryClient.ResponseTimeoutTypeId](100)
          const error = yield* Effect.flip(timed.execute(HttpClientRequest.get(`${server.url}/hang`)))
          assert.strictEqual((error.cause as { code?: string }).code, "ETIMEDOUT")
        })
    ))

  it.live("NodeRegistry applies requestTimeout through it: a typed, retried Timeout", () => {
    let requests = 0
    return withServer(
      () => void requests++,
      (server) =>
        Effect.gen(function*() {
          const started = Date.now()
          const error = yield* Effect.flip(Registry.headManifest(`${server.url.slice("http://".length)}/app:1`))
          assert.strictEqual(error._tag === "TransportError" && error.reason, "Timeout")
          assert.include(error.message, "no response within 300ms")
          assert.include(error.message, "ETIMEDOUT", "enforced by the client itself, not by a timer fiber")
          assert.strictEqual(requests, 2, "retried once, as retrySchedule says")
          assert.isBelow(Date.now() - started, 3000)
        }).pipe(
          Effect.provide(
            NodeRegistry.layer({ requestTimeout: "300 millis", retrySchedule: Schedule.recurs(1) }).pipe(
              Layer.provide(CredentialStore.layerAnonymous)
            )
          )
        )
    )
  })

  it.live("sends stream and file bodies with their Content-Length, not chunked", () => {
    const seen: Array<{ length: string | undefined; chunked: boolean; size: number }> = []
    const bytes = crypto.randomBytes(3 * 1024 * 1024 + 7)
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ocireg-nodehttp-")), "blob")
    fs.writeFileSync(file, bytes)
    return withServer(
      (req, res) => {
        void readAll(req).then((body) => {
          seen.push({
            length: req.headers["content-length"],
            chunked: req.headers["transfer-encoding"] !== undefined,
            size: body.length
          })
          res.writeHead(201, { "content-length": "0" })
          res.end()
        })
      },
      (server) =>
        Effect.gen(function*() {
          const client = yield* HttpClient.HttpClient
          const stream = Stream.fromIterable([bytes.subarray(0, 1000), bytes.subarray(1000)])
          yield* client.execute(
            HttpClientRequest.put(`${server.url}/s`).pipe(
              HttpClientRequest.setBody(HttpBody.stream(stream, "application/octet-stream", bytes.length))
            )
          )
          yield* client.execute(
            HttpClientRequest.put(`${server.url}/f`).pipe(
              HttpClientRequest.setBody(
                HttpBody.raw(fs.createReadStream(file), {
                  contentType: "application/octet-stream",
                  contentLength: bytes.length
                })
              )
            )
          )
          assert.deepStrictEqual(seen, [
            { length: String(bytes.length), chunked: false, size: bytes.length },
            { length: String(bytes.length), chunked: false, size: bytes.length }
          ])
          fs.rmSync(path.dirname(file), { recursive: true, force: true })
        })
    )
  })
})

describeIntegration("NodeHttpClient over TLS", ["openssl"], () => {
  it.live("verifies certificates, except for hosts marked insecure", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ocireg-tls-"))
      const key = path.join(dir, "key.pem")
      const cert = path.join(dir, "cert.pem")
      yield* Effect.promise(() =>
        exec("openssl", [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:prime256v1",
          "-nodes",
          "-days",
          "1",
          "-subj",
          "/CN=127.0.0.1",
          "-addext",
          "subjectAltName=IP:127.0.0.1",
          "-keyout",
          key,
          "-out",
          cert
        ])
      )
      const server = yield* Effect.promise(() =>
        listen(
          https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (_req, res) => {
            res.writeHead(200, { "content-length": "2" })
            res.end("ok")
          }),
          "https"
        )
      )
      const host = new URL(server.url).host
      const get = Effect.flatMap(HttpClient.HttpClient, (client) =>
        Effect.flatMap(client.execute(HttpClientRequest.get(`${server.url}/`)), (r) => r.text))
      const refused = yield* Effect.flip(Effect.provide(get, NodeHttpClient.layer()))
      assert.strictEqual(refused._tag, "RequestError")
      assert.strictEqual(yield* Effect.provide(get, NodeHttpClient.layer({ insecureHosts: [host] })), "ok")
      assert.strictEqual(
        yield* Effect.provide(get, NodeHttpClient.layer({ tls: { ca: fs.readFileSync(cert, "utf8") } })),
        "ok"
      )
      yield* Effect.promise(() =>
        server.close()
      )
      fs.rmSync(dir, { recursive: true, force: true })
    }))
})
