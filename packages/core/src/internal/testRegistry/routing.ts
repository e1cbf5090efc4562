/**
 * The URL layout of the registry API (`/v2/<name>/manifests/<reference>` and the rest), the
 * methods each route answers, the access (`repository:<name>:pull,push`) each request needs, and
 * the grammar of repository names and tags.
 *
 * @internal
 */

/** A request path, matched to what it addresses. */
export type Route =
  | { readonly _tag: "Base" }
  | { readonly _tag: "Catalog" }
  | { readonly _tag: "Token" }
  | { readonly _tag: "Tags"; readonly name: string }
  | { readonly _tag: "Manifest"; readonly name: string; readonly reference: string }
  | { readonly _tag: "Blob"; readonly name: string; readonly digest: string }
  | { readonly _tag: "UploadStart"; readonly name: string }
  | { readonly _tag: "Upload"; readonly name: string; readonly id: string }
  | { readonly _tag: "Referrers"; readonly name: string; readonly digest: string }
  | { readonly _tag: "NotFound" }

const notFound: Route = { _tag: "NotFound" }

// The name is greedy: for an ambiguous path the longest repository name wins, as with
// distribution's router (whose name pattern is followed by the fixed suffixes below).
const repositoryPath =
  /^\/v2\/(.+)\/(?:(tags\/list)|manifests\/([^/]+)|(blobs\/uploads\/?)|blobs\/uploads\/([^/]+)|blobs\/([^/]+)|referrers\/([^/]+))$/

const decode = (segment: string): string | undefined => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

/** Matches a URL path (still percent-encoded, as `URL.pathname` gives it) to a route. */
export const route = (pathname: string): Route => {
  if (pathname === "/v2/" || pathname === "/v2") return { _tag: "Base" }
  if (pathname === "/v2/_catalog") return { _tag: "Catalog" }
  if (pathname === "/token") return { _tag: "Token" }
  const match = repositoryPath.exec(pathname)
  if (match === null) return notFound
  const name = decode(match[1])
  if (name === undefined) return notFound
  if (match[2] !== undefined) return { _tag: "Tags", name }
  if (match[4] !== undefined) return { _tag: "UploadStart", name }
  const [reference, id, digest, subject] = [match[3], match[5], match[6], match[7]].map((s) =>
    s === undefined ? undefined : decode(s)
  )
  if (reference !== undefined) return { _tag: "Manifest", name, reference }
  if (id !== undefined) return { _tag: "Upload", name, id }
  if (digest !== undefined) return { _tag: "Blob", name, digest }
  if (subject !== undefined) return { _tag: "Referrers", name, digest: subject }
  return notFound
}

/** The methods a route answers (`HEAD` wherever `GET` is). */
export const methods = (route: Route): ReadonlyArray<string> => {
  switch (route._tag) {
    case "Base":
    case "Catalog":
    case "Tags":
    case "Referrers":
      return ["GET", "HEAD"]
    case "Token":
      return ["GET", "POST"]
    case "Manifest":
      return ["GET", "HEAD", "PUT", "DELETE"]
    case "Blob":
      return ["GET", "HEAD", "DELETE"]
    case "UploadStart":
      return ["POST"]
    case "Upload":
      return ["GET", "HEAD", "PATCH", "PUT", "DELETE"]
    case "NotFound":
      return []
  }
}

/** One resource and the actions a request needs on it, as in a token scope. */
export interface Access {
  readonly type: "repository" | "registry"
  readonly name: string
  readonly actions: ReadonlyArray<string>
}

/**
 * The access a request needs, as distribution computes it: `GET`/`HEAD` need `pull`,
 * `POST`/`PUT`/`PATCH` need `pull,push`, `DELETE` needs `delete` (upload cancels included), the
 * catalog needs `registry:catalog:*`, and the base endpoint only an authenticated caller.
 */
export const requiredAccess = (route: Route, method: string): ReadonlyArray<Access> => {
  switch (route._tag) {
    case "Base":
    case "Token":
    case "NotFound":
      return []
    case "Catalog":
      return [{ type: "registry", name: "catalog", actions: ["*"] }]
    default: {
      const actions = method === "GET" || method === "HEAD"
        ? ["pull"]
        : method === "DELETE"
        ? ["delete"]
        : ["pull", "push"]
      return [{ type: "repository", name: route.name, actions }]
    }
  }
}

/** `type:name:actions`, the scope string of an access. */
export const formatAccess = (access: Access): string => `${access.type}:${access.name}:${access.actions.join(",")}`

const component = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
const namePattern = new RegExp(`^${component}(?:/${component})*$`)
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/

/** Why a repository name is invalid, or `undefined` when it is valid. */
export const validateName = (name: string): string | undefined => {
  if (name.length > 255) return "repository name must not be more than 255 characters"
  if (!namePattern.test(name)) return "repository name must match the distribution name grammar"
  return undefined
}

/** Whether a string is a valid tag. */
export const isTag = (reference: string): boolean => tagPattern.test(reference)
