/**
 * `Link`-header pagination shared by the tag list, the catalog and the referrers API: each page is
 * fetched, decoded with its schema, and the next URL taken from `Link: <…>; rel="next"` exactly as
 * given. A next URL on another origin, or one already visited, ends nothing silently: the first
 * is refused, the second stops the stream.
 *
 * @internal
 */
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Manifest from "../Manifest.js"
import { RegistryClient } from "../RegistryClient.js"
import { InvalidResponse, type NotFoundKind, type RegistryError } from "../RegistryError.js"
import { parseLinkNext } from "./headers.js"
import { displayUrl, headerRecord, readLimited, retryBrokenBody } from "./http.js"

/** List pages are JSON documents read whole; this bounds them. */
const pageLimit = 16 * 1024 * 1024

/** The `?n=&last=` query of a first page. */
export const query = (options: { readonly pageSize?: number | undefined; readonly last?: string | undefined }) => {
  const params = new URLSearchParams()
  if (options.pageSize !== undefined) params.set("n", String(options.pageSize))
  if (options.last !== undefined) params.set("last", options.last)
  const text = params.toString()
  return text === "" ? "" : `?${text}`
}

const Tags = Schema.Struct({
  name: Schema.String,
  tags: Schema.NullishOr(Schema.Array(Schema.String))
})
const Catalog = Schema.Struct({
  repositories: Schema.NullishOr(Schema.Array(Schema.String))
})

/** Decoder of a `tags/list` page. */
export const decodeTags = Schema.decodeUnknownEither(Schema.parseJson(Tags))
/** Decoder of a `_catalog` page. */
export const decodeCatalog = Schema.decodeUnknownEither(Schema.parseJson(Catalog))

interface PageRequest<A> {
  readonly registry: string
  readonly firstPath: string
  readonly scopes: ReadonlyArray<string>
  readonly notFound: NotFoundKind
  readonly repository: string | undefined
  readonly decode: (text: string) => Either.Either<A, ParseResult.ParseError>
}

const fetchPage = <A>(request: PageRequest<A>, path: string) =>
  retryBrokenBody(Effect.gen(function*() {
    const client = yield* RegistryClient
    const base = client.baseUrl(request.registry)
    const url = new URL(path, base)
    const response = yield* client.execute({
      registry: request.registry,
      method: "GET",
      path: url.href,
      headers: { accept: "application/json" },
      scopes: request.scopes,
      notFound: request.notFound,
      repository: request.repository
    })
    const bytes = yield* readLimited(response, pageLimit, "page", "GET", url.href)
    const page = request.decode(new TextDecoder().decode(bytes))
    if (Either.isLeft(page)) {
      return yield* Effect.fail(
        new InvalidResponse({
          method: "GET",
          url: displayUrl(url.href),
          reason: `malformed page: ${ParseResult.TreeFormatter.formatErrorSync(page.left).slice(0, 300)}`
        })
      )
    }
    const next = yield* nextUrl(headerRecord(response)["link"], url, base)
    return [page.right, next, url.href] as const
  }))

/** The next page's URL from `Link`, which must stay on the registry's origin. */
const nextUrl = (link: string | undefined, url: URL, base: URL) => {
  const next = parseLinkNext(link, url.href)
  if (next === undefined) return Effect.succeed(Option.none<string>())
  if (new URL(next).origin !== base.origin) {
    return Effect.fail(
      new InvalidResponse({
        method: "GET",
        url: displayUrl(url.href),
        reason: `Link to another origin refused: ${displayUrl(next)}`
      })
    )
  }
  return Effect.succeed(Option.some(next))
}

/** A stream of decoded pages. */
export const pages = <A>(request: PageRequest<A>): Stream.Stream<A, RegistryError, RegistryClient> =>
  Stream.suspend(() => {
    const seen = new Set<string>()
    return Stream.paginateEffect(
      request.firstPath,
      (path) =>
        Effect.map(fetchPage(request, path), ([page, next, visited]) => {
          seen.add(visited)
          return [page, Option.filter(next, (url) => !seen.has(url))] as const
        })
    )
  })

/**
 * All referrers from the referrers API, or `None` when the registry does not have the API
 * (404 on the first page).
 */
export const referrerPages = (request: {
  readonly registry: string
  readonly firstPath: string
  readonly scopes: ReadonlyArray<string>
  readonly repository: string
  readonly reference: string
}): Effect.Effect<Option.Option<ReadonlyArray<Manifest.Descriptor>>, RegistryError, RegistryClient> =>
  Effect.gen(function*() {
    const client = yield* RegistryClient
    const base = client.baseUrl(request.registry)
    const seen = new Set<string>()
    const all: Array<Manifest.Descriptor> = []
    let path: string | undefined = new URL(request.firstPath, base).href
    while (path !== undefined && !seen.has(path)) {
      seen.add(path)
      const url: URL = new URL(path)
      const response: HttpClientResponse.HttpClientResponse = yield* client.execute({
        registry: request.registry,
        method: "GET",
        path,
        headers: { accept: "application/vnd.oci.image.index.v1+json" },
        scopes: request.scopes,
        notFound: "referrers",
        repository: request.repository,
        reference: request.reference,
        acceptStatus: [404]
      })
      if (response.status === 404) {
        yield* Effect.ignore(response.text)
        if (all.length === 0 && seen.size === 1) return Option.none()
        break
      }
      const bytes = yield* readLimited(response, client.options.manifestSizeLimit, "referrers index", "GET", url.href)
      const index = yield* Manifest.decode(bytes, headerRecord(response)["content-type"])
      if (!Manifest.isIndexLike(index)) {
        return yield* Effect.fail(
          new InvalidResponse({
            method: "GET",
            url: displayUrl(url.href),
            reason: "the referrers answer is not an index"
          })
        )
      }
      all.push(...Manifest.descriptors(index))
      path = Option.getOrUndefined(yield* nextUrl(headerRecord(response)["link"], url, base))
    }
    return Option.some(all)
  })
