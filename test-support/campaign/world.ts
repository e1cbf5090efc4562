/**
 * The world of the randomized fault campaign and one run of it: a registry backend (the in-memory
 * `RegistryServer` with Bearer auth, or a real `docker-registry` behind the test token server),
 * two fault proxies in front of it (two registry hosts, so a copy between them streams bytes; a
 * copy within one host mounts), a recording origin that a blob GET may be redirected to, and the
 * invariants checked after every schedule:
 *
 * - success with a byte-identical result (every digest read back and checked at the destination),
 *   or a typed `RegistryError` whose tag fits one of the schedule's faults;
 * - no credential at the foreign origin, none in the error;
 * - requests per URL and total time within what the retry schedule allows;
 * - no fiber of the operation left running (`Supervisor.track`), no client socket left open (the
 *   proxies count their connections) and no file handle on the destination left open
 *   (`/proc/self/fd`);
 * - nothing half-written visible: a layout's `index.json` names only blobs present and verified
 *   and no temporary remains; a destination tag names only blobs the registry has.
 */
import * as CredentialStore from "@ocireg/core/CredentialStore"
import type * as Digest from "@ocireg/core/Digest"
import * as Image from "@ocireg/core/Image"
import * as Manifest from "@ocireg/core/Manifest"
import * as Registry from "@ocireg/core/Registry"
import type * as RegistryClient from "@ocireg/core/RegistryClient"
import { isRegistryError } from "@ocireg/core/RegistryError"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as NodeHasher from "@ocireg/platform-node/NodeHasher"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as OciLayout from "@ocireg/platform-node/OciLayout"
import * as RegistryServer from "@ocireg/platform-node/RegistryServer"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Supervisor from "effect/Supervisor"
import * as fc from "fast-check"
import * as crypto from "node:crypto"
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { type FaultProxy, startFaultProxy } from "../faultProxy.js"
import { type RecordingOrigin, startRecordingOrigin } from "../faultScenarios.js"
import { type RunningRegistry, startRegistry } from "../registry.js"
import { startTokenServer, type TokenServer } from "../tokenServer.js"
import { buildImage, collect, pushImage, recordingClient, sha256, type TestImage } from "./common.js"
import {
  allowedTags,
  describeSchedule,
  install,
  type Operation,
  type Schedule as FaultSchedule,
  scheduleArbitrary
} from "./schedule.js"

/** The backends a campaign runs against. */
export type Backend = "server" | "distribution"

/** One case: an operation, how a copy reaches its target, and the faults. */
export interface CampaignCase {
  readonly operation: Operation
  /** Copies only: `stream` between the two registry hosts, `mount` within one. */
  readonly route: "stream" | "mount" | "direct"
  readonly faults: FaultSchedule
}

/** What one case did. */
export interface RunResult {
  readonly operation: Operation
  readonly outcome: "success" | "typed" | "violation"
  /** The error tag of a typed failure. */
  readonly tag?: string | undefined
  readonly violations: ReadonlyArray<string>
  readonly ms: number
}

const PASSWORD = "campaign-Pa55word-never-leaks"
const USER = "alice"

/** Retries of the client under test: 3, from 10 ms, doubling, jittered (4 attempts in all). */
export const attempts = 4
const retrySchedule = Schedule.exponential("10 millis", 2).pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(attempts - 1))
)
/** Client options of every run: short idle timeout (stalls), short Retry-After cap (429s). */
export const clientOptions: RegistryClient.Options = {
  retrySchedule,
  idleTimeout: "300 millis",
  maxRetryAfter: "200 millis",
  requestTimeout: "5 seconds",
  chunkSize: 64 * 1024
}

/** A running campaign world. */
export interface World {
  readonly backend: Backend
  /** The source registry host (and the push target, and the copy target of `mount`). */
  readonly a: FaultProxy
  /** The second registry host (the copy target of `stream`). */
  readonly b: FaultProxy
  readonly origin: RecordingOrigin
  /** The backend's own host (no faults): verification reads from here. */
  readonly direct: string
  readonly image: TestImage
  readonly tokens: TokenServer | undefined
  /** Client options every client of the world needs (the API path prefix of the Artifactory dialect). */
  readonly hostOptions: RegistryClient.Options
  /** Cases run so far (names fresh repositories). */
  runs: number
  stop(): Promise<void>
}

