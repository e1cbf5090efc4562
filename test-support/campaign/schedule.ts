/**
 * Fault schedules of the randomized fault campaign: plain data (so fast-check can shrink them and
 * a failing one prints as JSON that can be pasted back as a regression case), the fast-check
 * arbitraries that draw them, the error tags each fault may legitimately end in, and the fault
 * proxy rules that apply them.
 *
 * A schedule is a list of faults; each names the kind of request it hits (`target`) and which
 * occurrence of that kind (`nth`, counted across the proxies of the operation), so a schedule
 * replays the same way as long as the operation runs its requests in the same order (the
 * campaign runs transfers with concurrency 1 for that reason).
 */
import * as fc from "fast-check"
import type * as http from "node:http"
import { Fault, type FaultAction, type FaultProxy, type FaultRequest, type FaultRule } from "../faultProxy.js"

/** The kinds of request a fault can hit. */
export type Target =
  | "manifest-get"
  | "manifest-head"
  | "manifest-put"
  | "blob-get"
  | "blob-head"
  | "upload-post"
  | "upload-patch"
  | "upload-put"
  | "any"

/** One fault of a schedule. */
export type FaultSpec =
  | { readonly kind: "reset"; readonly target: Target; readonly nth: number; readonly atByte: number }
  | {
    readonly kind: "truncate"
    readonly target: Target
    readonly nth: number
    readonly atByte: number
    /** `true`: `Content-Length` says the short length (a complete, short answer); `false`: it lies. */
    readonly honestLength: boolean
  }
  | { readonly kind: "flip"; readonly target: Target; readonly nth: number; readonly offset: number }
  | { readonly kind: "burst"; readonly target: Target; readonly nth: number; readonly statuses: ReadonlyArray<number> }
  | {
    readonly kind: "tooMany"
    readonly target: Target
    readonly nth: number
    readonly count: number
    readonly retryAfter: "seconds" | "date" | "none"
  }
  | { readonly kind: "trickle"; readonly target: Target; readonly nth: number; readonly pauses: number }
  | { readonly kind: "stall"; readonly target: Target; readonly nth: number; readonly atByte: number }
  | { readonly kind: "revoke"; readonly nth: number }
  | { readonly kind: "expireToken"; readonly nth: number; readonly how: "expired" | "untrusted" }
  | { readonly kind: "refuseMount" }
  | { readonly kind: "losePatch"; readonly nth: number; readonly method: "PATCH" | "PUT" }
  | {
    readonly kind: "redirect"
    readonly nth: number
    /** `2`: a hostile answer with two `Location` headers (the first one right), which must be refused. */
    readonly locations?: 1 | 2 | undefined
  }
  | {
    readonly kind: "dupHeaders"
    readonly target: Target
    readonly nth: number
    readonly variant: "digest-conflict" | "type-dup" | "length-conflict" | "location-dup"
  }

/** A whole schedule. */
export type Schedule = ReadonlyArray<FaultSpec>

/** The operations of the campaign. */
export type Operation = "pull" | "push" | "copy"

const readTargets: ReadonlyArray<Target> = ["manifest-get", "blob-get", "any"]
const writeTargets: ReadonlyArray<Target> = [
  "blob-head",
  "manifest-head",
  "upload-post",
  "upload-patch",
  "upload-put",
  "manifest-put",
  "any"
]

/** The targets an operation's requests can hit. */
export const targetsOf = (operation: Operation): ReadonlyArray<Target> =>
  operation === "pull" ? readTargets : operation === "push" ? writeTargets : [...readTargets, ...writeTargets]

const nth = fc.integer({ min: 0, max: 3 })
/** Bodies are up to 300 kB (the largest layer); manifests are a few hundred bytes. */
const atByte = fc.oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 320_000 }))

