/**
 * The CORS diagnostics with a stand-in `fetch` (no server): what a refused request, a hidden
 * `Location`, `Range` or `WWW-Authenticate` turn into.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as BlobSource from "@ocireg/core/BlobSource"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as MediaType from "@ocireg/core/MediaType"
import * as Registry from "@ocireg/core/Registry"
import * as BrowserCors from "@ocireg/platform-browser/BrowserCors"
import * as BrowserRegistry from "@ocireg/platform-browser/BrowserRegistry"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"

interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: Record<string, string>
}

/** A client whose `fetch` answers with `answer` and records what was sent. */
const withFetch = (answer: (request: Seen) => Response | Promise<Response>, seen: Array<Seen> = []) =>
  Layer.merge(
    BrowserRegistry.layer({ retrySchedule: Schedule.recurs(0) }).pipe(
      Layer.provide(CredentialStore.layerStatic({ "127.0.0.1:5999": CredentialStore.basic("u", Redacted.make("p")) }))
    ),
    Layer.succeed(
      FetchHttpClient.Fetch,
      (async (input: RequestInfo | URL, init?: RequestInit) => {
        const request = {
          method: init?.method ?? "GET",
          url: String(input),
          headers: Object.fromEntries(new Headers(init?.headers).entries())
        }
        seen.push(request)
        return answer(request)
      }) as typeof fetch
    )
  )

const refuse = () => Promise.reject(new TypeError("Failed to fetch"))

describe("BrowserCors", () => {
  it("lists what a preflight is for", () => {
    const get = HttpClientRequest.get("http://r/v2/", { headers: { accept: "application/json", "user-agent": "x" } })
    assert.deepStrictEqual(BrowserCors.preflightReasons(get), { method: undefined, headers: [] })
    const manifest = HttpClientRequest.get("http://r/v2/a/manifests/b", {
      headers: { accept: MediaType.manifestAccept }
    })
    assert.deepStrictEqual(BrowserCors.preflightReasons(manifest).headers, ["accept"])
    const patch = HttpClientRequest.patch("http://r/v2/a/blobs/uploads/x", {
      headers: {
        authorization: "Basic x",
        "content-range": "0-9",
        "content-type": "application/octet-stream",
        "content-length": "10"
      }
    })
    assert.deepStrictEqual(BrowserCors.preflightReasons(patch), {
      method: "PATCH",
      headers: ["authorization", "content-range", "content-type"]
    })
    const form = HttpClientRequest.post("http://r/token", { headers: { "content-type": "text/plain;charset=UTF-8" } })
    assert.deepStrictEqual(BrowserCors.preflightReasons(form), { method: undefined, headers: [] })
  })

  it("gives the headers a server must send", () => {
    const preflight = BrowserCors.preflightHeaders("https://app.example")
    assert.strictEqual(preflight["Access-Control-Allow-Origin"], "https://app.example")
    assert.include(preflight["Access-Control-Allow-Headers"], "authorization")
    assert.include(preflight["Access-Control-Allow-Methods"], "PATCH")
    const response = BrowserCors.responseHeaders()
    assert.strictEqual(response["Access-Control-Allow-Origin"], "*")
    for (const header of ["docker-content-digest", "location", "link", "www-authenticate", "range", "oci-subject"]) {
      assert.include(response["Access-Control-Expose-Headers"], header)
    }
  })

  it.effect("a refused simple request is a TransportError that names Access-Control-Allow-Origin", () =>
    Effect.gen(function*() {
      const seen: Array<Seen> = []
      const error = yield* Effect.flip(Registry.ping("127.0.0.1:5998")).pipe(Effect.provide(withFetch(refuse, seen)))
      assert.strictEqual(error._tag, "TransportError")
      assert.strictEqual(error._tag === "TransportError" && error.reason, "RequestFailed")
      assert.include(error.message, "Failed to fetch")
      assert.include(error.message, "CORS failure or a network failure")
      assert.include(error.message, `allow ${location.origin}`)
      assert.include(error.message, `Access-Control-Allow-Origin: ${location.origin}`)
      assert.notInclude(error.message, "preflighted")
      assert.strictEqual(seen.length, 1)
      assert.isUndefined(seen[0]!.headers["user-agent"], "browsers set their own User-Agent")
    }))

  it.effect("a refused preflighted request names the methods and headers to allow, never the credentials", () =>
    Effect.gen(function*() {
      // the registry asks for Basic auth, then the authenticated upload PATCH is refused
      const answer = ({ headers, method }: Seen) =>
        headers["authorization"] === undefined
          ? new Response(null, { status: 401, headers: { "www-authenticate": "Basic realm=\"r\"" } })
          : method === "HEAD"
          ? new Response(null, { status: 404 })
          : method === "POST"
          ? new Response(null, { status: 202, headers: { location: "/v2/a/blobs/uploads/s1", range: "0-0" } })
          : refuse()
      const bytes = new Uint8Array(300)
      const error = yield* Effect.flip(
        Effect.flatMap(
          BlobSource.fromBytes(bytes),
          (source) => Registry.uploadBlob("127.0.0.1:5999/a", source, { chunkSize: 100 })
        )
      ).pipe(Effect.provide(withFetch(answer)))
      assert.strictEqual(error._tag, "TransportError")
      assert.include(
        error.message,
        "PATCH is preflighted (method PATCH; headers authorization, content-range, content-type)"
      )
      assert.include(error.message, "Access-Control-Allow-Methods: PATCH")
      assert.include(error.message, "Access-Control-Allow-Headers: authorization, content-range, content-type")
      assert.include(error.message, "docker-registry answers 401")
      assert.notInclude(error.message, "Basic dTpw")
    }))

  it.effect("a same-origin failure is a network failure, not CORS", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Registry.ping(location.host)).pipe(Effect.provide(withFetch(refuse)))
      assert.include(error.message, "network failure")
      assert.include(error.message, "not CORS")
    }))

  it.effect("an upload session whose Location the browser hides says to expose Location", () =>
    Effect.gen(function*() {
      const answer = ({ method }: Seen) =>
        method === "HEAD" ? new Response(null, { status: 404 }) : new Response(null, { status: 202 })
      const error = yield* Effect.flip(
        Effect.flatMap(BlobSource.fromBytes(new Uint8Array(10)), (source) =>
          Registry.uploadBlob("127.0.0.1:5998/a", source))
      ).pipe(Effect.provide(withFetch(answer)))
      assert.strictEqual(error._tag, "InvalidResponse")
      assert.include(error.message, "no Location header is readable")
      assert.include(error.message, "Expose Location")
      assert.include(error.message, "Access-Control-Expose-Headers")
    }))

  it.effect("an upload status without a readable Range says to expose Range", () =>
    Effect.gen(function*() {
      const answer = () => new Response(null, { status: 204 })
      const error = yield* Effect.flip(
        Registry.getUploadStatus({
          registry: "127.0.0.1:5998",
          repository: "a",
          location: "http://127.0.0.1:5998/v2/a/blobs/uploads/s1",
          offset: 0,
          minChunkLength: undefined
        })
      ).pipe(Effect.provide(withFetch(answer)))
      assert.include(error.message, "Expose Range")
    }))

  it.effect("a 401 whose WWW-Authenticate the browser hides says to expose WWW-Authenticate", () =>
    Effect.gen(function*() {
      const answer = () => new Response(null, { status: 401 })
      const error = yield* Effect.flip(Registry.ping("127.0.0.1:5998")).pipe(Effect.provide(withFetch(answer)))
      assert.strictEqual(error._tag, "AuthenticationError")
      assert.include(error.message, "Expose WWW-Authenticate")
    }))
})