const credentialsOf = (hosts: ReadonlyArray<string>) =>
  Object.fromEntries(hosts.map((host) => [host, CredentialStore.basic(USER, Redacted.make(PASSWORD))]))
const credentialsFor = (hosts: ReadonlyArray<string>) => CredentialStore.layerStatic(credentialsOf(hosts))

/** Starts a world on `backend`: the registry, two proxies, the recording origin; seeds the source image. */
export const startWorld = async (
  backend: Backend,
  options: { readonly dialect?: RegistryTest.Dialect | undefined } = {}
): Promise<World> => {
  const image = buildImage([300_000, 100_000, 2_000])
  const byDigest = new Map(image.blobs.map((b) => [sha256(b), b]))
  const scope = Effect.runSync(Scope.make())
  let registry: RunningRegistry | undefined
  let tokens: TokenServer | undefined
  let url: string
  let host: string
  if (backend === "server") {
    const server = await Effect.runPromise(
      RegistryServer.serve({ auth: { bearer: { users: { [USER]: PASSWORD } } }, dialect: options.dialect }).pipe(
        Scope.extend(scope),
        Effect.provide(NodeHasher.layer)
      )
    )
    url = server.url
    host = server.host
  } else {
    tokens = await startTokenServer({ users: { [USER]: PASSWORD } })
    registry = await startRegistry({ auth: "token", tokenServer: tokens })
    url = registry.url
    host = registry.host
  }
  const [a, b, origin] = await Promise.all([
    startFaultProxy({ target: url, maxStallMs: 5_000 }),
    startFaultProxy({ target: url, maxStallMs: 5_000 }),
    startRecordingOrigin((req, res) => {
      const digest = /^\/storage\/([a-z0-9]+:[a-f0-9]+)/.exec(req.url ?? "")?.[1]
      const bytes = digest === undefined ? undefined : byDigest.get(digest as Digest.Digest)
      if (req.method === "GET" && bytes !== undefined) {
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.length })
        res.end(bytes)
      }
    })
  ])
  // the Artifactory dialect serves the API under a path prefix that clients are configured with
  const hostOptions: RegistryClient.Options = options.dialect === "artifactory"
    ? { pathPrefix: Object.fromEntries([host, a.host, b.host].map((h) => [h, RegistryTest.artifactoryPrefix])) }
    : {}
  await Effect.runPromise(
    pushImage(`${host}/campaign/src:v1`, image, { concurrency: 1 }).pipe(
      Effect.provide(NodeRegistry.layer(hostOptions).pipe(Layer.provide(credentialsFor([host]))))
    )
  )
  return {
    backend,
    a,
    b,
    origin,
    direct: host,
    image,
    tokens,
    hostOptions,
    runs: 0,
    stop: async () => {
      await Promise.allSettled([a.stop(), b.stop(), origin.stop()])
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await registry?.stop()
      await tokens?.stop()
    }
  }
}

// ---------------------------------------------------------------------------------------------
// checks
// ---------------------------------------------------------------------------------------------

/** Every descriptor a manifest names (config, layers, children), except foreign layers. */
const descriptorsOf = (bytes: Uint8Array): ReadonlyArray<Manifest.Descriptor> => {
  const parsed = JSON.parse(Buffer.from(bytes).toString("utf8")) as {
    config?: Manifest.Descriptor
    layers?: ReadonlyArray<Manifest.Descriptor>
    manifests?: ReadonlyArray<Manifest.Descriptor>
  }
  return [...(parsed.config ? [parsed.config] : []), ...(parsed.layers ?? []), ...(parsed.manifests ?? [])]
}

/**
 * The layout at `dir` holds nothing half-written: every file under `blobs/` is named by its own
 * digest (no temporary when `temporariesAllowed` is false), and every manifest `index.json`
 * names is there, verified, with everything it names (recursively).
 */
