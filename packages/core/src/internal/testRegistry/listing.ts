/**
 * `GET /v2/<name>/tags/list` and `GET /v2/_catalog`: sorted lists paged with `n` (capped by the
 * `pageSize` option) and `last`, the next page announced in a `Link: <...>; rel="next"` header.
 *
 * @internal
 */
import type { ServerContext } from "./context.js"
import * as Responses from "./responses.js"

type Page =
  | { readonly items: ReadonlyArray<string>; readonly next: string | undefined }
  | { readonly error: Response }

/**
 * One page of a sorted list: the items after `last`, at most `n` (or `pageSize`) of them, and the
 * query of the next page when more remain.
 */
const page = (context: ServerContext, all: ReadonlyArray<string>, url: URL): Page => {
  const nText = url.searchParams.get("n")
  let n = context.settings.pageSize
  if (nText !== null && nText !== "") {
    if (!/^\d+$/.test(nText)) {
      return { error: Responses.fail(400, "PAGINATION_NUMBER_INVALID", { n: nText }) }
    }
    n = n === undefined ? Number(nText) : Math.min(Number(nText), n)
  }
  const last = url.searchParams.get("last")
  const after = last === null || last === "" ? all : all.filter((item) => item > last)
  if (n === undefined || after.length <= n) return { items: after, next: undefined }
  const items = after.slice(0, n)
  if (items.length === 0) return { items, next: undefined }
  const query = new URLSearchParams({ last: items[items.length - 1], n: String(n) })
  return { items, next: query.toString() }
}

const link = (path: string, query: string): Record<string, string> => ({ link: `<${path}?${query}>; rel="next"` })

/** `GET /v2/<name>/tags/list?n=&last=`. */
export const listTags = (context: ServerContext, name: string, url: URL): Response => {
  const tags = context.storage.tags(name)
  if (tags === undefined) return Responses.fail(404, "NAME_UNKNOWN", { name })
  const result = page(context, Array.from(tags.keys()).sort(), url)
  if ("error" in result) return result.error
  const headers = result.next === undefined ? {} : link(`/v2/${name}/tags/list`, result.next)
  return Responses.json(200, { name, tags: result.items }, headers)
}

/** `GET /v2/_catalog?n=&last=`. */
export const catalog = (context: ServerContext, url: URL): Response => {
  const result = page(context, context.storage.repositories(), url)
  if ("error" in result) return result.error
  const headers = result.next === undefined ? {} : link("/v2/_catalog", result.next)
  return Responses.json(200, { repositories: result.items }, headers)
}