/** The arbitrary of one fault on `operation`, for a backend with (`tokens`) or without a token server. */
export const faultArbitrary = (
  operation: Operation,
  options: { readonly tokens: boolean }
): fc.Arbitrary<FaultSpec> => {
  const target = fc.constantFrom(...targetsOf(operation))
  const bodyTarget = fc.constantFrom(...targetsOf(operation).filter((t) => t !== "blob-head" && t !== "manifest-head"))
  const kinds: Array<fc.Arbitrary<FaultSpec>> = [
    fc.record({ kind: fc.constant("reset" as const), target, nth, atByte }),
    fc.record({ kind: fc.constant("truncate" as const), target: bodyTarget, nth, atByte, honestLength: fc.boolean() }),
    fc.record({ kind: fc.constant("flip" as const), target: bodyTarget, nth, offset: atByte }),
    fc.record({
      kind: fc.constant("burst" as const),
      target,
      nth,
      statuses: fc.array(fc.constantFrom(500, 502, 503, 504), { minLength: 1, maxLength: 5 })
    }),
    fc.record({
      kind: fc.constant("tooMany" as const),
      target,
      nth,
      count: fc.integer({ min: 1, max: 5 }),
      retryAfter: fc.constantFrom("seconds" as const, "date" as const, "none" as const)
    }),
    fc.record({
      kind: fc.constant("trickle" as const),
      target: bodyTarget,
      nth,
      pauses: fc.integer({ min: 1, max: 4 })
    }),
    fc.record({ kind: fc.constant("stall" as const), target: bodyTarget, nth, atByte }),
    fc.record({ kind: fc.constant("revoke" as const), nth: fc.integer({ min: 0, max: 12 }) }),
    fc.record({
      kind: fc.constant("dupHeaders" as const),
      target,
      nth,
      variant: fc.constantFrom(
        "digest-conflict" as const,
        "type-dup" as const,
        "length-conflict" as const,
        "location-dup" as const
      )
    })
  ]
  if (options.tokens) {
    kinds.push(fc.record({
      kind: fc.constant("expireToken" as const),
      nth: fc.integer({ min: 0, max: 12 }),
      how: fc.constantFrom("expired" as const, "untrusted" as const)
    }))
  }
  if (operation !== "pull") {
    kinds.push(fc.record({
      kind: fc.constant("losePatch" as const),
      nth,
      method: fc.constantFrom("PATCH" as const, "PUT" as const)
    }))
  }
  if (operation !== "push") {
    kinds.push(
      fc.record({ kind: fc.constant("redirect" as const), nth, locations: fc.constantFrom(1 as const, 2 as const) })
    )
  }
  if (operation === "copy") kinds.push(fc.constant({ kind: "refuseMount" as const }))
  return fc.oneof(...kinds)
}

/** A schedule: up to 4 faults. */
export const scheduleArbitrary = (
  operation: Operation,
  options: { readonly tokens: boolean }
): fc.Arbitrary<Schedule> => fc.array(faultArbitrary(operation, options), { minLength: 1, maxLength: 4 })

/** Which tags of `RegistryError` a failure caused by `fault` may carry. */
export const allowedTags = (fault: FaultSpec): ReadonlyArray<string> => {
  switch (fault.kind) {
    case "reset":
    case "stall":
    case "trickle":
      return ["TransportError"]
    case "truncate":
      // a lying Content-Length is a premature end; an honest one a complete short body: its hash
      // (or its JSON) is wrong
      return fault.honestLength ? ["DigestMismatch", "InvalidManifest", "InvalidResponse"] : ["TransportError"]
    case "flip":
      return ["DigestMismatch", "InvalidManifest", "InvalidResponse"]
    case "burst":
      return ["RegistryResponseError"]
    case "tooMany":
      return ["RateLimited"]
    case "revoke":
    case "expireToken":
      return ["AuthenticationError"]
    case "refuseMount":
      return []
    case "redirect":
      return fault.locations === 2 ? ["InvalidResponse"] : []
    case "losePatch":
      return ["TransportError"]
    case "dupHeaders":
      return ["InvalidResponse", "DigestMismatch", "TransportError", "InvalidManifest"]
  }
}

/** The request kind of a proxied request. */
export const classify = (request: { readonly method: string; readonly path: string }): Target | undefined => {
  const { method, path } = request
  if (/\/manifests\//.test(path)) {
    return method === "GET" ? "manifest-get" : method === "HEAD" ? "manifest-head" : method === "PUT"
      ? "manifest-put"
      : undefined
  }
  if (/\/blobs\/uploads\/?$/.test(path) && method === "POST") return "upload-post"
  if (/\/blobs\/uploads\/./.test(path)) {
    return method === "PATCH" ? "upload-patch" : method === "PUT" ? "upload-put" : undefined
  }
  if (/\/blobs\/[a-z0-9]+:/.test(path)) {
    return method === "GET"
      ? "blob-get"
      : method === "HEAD"
      ? "blob-head"
      : undefined
  }
  return undefined
}

