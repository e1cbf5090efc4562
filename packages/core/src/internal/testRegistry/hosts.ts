/**
 * Routing by host for several test registries behind one in-memory `HttpClient`: each request
 * goes to the registry of its URL's host (`name[:port]`, Docker Hub's names folded to
 * `registry-1.docker.io` as the client does), and a request to any other host is refused as a
 * transport failure (the client reports a `TransportError`), never answered by some registry.
 *
 * @internal
 */
import { apiHost } from "../../RegistryClient.js"
import type { Service } from "../../RegistryTest.js"

/** The key a host is routed by. */
export const hostKey = (host: string): string => apiHost(host.toLowerCase())

/** A handler that sends each request to the registry of its host, and rejects unknown hosts. */
export const route = (registries: ReadonlyMap<string, Service>) => {
  const byKey = new Map<string, Service>()
  for (const [host, registry] of registries) byKey.set(hostKey(host), registry)
  const known = [...registries.keys()].join(", ")
  return (request: Request): Promise<Response> => {
    const host = new URL(request.url).host
    const registry = byKey.get(hostKey(host))
    return registry === undefined
      ? Promise.reject(new Error(`no test registry serves ${host} (the test registries are ${known})`))
      : registry.handle(request)
  }
}
