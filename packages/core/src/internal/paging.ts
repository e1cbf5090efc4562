/**
 * `Link`-header pagination shared by the tag list, the catalog and the referrers API: each page is
 * fetched, decoded with its schema, and the next URL taken from `Link: <…>; rel="next"` as given,
 * except that pages of an endpoint stay on its path: a `Link` that drops the path prefix or the
 * repository key (Artifactory RTFACT-18971, renovatebot/renovate#20745; Nexus behind a connector
 * port, sonatype/nexus-public#1011) keeps only its query. A next URL on another origin, or one
 * already visited, ends nothing silently: the first is refused, the second stops the stream.
 *
 * @internal
 */
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
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
import { discard, displayUrl, endpointUrl, headerRecord, readLimited, retryBrokenBody } from "./http.js"

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
    const url = endpointUrl(base, path)
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
    const linked = yield* nextUrl(headerRecord(response)["link"], url, base)
    const next = Option.isSome(linked) ? linked : fullPageNext(page.right, url)
    return [page.right, next, url.href, Option.isNone(linked) && Option.isSome(next)] as const
  }))

/** The entries of a tags or catalog page. */
const entriesOf = (page: unknown): ReadonlyArray<string> | undefined => {
  if (typeof page !== "object" || page === null) return undefined
  const entries = (page as { tags?: unknown }).tags ?? (page as { repositories?: unknown }).repositories
  return Array.isArray(entries) ? entries as ReadonlyArray<string> : undefined
}

/**
 * The next page of a full page that came without `Link`: `?last=<its last entry>` with the same
 * `n`. Nexus group repositories page without sending `Link` (sonatype/nexus-public#117,
 * NEXUS-35956); a page shorter than `n` is the last.
 */
const fullPageNext = (page: unknown, url: URL): Option.Option<string> => {
  const n = Number(url.searchParams.get("n"))
  const entries = entriesOf(page)
  if (!Number.isInteger(n) || n <= 0 || entries === undefined || entries.length < n) return Option.none()
  const last = entries[entries.length - 1]
  if (typeof last !== "string") return Option.none()
  const next = new URL(url.href)
  next.searchParams.set("last", last)
  next.searchParams.set("n", String(n))
  return Option.some(next.href)
}

/** The next page's URL from `Link`, which must stay on the registry's origin. */
const nextUrl = (link: string | undefined, url: URL, base: URL) => {
  const next = parseLinkNext(link, url.href)
  if (next === undefined) return Effect.succeed(Option.none<string>())
  const parsed = new URL(next)
  if (parsed.origin !== base.origin) {
    return Effect.fail(
      new InvalidResponse({
        method: "GET",
        url: displayUrl(url.href),
        reason: `Link to another origin refused: ${displayUrl(next)}`
      })
    )
  }
  if (parsed.pathname !== url.pathname) {
    const samePath = new URL(url.href)
    samePath.search = parsed.search
    return Effect.as(
      Effect.logDebug(`Link ${displayUrl(next)} leaves ${displayUrl(url.href)}: keeping the path`),
      Option.some(samePath.href)
    )
  }
  return Effect.succeed(Option.some(next))
}

/**
 * A stream of decoded pages. A page asked for without a `Link` (after a full page) that repeats
 * the previous one (a registry that ignores `last`) ends the stream and is not emitted.
 */
export const pages = <A>(request: PageRequest<A>): Stream.Stream<A, RegistryError, RegistryClient> =>
  Stream.suspend(() => {
    const seen = new Set<string>()
    const guessed = new Set<string>()
    let previous: ReadonlyArray<string> | undefined
    return Stream.paginateChunkEffect(
      request.firstPath,
      (path) =>
        Effect.map(fetchPage(request, path), ([page, next, visited, nextGuessed]) => {
          seen.add(visited)
          const entries = entriesOf(page)
          const repeated = guessed.has(visited) && entries !== undefined && previous !== undefined &&
            entries.length === previous.length && entries.every((e, i) => e === previous![i])
          previous = entries
          if (repeated) return [Chunk.empty<A>(), Option.none<string>()] as const
          const following = Option.filter(next, (url) => !seen.has(url))
          if (nextGuessed && Option.isSome(following)) guessed.add(following.value)
          return [Chunk.of(page), following] as const
        })
    )
  })

/**
 * Answers of the first referrers page that mean "no referrers API": 404 (the spec's signal), and
 * what registries without it send instead: 400, 405, 406, 501, or a redirect to another origin
 * (GHCR sends the endpoint to a rate-limited web page: artifacthub/hub#4785).
 */
const noReferrersApi = [400, 404, 405, 406, 501, 301, 302, 303, 307, 308]

/**
 * All referrers from the referrers API, or `None` when the registry does not have the API: the
 * first page answers one of `noReferrersApi`, or is not JSON (an HTML page, as GAR and GHCR
 * send), or is not an index.
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
    let path: string | undefined = endpointUrl(base, request.firstPath).href
    while (path !== undefined && !seen.has(path)) {
      const first = seen.size === 0
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
        acceptStatus: first ? noReferrersApi : [404],
        crossOriginRedirects: !first
      })
      if (response.status < 200 || response.status >= 300) {
        yield* discard(response)
        if (first) return Option.none()
        break
      }
      const contentType = headerRecord(response)["content-type"]
      if (first && contentType !== undefined && !/json/i.test(contentType)) {
        yield* discard(response)
        yield* Effect.logDebug(`the referrers endpoint answered ${contentType}: no referrers API`)
        return Option.none()
      }
      const bytes = yield* readLimited(response, client.options.manifestSizeLimit, "referrers index", "GET", url.href)
      const decoded = yield* Effect.either(Manifest.decode(bytes, contentType))
      if (Either.isLeft(decoded)) {
        if (first) return Option.none()
        return yield* Effect.fail(decoded.left)
      }
      const index = decoded.right
      if (!Manifest.isIndexLike(index)) {
        if (first) return Option.none()
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