/** What the rules need to know of the world. */
export interface RuleContext {
  /** The proxies the operation goes through (the rules go in front of each; `nth` counts across them). */
  readonly proxies: ReadonlyArray<FaultProxy>
  /** Where a blob GET is redirected: serves `/storage/<digest>` without credentials. */
  readonly foreignOrigin: string
  /** Arms a bad token (backends with a token server only). */
  readonly armBadToken?: ((how: "expired" | "untrusted") => void) | undefined
}

const rfc1123In = (ms: number) => new Date(Date.now() + ms).toUTCString()

const isAuthed = (r: FaultRequest) => r.headers["authorization"] !== undefined

/**
 * A predicate firing on the `nth` request (0-based) for which `accept` holds, counted across
 * every proxy that shares it, then on the `times - 1` following ones.
 */
const occurrence = (accept: (r: FaultRequest) => boolean, nth: number, times = 1) => {
  let seen = 0
  return (r: FaultRequest): boolean => {
    if (!accept(r)) return false
    const index = seen++
    return index >= nth && index < nth + times
  }
}

const onTarget = (target: Target) => (r: FaultRequest) => {
  const kind = classify(r)
  return target === "any" ? kind !== undefined : kind === target
}

const first = (value: string | Array<string> | undefined): string | undefined => Array.isArray(value) ? value[0] : value

/** Answers a mount with a plain new upload session, as a registry that refuses to mount does. */
const refuseMountHandler = (proxy: FaultProxy) => async (req: http.IncomingMessage, res: http.ServerResponse) => {
  const url = new URL(req.url ?? "/", proxy.target)
  url.search = ""
  const headers: Record<string, string> = {}
  if (req.headers["authorization"] !== undefined) headers["authorization"] = req.headers["authorization"]
  try {
    const answer = await fetch(url, { method: "POST", headers, redirect: "manual" })
    const location = answer.headers.get("location")
    const out: Record<string, string> = { "content-length": "0" }
    answer.headers.forEach((value, name) => {
      if (name !== "content-length" && name !== "connection" && name !== "keep-alive") out[name] = value
    })
    if (location !== null) out["location"] = location.replace(proxy.target, proxy.url)
    await answer.arrayBuffer()
    res.writeHead(answer.status, out)
    res.end()
  } catch {
    res.destroy()
  }
}

const burstCounters = new WeakMap<FaultSpec, { next: number }>()

