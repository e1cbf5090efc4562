/**
 * A scriptable fake `HttpClient` for core unit tests: a handler answers each request with a web
 * `Response`, and every request is recorded (method, URL, headers) for assertions.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { sha256 } from "@noble/hashes/sha2"
import { bytesToHex } from "@noble/hashes/utils"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import { Hasher } from "@ocireg/core/Digest"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

export interface Recorded {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
}

export type Handler = (request: Recorded) => Response | Promise<Response>

export const TestHasher = Layer.succeed(Hasher, {
  create: () => {
    const hash = sha256.create()
    return { update: (chunk) => void hash.update(chunk), hex: () => bytesToHex(hash.digest()) }
  }
})

export const sha256Hex = (bytes: Uint8Array | string) =>
  bytesToHex(sha256(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes))

/** A fake registry: the handler, the log of requests, and a layer with the client on top. */
export const fakeRegistry = (
  handler: Handler,
  options: {
    readonly credentials?: Readonly<Record<string, CredentialStore.Credential>>
    readonly client?: RegistryClient.Options
  } = {}
) => {
  const log: Array<Recorded> = []
  const http = HttpClient.make((request, url) =>
    Effect.promise(async () => {
      const recorded = { method: request.method, url, headers: { ...request.headers } }
      log.push(recorded)
      const response = await handler(recorded)
      return HttpClientResponse.fromWeb(request, response)
    })
  )
  const layer = Layer.mergeAll(
    RegistryClient.layer({ retrySchedule: undefined, ...options.client }).pipe(
      Layer.provide(Layer.succeed(HttpClient.HttpClient, http)),
      Layer.provide(
        options.credentials ? CredentialStore.layerStatic(options.credentials) : CredentialStore.layerAnonymous
      )
    ),
    TestHasher
  )
  return { log, layer, http }
}

export const json = (body: unknown, init: ResponseInit = {}) =>
  new Response(JSON.stringify(body), {
    ...init,
    headers: { "content-type": "application/json", ...(init.headers as Record<string, string> | undefined) }
  })