export const checkLayout = async (
  dir: string,
  options: { readonly temporariesAllowed: boolean }
): Promise<{
  readonly problems: ReadonlyArray<string>
  readonly entries: ReadonlyArray<Manifest.Descriptor>
  /** The digests of the blobs present and verified. */
  readonly verified: ReadonlySet<string>
}> => {
  const problems: Array<string> = []
  const verified = new Set<string>()
  const blobsDir = path.join(dir, "blobs", "sha256")
  for (const name of await fs.readdir(blobsDir).catch(() => [] as Array<string>)) {
    const file = path.join(blobsDir, name)
    if (name.includes(".tmp-")) {
      if (!options.temporariesAllowed) problems.push(`temporary left behind: blobs/sha256/${name}`)
      continue
    }
    if (!/^[a-f0-9]{64}$/.test(name)) {
      problems.push(`blobs/sha256/${name} is neither a digest nor a temporary`)
      continue
    }
    const hash = crypto.createHash("sha256").update(await fs.readFile(file)).digest("hex")
    if (hash !== name) problems.push(`blobs/sha256/${name} does not hash to its name`)
    else verified.add(`sha256:${name}`)
  }
  for (const name of await fs.readdir(dir).catch(() => [] as Array<string>)) {
    if (name.includes(".tmp-")) {
      if (!options.temporariesAllowed) problems.push(`temporary left behind: ${name}`)
    } else if (!["blobs", "index.json", "oci-layout"].includes(name)) problems.push(`unexpected file ${name}`)
  }
  let entries: ReadonlyArray<Manifest.Descriptor> = []
  const indexText = await fs.readFile(path.join(dir, "index.json"), "utf8").catch(() => undefined)
  if (indexText !== undefined) {
    try {
      entries = (JSON.parse(indexText) as { manifests?: ReadonlyArray<Manifest.Descriptor> }).manifests ?? []
    } catch {
      problems.push("index.json is not JSON")
    }
  }
  const visit = async (descriptor: Manifest.Descriptor, depth: number): Promise<void> => {
    if (!verified.has(descriptor.digest)) {
      problems.push(`index.json names ${descriptor.digest}, missing or unverified`)
      return
    }
    const isManifest = descriptor.mediaType.includes("manifest") || descriptor.mediaType.includes("index")
    if (!isManifest || depth > 4) return
    const bytes = await fs.readFile(path.join(blobsDir, descriptor.digest.slice("sha256:".length)))
    for (const child of descriptorsOf(bytes)) await visit(child, depth + 1)
  }
  for (const entry of entries) await visit(entry, 0)
  return { problems, entries, verified }
}

