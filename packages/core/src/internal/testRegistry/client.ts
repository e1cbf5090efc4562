/**
 * An `HttpClient` that answers every request with a handler over web `Request` and `Response`
 * objects, in memory: no sockets. Stream bodies are collected first (it is a test server).
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { concat } from "./storage.js"

type Handler = (request: Request) => Promise<Response>

const transportError = (request: HttpClientRequest.HttpClientRequest, cause: unknown) =>
  new HttpClientError.RequestError({ request, reason: "Transport", cause })

/** The body of a client request as a `fetch` body. */
const bodyOf = (
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<BodyInit | undefined, HttpClientError.RequestError> => {
  const body = request.body
  switch (body._tag) {
    case "Empty":
      return Effect.succeed(undefined)
    case "Uint8Array":
      return Effect.succeed(body.body as Uint8Array<ArrayBuffer>)
    case "Raw":
      return Effect.succeed(body.body as BodyInit)
    case "FormData":
      return Effect.succeed(body.formData)
    case "Stream":
      return Stream.runCollect(body.stream).pipe(
        Effect.map((chunks) => concat(Chunk.toReadonlyArray(chunks)) as Uint8Array<ArrayBuffer>),
        Effect.mapError((cause) => transportError(request, cause))
      )
  }
}

/** An `HttpClient` whose requests the handler answers. */
export const make = (handler: Handler): HttpClient.HttpClient =>
  HttpClient.make((request, url, signal) =>
    Effect.flatMap(bodyOf(request), (body) =>
      Effect.tryPromise({
        try: () => {
          const init: RequestInit & { duplex?: "half" } = {
            method: request.method,
            headers: request.headers,
            signal
          }
          if (body !== undefined) {
            init.body = body
            if (typeof ReadableStream !== "undefined" && body instanceof ReadableStream) init.duplex = "half"
          }
          return handler(new Request(url, init))
        },
        catch: (cause) => transportError(request, cause)
      }).pipe(Effect.map((response) => HttpClientResponse.fromWeb(request, response))))
  )
