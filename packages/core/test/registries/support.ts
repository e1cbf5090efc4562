/**
 * Helpers for the registry-dialect unit tests: a fake registry (see `../support/fakeRegistry.ts`)
 * whose credential store counts its lookups, so a test can tell whether the client forgot a
 * credential after a refusal.
 */
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as RegistryClient from "@ocireg/core/RegistryClient"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { fakeRegistry, type Handler, json, sha256Hex, TestHasher } from "../support/fakeRegistry.js"

export const countingFake = (
  handler: Handler,
  options: {
    readonly credential?: CredentialStore.Credential | undefined
    readonly client?: RegistryClient.Options
  } = {}
) => {
  const fake = fakeRegistry(handler)
  let lookups = 0
  const store = Layer.succeed(
    CredentialStore.CredentialStore,
    CredentialStore.make(() =>
      Effect.sync(() => {
        lookups++
        return Option.fromNullable(options.credential)
      })
    )
  )
  const layer = Layer.merge(
    RegistryClient.layer({ retrySchedule: undefined, ...options.client }).pipe(
      Layer.provide(Layer.succeed(HttpClient.HttpClient, fake.http)),
      Layer.provide(store)
    ),
    TestHasher
  )
  return { log: fake.log, layer, lookups: () => lookups }
}

/** The requests that went to `host`. */
export const to = <A extends { readonly url: URL }>(log: ReadonlyArray<A>, host: string): Array<A> =>
  log.filter((r) => r.url.host === host)

/** A recorded request with its body bytes. */
export interface WithBody {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

const bodyBytes = (body: HttpBody.HttpBody): Effect.Effect<Uint8Array> => {
  switch (body._tag) {
    case "Uint8Array":
      return Effect.succeed(body.body)
    case "Stream":
      return body.stream.pipe(
        Stream.runCollect,
        Effect.map((chunks) => {
          const all = Chunk.toReadonlyArray(chunks)
          const out = new Uint8Array(all.reduce((n, b) => n + b.length, 0))
          let at = 0
          for (const b of all) {
            out.set(b, at)
            at += b.length
          }
          return out
        }),
        Effect.orDie
      )
    default:
      return Effect.succeed(new Uint8Array(0))
  }
}

/** A fake registry whose handler sees request bodies. */
export const bodyFake = (
  handler: (request: WithBody) => Response | Promise<Response>,
  options: {
    readonly credentials?: Readonly<Record<string, CredentialStore.Credential>>
    readonly client?: RegistryClient.Options
  } = {}
) => {
  const log: Array<WithBody> = []
  const http = HttpClient.make((request, url) =>
    Effect.flatMap(bodyBytes(request.body), (body) =>
      Effect.promise(async () => {
        const recorded = { method: request.method, url, headers: { ...request.headers }, body }
        log.push(recorded)
        return HttpClientResponse.fromWeb(request, await handler(recorded))
      }))
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
  return { log, layer }
}

/**
 * A small upload server for one repository: `POST` opens a session (answering a relative
 * `Location`), `PATCH` appends, `PUT ?digest=` completes, `GET` reports `Range`, blob `HEAD`/`GET`
 * serve what was completed. `maxBody` refuses larger bodies (413, or GHCR's 416 text), `minChunk`
 * is announced as `OCI-Chunk-Min-Length`.
 */
export const uploadServer = (options: {
  readonly maxBody?: number | undefined
  readonly tooLarge?: "413" | "ghcr416" | undefined
  readonly minChunk?: number | undefined
  readonly mount?: ((request: WithBody) => Response | undefined) | undefined
  readonly prefix?: string | undefined
} = {}) => {
  const prefix = options.prefix ?? ""
  const sessions = new Map<string, Array<Uint8Array>>()
  const blobs = new Map<string, Uint8Array>()
  let next = 0
  const sizeOf = (parts: ReadonlyArray<Uint8Array>) => parts.reduce((n, b) => n + b.length, 0)
  const refuse = () =>
    options.tooLarge === "ghcr416"
      ? json({
        errors: [{
          code: "REQUESTED_RANGE_NOT_SATISFIABLE",
          message: "the request body is too large and exceeds the maximum permissible limit of 4.00MiB"
        }]
      }, { status: 416 })
      : new Response("<html><body>413 Request Entity Too Large</body></html>", { status: 413 })
  const handle = (r: WithBody): Response => {
    const path = r.url.pathname.startsWith(prefix) ? r.url.pathname.slice(prefix.length) : "<outside prefix>"
    const uploads = "/v2/app/blobs/uploads/"
    if (r.method === "POST" && path === uploads) {
      if (r.url.searchParams.has("mount") && options.mount) {
        const answer = options.mount(r)
        if (answer) return answer
      }
      const id = `s${++next}`
      sessions.set(id, [])
      return new Response(null, {
        status: 202,
        headers: {
          location: id,
          range: "0-0",
          ...(options.minChunk !== undefined ? { "oci-chunk-min-length": String(options.minChunk) } : {})
        }
      })
    }
    if (path.startsWith(uploads)) {
      const parts = sessions.get(path.slice(uploads.length))
      if (parts === undefined) return json({ errors: [{ code: "BLOB_UPLOAD_UNKNOWN" }] }, { status: 404 })
      const here = { location: r.url.pathname, range: `0-${Math.max(0, sizeOf(parts) - 1)}` }
      if (r.method === "GET") return new Response(null, { status: 204, headers: here })
      if (options.maxBody !== undefined && r.body.length > options.maxBody) return refuse()
      if (r.method === "PATCH") {
        parts.push(r.body)
        return new Response(null, { status: 202, headers: { ...here, range: `0-${sizeOf(parts) - 1}` } })
      }
      if (r.method === "PUT") {
        parts.push(r.body)
        const all = new Uint8Array(sizeOf(parts))
        let at = 0
        for (const b of parts) {
          all.set(b, at)
          at += b.length
        }
        const digest = `sha256:${sha256Hex(all)}`
        if (r.url.searchParams.get("digest") !== digest) {
          return json({ errors: [{ code: "DIGEST_INVALID" }] }, { status: 400 })
        }
        blobs.set(digest, all)
        return new Response(null, { status: 201, headers: { "docker-content-digest": digest } })
      }
    }
    const blob = /^\/v2\/app\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path)
    if (blob && (r.method === "HEAD" || r.method === "GET")) {
      const bytes = blobs.get(blob[1]!)
      if (bytes === undefined) return new Response(null, { status: 404 })
      return new Response(r.method === "HEAD" ? null : (bytes as Uint8Array<ArrayBuffer>), {
        status: 200,
        headers: { "content-length": String(bytes.length), "docker-content-digest": blob[1]! }
      })
    }
    return json({ errors: [{ code: "NAME_UNKNOWN" }] }, { status: 404 })
  }
  return { handle, blobs }
}