/** Open file descriptors of this process whose target is under `dir`. */
export const openFilesUnder = (dir: string): number => {
  let count = 0
  try {
    for (const fd of fsSync.readdirSync("/proc/self/fd")) {
      try {
        if (fsSync.readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir)) count++
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return 0
  }
  return count
}

/** Open file descriptors of this process (sockets included). */
export const openDescriptors = (): number => {
  try {
    return fsSync.readdirSync("/proc/self/fd").length
  } catch {
    return process.getActiveResourcesInfo().length
  }
}

const waitFor = async (condition: () => boolean, ms: number): Promise<boolean> => {
  const until = Date.now() + ms
  while (!condition()) {
    if (Date.now() > until) return false
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return true
}

/** The longest a schedule may take: a base, plus what each fault can legitimately cost. */
export const timeBudgetMs = (faults: FaultSchedule): number =>
  20_000 + faults.reduce((sum, f) => {
    switch (f.kind) {
      case "stall":
      case "trickle":
        return sum + attempts * 600
      case "tooMany":
        return sum + f.count * 400
      default:
        return sum + 1_000
    }
  }, 0)

// ---------------------------------------------------------------------------------------------
// one run
// ---------------------------------------------------------------------------------------------

class Hung {
  readonly _tag = "Hung"
}

/** Runs one case and checks every invariant. */
export const runCase = async (world: World, c: CampaignCase): Promise<RunResult> => {
  const id = `${c.operation}-${world.runs++}-${crypto.randomBytes(3).toString("hex")}`
  const violations: Array<string> = []
  const proxies = [world.a, world.b]
  for (const proxy of proxies) proxy.resetLog()
  world.origin.reset()
  install(c.faults, {
    proxies,
    foreignOrigin: world.origin.url,
    armBadToken: world.tokens === undefined ?
      undefined :
      (how) => how === "expired" ? world.tokens!.issueExpired(1) : world.tokens!.issueWithUntrustedKey(1)
  })
  const { layer, wire } = recordingClient(credentialsOf([world.a.host, world.b.host]), {
    ...clientOptions,
    ...world.hostOptions
  })

  const dir = c.operation === "pull" ? await fs.mkdtemp(path.join(os.tmpdir(), "ocireg-campaign-")) : undefined
  const source = `${world.a.host}/campaign/src:v1`
  const targetHost = c.operation === "copy" && c.route === "stream" ? world.b.host : world.a.host
  const repository = `campaign/${id}`
  const operation: Effect.Effect<unknown, unknown, RegistryClient.RegistryClient | Digest.Hasher> =
    c.operation === "pull"
      ? OciLayout.pullToLayout(source, dir!, { concurrency: 1 })
      : c.operation === "push"
      ? pushImage(`${targetHost}/${repository}:v1`, world.image, { concurrency: 1 })
      : Image.copy(source, `${targetHost}/${repository}:v1`, { concurrency: 1 })

  const started = Date.now()
  // a hang is a violation, not a stuck campaign
  const bounded = Effect.timeoutFail(operation, {
    duration: timeBudgetMs(c.faults) + 5_000,
    onTimeout: () => new Hung()
  })
  // every fiber the operation forks is tracked: none may outlive it
  const supervisor = Effect.runSync(Supervisor.track)
  const exit = await Effect.runPromiseExit(Effect.provide(bounded, layer).pipe(Effect.supervised(supervisor)))
  const ms = Date.now() - started
  for (const proxy of proxies) proxy.clearRules()
  // bad tokens armed but not used must not reach the verification client or the next case
  world.tokens?.disarm()

  // the outcome
  let outcome: RunResult["outcome"] = "success"
  let tag: string | undefined
  if (Exit.isFailure(exit)) {
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure) && failure.value instanceof Hung) {
      violations.push(`hung: no outcome within ${timeBudgetMs(c.faults) + 5_000} ms`)
    } else if (Option.isNone(failure)) {
      violations.push(`not a typed failure: ${Cause.pretty(exit.cause).split("\n").slice(0, 3).join(" ")}`)
    } else if (!isRegistryError(failure.value)) {
      violations.push(`not a RegistryError: ${String((failure.value as { _tag?: string })._tag ?? failure.value)}`)
    } else {
      outcome = "typed"
      tag = failure.value._tag
      const allowed = new Set(c.faults.flatMap(allowedTags))
      if (!allowed.has(tag)) {
        violations.push(
          `${tag} does not fit the faults (allowed: ${[...allowed].join(", ") || "none"}): ${failure.value.message}`
        )
      }
      const rendered = `${failure.value.message} ${JSON.stringify(failure.value)}`
      if (rendered.includes(PASSWORD) || /bearer\s+[a-z0-9._-]{8}/i.test(rendered)) {
        violations.push("a credential appears in the error")
      }
    }
  }

  // no credential at the foreign origin; nothing but blob reads there
  for (const request of world.origin.requests()) {
    if (request.headers["authorization"] !== undefined) violations.push(`credential sent to the foreign origin`)
    // exactly the one URL it was sent to: a joined pair of Location headers must never be followed
    if (request.method !== "GET" || !/^\/storage\/[a-z0-9]+:[a-f0-9]{64}$/.test(request.url)) {
      violations.push(`unexpected ${request.method} ${request.url} at the foreign origin`)
    }
  }
  const originHost = new URL(world.origin.url).host
  if (wire.some((w) => new URL(w.url).host === originHost && w.authorization)) {
    violations.push("the client put credentials on a request to the foreign origin")
  }

  // retries and time within the schedule
  const perUrl = new Map<string, number>()
  for (const proxy of proxies) {
    for (const entry of proxy.log()) {
      const key = `${entry.method} ${entry.path}`
      perUrl.set(key, (perUrl.get(key) ?? 0) + 1)
    }
  }
  const perUrlLimit = attempts * (2 + c.faults.length)
  for (const [key, count] of perUrl) {
    if (count > perUrlLimit && !key.includes("/blobs/uploads/")) {
      violations.push(`${count} requests to ${key} (limit ${perUrlLimit})`)
    }
  }
  if (ms > timeBudgetMs(c.faults)) violations.push(`took ${ms} ms (budget ${timeBudgetMs(c.faults)} ms)`)

  // nothing left open
  const fibersDone = await waitFor(() => Effect.runSync(supervisor.value).length === 0, 2_000)
  if (!fibersDone) violations.push(`${Effect.runSync(supervisor.value).length} fiber(s) still running`)
  const released = await waitFor(() => proxies.every((p) => p.connections() === 0), 3_000)
  if (!released) {
    violations.push(`client connections left open: ${proxies.map((p) => p.connections()).join("+")}`)
  }

  // the destination
  if (dir !== undefined) {
    const open = openFilesUnder(dir)
    if (open > 0) violations.push(`${open} file handle(s) left open in the layout`)
    const layout = await checkLayout(dir, { temporariesAllowed: false })
    violations.push(...layout.problems)
    if (outcome === "success") {
      const entry = layout.entries.find((e) => e.annotations?.[OciLayout.refNameAnnotation] === "v1")
      if (entry?.digest !== world.image.digest) violations.push("the layout does not name the pulled image as v1")
      for (const blob of world.image.blobs) {
        if (!fsSync.existsSync(path.join(dir, "blobs", "sha256", sha256(blob).slice(7)))) {
          violations.push(`pulled layout lacks ${sha256(blob)}`)
        }
      }
    }
    await fs.rm(dir, { recursive: true, force: true })
  } else {
    const check = Effect.gen(function*() {
      const reference = `${world.direct}/${repository}:v1`
      const head = yield* Effect.either(Registry.headManifest(reference))
      if (head._tag === "Left") {
        // Docker Hub, GHCR and Harbor answer a missing repository as "not found or denied"
        const absent = head.left._tag === "NotFound" ||
          (head.left._tag === "AuthorizationError" && head.left.reason === "NotFoundOrDenied")
        if (!absent) violations.push(`reading the destination back: ${head.left._tag}`)
        if (outcome === "success") violations.push("the destination has no tag after a success")
        return
      }
      const manifest = yield* Registry.getManifest(reference)
      if (manifest.digest !== world.image.digest) violations.push(`the destination tag names ${manifest.digest}`)
      for (const descriptor of descriptorsOf(manifest.bytes)) {
        const blob = yield* Effect.either(collect(Registry.getBlob(`${world.direct}/${repository}`, descriptor)))
        if (blob._tag === "Left") violations.push(`the tag names ${descriptor.digest}: ${blob.left._tag}`)
      }
    })
    const checked = await Effect.runPromiseExit(
      check.pipe(
        Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Hung() }),
        Effect.provide(NodeRegistry.layer(world.hostOptions).pipe(Layer.provide(credentialsFor([world.direct]))))
      )
    )
    if (Exit.isFailure(checked)) violations.push(`reading the destination back failed: ${Cause.pretty(checked.cause)}`)
  }

  return { operation: c.operation, outcome: violations.length > 0 ? "violation" : outcome, tag, violations, ms }
}