/** The proxy rules of one fault, for one proxy, sharing `when` across proxies. */
const rulesOf = (
  fault: FaultSpec,
  proxy: FaultProxy,
  when: (r: FaultRequest) => boolean,
  context: RuleContext
): ReadonlyArray<FaultRule> => {
  const name = JSON.stringify(fault)
  // the shared predicate decides how often a fault fires; a rule alone would count per proxy
  const rule = (action: FaultAction | ReadonlyArray<FaultAction>): FaultRule => ({
    name,
    match: when,
    times: 1000,
    action
  })
  switch (fault.kind) {
    case "reset":
      return [rule(Fault.resetResponseAfter(fault.atByte))]
    case "truncate":
      return [rule(
        fault.honestLength
          ? [
            Fault.mapResponseHeaders((headers) =>
              headers["content-length"] !== undefined && Number(first(headers["content-length"])) > fault.atByte
                ? { ...headers, "content-length": String(fault.atByte) }
                : headers
            ),
            Fault.truncateResponseAfter(fault.atByte)
          ]
          : Fault.truncateResponseAfter(fault.atByte)
      )]
    case "flip":
      return [rule(Fault.flipByte(fault.offset))]
    case "burst": {
      // consecutive matching requests get the statuses in turn (the counter is shared by the proxies)
      const counter = burstCounters.get(fault) ?? { next: 0 }
      burstCounters.set(fault, counter)
      return [rule(Fault.respond((_req, res) => {
        const status = fault.statuses[Math.min(counter.next++, fault.statuses.length - 1)]!
        const body = JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: `burst ${counter.next}` }] })
        res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
        res.end(body)
      }))]
    }
    case "tooMany": {
      const headers: Record<string, string> = fault.retryAfter === "seconds"
        ? { "retry-after": "1" }
        : fault.retryAfter === "date"
        ? { "retry-after": rfc1123In(1500) }
        : {}
      return [rule(
        Fault.status(429, {
          headers: { ...headers, "content-type": "application/json" },
          body: JSON.stringify({ errors: [{ code: "TOOMANYREQUESTS", message: "slow down" }] })
        })
      )]
    }
    case "trickle": {
      const pauses: Array<FaultAction> = []
      for (let i = 1; i <= fault.pauses; i++) pauses.push(Fault.stallResponseAfter(i * 16 * 1024, 40))
      return [rule(pauses)]
    }
    case "stall":
      return [rule(Fault.stallResponseAfter(fault.atByte, Number.POSITIVE_INFINITY))]
    case "revoke":
      return [rule(Fault.mapRequestHeaders((headers) => {
        const { authorization: _authorization, ...rest } = headers
        return rest
      }))]
    case "expireToken":
      return [{
        name,
        match: (r) => {
          if (when(r)) context.armBadToken?.(fault.how)
          return false
        },
        action: []
      }]
    case "refuseMount":
      return [{
        name,
        method: "POST",
        match: (r) => r.query.has("mount"),
        times: 1000,
        action: Fault.respond(refuseMountHandler(proxy))
      }]
    case "losePatch":
      return [rule(Fault.resetBeforeResponse({ afterRequestBytes: Number.POSITIVE_INFINITY }))]
    case "redirect":
      return [rule(Fault.respond((req, res) => {
        const digest = /\/blobs\/([a-z0-9]+:[a-f0-9]+)/.exec(req.url ?? "")?.[1] ?? "missing"
        const location = `${context.foreignOrigin}/storage/${digest}`
        res.setHeader("location", fault.locations === 2 ? [location, `${context.foreignOrigin}/elsewhere`] : location)
        res.writeHead(307, { "content-length": "0" })
        res.end()
      }))]
    case "dupHeaders":
      return [rule(Fault.mapResponseHeaders((headers) => {
        switch (fault.variant) {
          case "digest-conflict":
            return headers["docker-content-digest"] === undefined ? headers : {
              ...headers,
              "docker-content-digest": [first(headers["docker-content-digest"])!, `sha256:${"0".repeat(64)}`]
            }
          case "type-dup":
            return { ...headers, "content-type": [first(headers["content-type"]) ?? "text/plain", "text/html"] }
          case "length-conflict":
            return headers["content-length"] === undefined ? headers : {
              ...headers,
              "content-length": [
                first(headers["content-length"])!,
                String(Number(first(headers["content-length"])) + 1)
              ]
            }
          case "location-dup":
            return headers["location"] === undefined ? headers : {
              ...headers,
              location: [first(headers["location"])!, "/v2/elsewhere/blobs/uploads/bogus"]
            }
        }
      }))]
  }
}

/** The shared request predicate of a fault (counted across the proxies). */
const predicateOf = (fault: FaultSpec): (r: FaultRequest) => boolean => {
  switch (fault.kind) {
    case "revoke":
    case "expireToken":
      return occurrence(isAuthed, fault.nth)
    case "refuseMount":
      return () => false
    case "burst":
      return occurrence(onTarget(fault.target), fault.nth, fault.statuses.length)
    case "tooMany":
      return occurrence(onTarget(fault.target), fault.nth, fault.count)
    case "losePatch":
      return occurrence(
        (r) => fault.method === "PATCH" ? classify(r) === "upload-patch" : classify(r) === "upload-put",
        fault.nth
      )
    case "redirect":
      return occurrence((r) => classify(r) === "blob-get", fault.nth)
    default:
      return occurrence(onTarget(fault.target), fault.nth)
  }
}

/** Installs the schedule's rules on every proxy of the context (clearing what was there). */
export const install = (schedule: Schedule, context: RuleContext): void => {
  for (const proxy of context.proxies) proxy.clearRules()
  for (const fault of schedule) {
    burstCounters.delete(fault)
    const when = predicateOf(fault)
    for (const proxy of context.proxies) {
      for (const rule of rulesOf(fault, proxy, when, context)) proxy.addRule(rule)
    }
  }
}

/** A short human form of a schedule (the JSON stays the exact form). */
export const describeSchedule = (schedule: Schedule): string =>
  schedule.map((f) => {
    const { kind, ...rest } = f
    return `${kind}(${Object.entries(rest).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")})`
  }).join(" ; ")