/** One line for a case (for logs). */
export const describeCase = (c: CampaignCase): string =>
  `${c.operation}${c.operation === "copy" ? `/${c.route}` : ""}: ${describeSchedule(c.faults)}`

/** The arbitrary of a case of `operation` on `backend`. */
export const caseArbitrary = (operation: Operation, backend: Backend): fc.Arbitrary<CampaignCase> =>
  fc.record({
    operation: fc.constant(operation),
    route: operation === "copy" ? fc.constantFrom("stream" as const, "mount" as const) : fc.constant("direct" as const),
    faults: scheduleArbitrary(operation, { tokens: backend === "distribution" })
  })

/** Counts of a campaign, per operation. */
export interface Tally {
  schedules: number
  successes: number
  typed: number
  violations: number
  ms: number
}

/** Adds a result to a tally. */
export const count = (tally: Tally, result: RunResult): void => {
  tally.schedules++
  tally.ms += result.ms
  if (result.outcome === "success") tally.successes++
  else if (result.outcome === "typed") tally.typed++
  else tally.violations++
}

/** An empty tally. */
export const emptyTally = (): Tally => ({ schedules: 0, successes: 0, typed: 0, violations: 0, ms: 0 })

/** The Markdown table of tallies: operation × schedules × successes × typed failures × violations. */
export const renderTable = (rows: ReadonlyArray<{ readonly label: string; readonly tally: Tally }>): string =>
  [
    "| operation | schedules | successes | typed failures | violations | mean time |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map(({ label, tally }) =>
      `| ${label} | ${tally.schedules} | ${tally.successes} | ${tally.typed} | ${tally.violations} | ` +
      `${tally.schedules === 0 ? "-" : `${Math.round(tally.ms / tally.schedules)} ms`} |`
    )
  ].join("\n") + "\n"
