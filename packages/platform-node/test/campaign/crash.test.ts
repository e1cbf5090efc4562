/**
 * Crash safety (issue 17): `ocireg pull` into an OCI layout and `ocireg blob -o` killed with
 * SIGKILL at random points, and `OciLayout.pullToLayout` interrupted at random points. After each
 * kill the layout is valid (`index.json` names only blobs present and verified; anything else is
 * under a temporary name), a `blob -o` file is absent or whole and verified, and a rerun completes
 * without downloading a verified blob again (blob GETs counted at a fault proxy in front of the
 * registry). `OCIREG_CRASH_POINTS` sets the kill points per test (default 20),
 * `OCIREG_CRASH_SEED` the seed of their times.
 */
import { assert, describe, it } from "@effect/vitest"
import * as BlobSource from "@ocireg/core/BlobSource"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Image from "@ocireg/core/Image"
import * as MediaType from "@ocireg/core/MediaType"
import * as Registry from "@ocireg/core/Registry"
import * as NodeHasher from "@ocireg/platform-node/NodeHasher"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as OciLayout from "@ocireg/platform-node/OciLayout"
import * as RegistryServer from "@ocireg/platform-node/RegistryServer"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as fc from "fast-check"
import * as childProcess from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll } from "vitest"
import { checkLayout } from "../../../../test-support/campaign/world.js"
import { Fault, type FaultProxy, startFaultProxy } from "../../../../test-support/faultProxy.js"

const bin = fileURLToPath(new URL("../../dist/ocireg.mjs", import.meta.url))
const points = Number(process.env.OCIREG_CRASH_POINTS ?? 20)
const seed = Number(process.env.OCIREG_CRASH_SEED ?? Date.now() % 2 ** 31)

const sha256 = (bytes: Uint8Array) => `sha256:${crypto.createHash("sha256").update(bytes).digest("hex")}`

const layers = Array.from({ length: 8 }, (_, i) => crypto.randomBytes(256 * 1024 + i * 1000))
const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers" } }))
const manifest = Buffer.from(JSON.stringify({
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length },
  layers: layers.map((l) => ({ mediaType: MediaType.ociLayerTar, digest: sha256(l), size: l.length }))
}))
const manifestDigest = sha256(manifest)
const bigBlob = crypto.randomBytes(6 * 1024 * 1024)

interface Exited {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly ms: number
  readonly stderr: string
}

/** Runs the CLI; with `killAfterMs`, SIGKILLs it then (if it is still running). */
const ocireg = (args: ReadonlyArray<string>, killAfterMs?: number): Promise<Exited> =>
  new Promise((resolve) => {
    const started = Date.now()
    const child = childProcess.spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH, HOME: os.tmpdir(), DOCKER_CONFIG: path.join(os.tmpdir(), "ocireg-crash-none") },
      stdio: ["ignore", "ignore", "pipe"]
    })
    let stderr = ""
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), killAfterMs)
    const guard = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.once("exit", (code, signal) => {
      if (timer !== undefined) clearTimeout(timer)
      clearTimeout(guard)
      resolve({ code, signal, ms: Date.now() - started, stderr })
    })
  })

/** `count` kill times in [from, to) ms, reproducible from the seed. */
const killTimes = (count: number, from: number, to: number, salt: number) =>
  fc.sample(fc.integer({ min: Math.floor(from), max: Math.max(Math.floor(from) + 1, Math.floor(to)) }), {
    numRuns: count,
    seed: seed + salt
  })

describe("crash safety", () => {
  const scope = Effect.runSync(Scope.make())
  let proxy: FaultProxy
  let reference: string
  let blobReference: string
  const tmp: Array<string> = []
  const freshDir = async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "ocireg-crash-"))
    tmp.push(dir)
    return dir
  }
  const blobGets = () =>
    proxy.log().filter((e) => e.method === "GET" && /\/blobs\/sha256:/.test(e.path)).map((e) =>
      e.path.slice(e.path.indexOf("sha256:"))
    )

  beforeAll(async () => {
    await fs.access(bin).catch(() => {
      throw new Error(`${bin} is missing: run npm run build first (npm test does)`)
    })
    const server = await Effect.runPromise(
      RegistryServer.serve().pipe(Scope.extend(scope), Effect.provide(NodeHasher.layer))
    )
    proxy = await startFaultProxy({ target: server.url })
    // slow the blob bodies down (a pause every 64 KiB) so that kills land in the middle of a pull
    proxy.addRule({
      name: "slow blobs",
      method: "GET",
      path: /\/blobs\/sha256:/,
      times: Number.MAX_SAFE_INTEGER,
      action: Array.from({ length: 100 }, (_, i) => Fault.stallResponseAfter((i + 1) * 64 * 1024, 5))
    })
    reference = `${server.host}/crash/app:v1`
    blobReference = `${server.host}/crash/app@${sha256(bigBlob)}`
    await Effect.runPromise(
      Effect.gen(function*() {
        const blobs = yield* Effect.forEach([config, ...layers], BlobSource.fromBytes)
        yield* Image.push(reference, { blobs, manifest: { bytes: manifest, mediaType: MediaType.ociManifest } })
        yield* Registry.uploadBlob(reference, yield* BlobSource.fromBytes(bigBlob))
      }).pipe(Effect.provide(NodeRegistry.layer().pipe(Layer.provide(CredentialStore.layerAnonymous))))
    )
    reference = `${proxy.host}/crash/app:v1`
    blobReference = `${proxy.host}/crash/app@${sha256(bigBlob)}`
  }, 60_000)

  afterAll(async () => {
    console.log(`crash safety: ${points} kill points per test, seed ${seed}`)
    await proxy?.stop()
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await Promise.all(tmp.map((dir) => fs.rm(dir, { recursive: true, force: true })))
  })

  /** After a crash: valid, then a rerun fetches only what was not verified, and completes. */
  const rerunCompletes = async (dir: string, rerun: () => Promise<void>, label: string) => {
    const after = await checkLayout(dir, { temporariesAllowed: true })
    assert.deepStrictEqual(after.problems, [], `${label}: the layout is valid after the crash`)
    proxy.resetLog()
    await rerun()
    const refetched = blobGets().filter((digest) => after.verified.has(digest))
    assert.deepStrictEqual(refetched, [], `${label}: the rerun downloads no verified blob again`)
    const done = await checkLayout(dir, { temporariesAllowed: true })
    assert.deepStrictEqual(done.problems, [], `${label}: the layout is valid after the rerun`)
    assert.isTrue(
      done.entries.some((e) => e.digest === manifestDigest && e.annotations?.[OciLayout.refNameAnnotation] === "v1"),
      `${label}: index.json names the image`
    )
    for (const blob of [config, ...layers]) assert.isTrue(done.verified.has(sha256(blob)), `${label}: every blob`)
    return after.verified.size
  }

  it(
    "ocireg pull killed with SIGKILL at random points: a valid layout, and a rerun fetches only what is missing",
    async () => {
      const full = await ocireg(["pull", reference, await freshDir()])
      assert.strictEqual(full.code, 0, full.stderr)
      const kept: Array<number> = []
      for (const [i, at] of killTimes(points, 0, full.ms, 1).entries()) {
        const dir = await freshDir()
        const killed = await ocireg(["pull", reference, dir], at)
        const label = `kill ${i} at ${at} ms (${killed.signal ?? `exit ${killed.code}`})`
        kept.push(
          await rerunCompletes(dir, async () => {
            const rerun = await ocireg(["pull", reference, dir])
            assert.strictEqual(rerun.code, 0, `${label}: ${rerun.stderr}`)
          }, label)
        )
      }
      console.log(`ocireg pull: full run ${full.ms} ms; verified blobs kept after each kill: ${kept.join(" ")}`)
    },
    600_000
  )

  it("ocireg blob -o killed with SIGKILL at random points: the file is absent or whole, never partial", async () => {
    const dir = await freshDir()
    const full = await ocireg(["blob", blobReference, "-o", path.join(dir, "full.bin")])
    assert.strictEqual(full.code, 0, full.stderr)
    assert.strictEqual(sha256(await fs.readFile(path.join(dir, "full.bin"))), sha256(bigBlob))
    const outcomes = { absent: 0, whole: 0 }
    for (const [i, at] of killTimes(points, 0, full.ms, 2).entries()) {
      const out = path.join(dir, `out-${i}.bin`)
      const killed = await ocireg(["blob", blobReference, "-o", out], at)
      const label = `kill ${i} at ${at} ms (${killed.signal ?? `exit ${killed.code}`})`
      const bytes = await fs.readFile(out).catch(() => undefined)
      if (bytes === undefined) outcomes.absent++
      else {
        assert.strictEqual(sha256(bytes), sha256(bigBlob), `${label}: a file that exists is the whole blob`)
        outcomes.whole++
      }
      for (const name of await fs.readdir(dir)) {
        assert.match(name, /^(full\.bin|out-\d+\.bin|\.out-\d+\.bin\.tmp-[0-9a-f]+)$/, `${label}: ${name}`)
      }
      const rerun = await ocireg(["blob", blobReference, "-o", out])
      assert.strictEqual(rerun.code, 0, `${label}: ${rerun.stderr}`)
      assert.strictEqual(sha256(await fs.readFile(out)), sha256(bigBlob), `${label}: the rerun writes the blob`)
    }
    console.log(
      `ocireg blob -o: full run ${full.ms} ms; after a kill: ${outcomes.absent} absent, ${outcomes.whole} whole`
    )
  }, 600_000)

  /** A file named as `temporaryFile` names them, modified `ageMs` ago. */
  const temporary = async (dir: string, prefix: string, ageMs: number) => {
    const file = path.join(dir, `${prefix}.tmp-${crypto.randomBytes(8).toString("hex")}`)
    await fs.writeFile(file, "partial")
    const at = new Date(Date.now() - ageMs)
    await fs.utimes(file, at, at)
    return file
  }
  const exists = (file: string) => fs.lstat(file).then(() => true, () => false)
  const hour = 60 * 60 * 1000

  it("a later ocireg pull removes the stale temporaries a killed pull left, and nothing else", async () => {
    const dir = await freshDir()
    // a real kill first (half-way through the first full run's time), then temporaries by hand
    const full = await ocireg(["pull", reference, await freshDir()])
    assert.strictEqual(full.code, 0, full.stderr)
    await ocireg(["pull", reference, dir], Math.max(1, Math.floor(full.ms / 2)))
    const blobs = path.join(dir, "blobs", "sha256")
    await fs.mkdir(blobs, { recursive: true })
    const killed = (await fs.readdir(blobs)).filter((name) => name.startsWith(".tmp-")).map((n) => path.join(blobs, n))
    const old = new Date(Date.now() - hour)
    for (const file of killed) await fs.utimes(file, old, old)
    const stale = [...killed, await temporary(blobs, "", hour), await temporary(dir, ".index.json", hour)]
    const fresh = await temporary(blobs, "", 0)
    const notOurs = [
      await temporary(blobs, ".mine", hour),
      path.join(blobs, ".tmp-not-hex-at-all"),
      path.join(dir, ".tmp-0123456789abcdef")
    ]
    await fs.writeFile(notOurs[1]!, "x")
    await fs.writeFile(notOurs[2]!, "x")
    // a link with our name is never followed nor removed
    const outside = path.join(await freshDir(), "keep.txt")
    await fs.writeFile(outside, "keep")
    const link = path.join(blobs, `.tmp-${crypto.randomBytes(8).toString("hex")}`)
    await fs.symlink(outside, link)
    await fs.lutimes(link, old, old)

    const rerun = await ocireg(["pull", reference, dir])
    assert.strictEqual(rerun.code, 0, rerun.stderr)
    for (const file of stale) assert.isFalse(await exists(file), `${path.basename(file)} is stale: removed`)
    assert.isTrue(await exists(fresh), "a fresh temporary may be a live writer's: kept")
    for (const file of notOurs) assert.isTrue(await exists(file), `${path.basename(file)} is not ours: kept`)
    assert.isTrue(await exists(link), "a link is never removed")
    assert.strictEqual(await fs.readFile(outside, "utf8"), "keep")
    const layout = await checkLayout(dir, { temporariesAllowed: true })
    assert.deepStrictEqual(layout.problems, [])
    console.log(`ocireg pull: ${killed.length} temporaries of a killed pull, ${stale.length} stale removed in all`)
  }, 120_000)

  it("a later ocireg blob -o removes that file's stale temporaries, and nothing else", async () => {
    const dir = await freshDir()
    const out = path.join(dir, "out.bin")
    const stale = await temporary(dir, ".out.bin", hour)
    const fresh = await temporary(dir, ".out.bin", 0)
    const otherFile = await temporary(dir, ".other.bin", hour)
    const done = await ocireg(["blob", blobReference, "-o", out])
    assert.strictEqual(done.code, 0, done.stderr)
    assert.strictEqual(sha256(await fs.readFile(out)), sha256(bigBlob))
    assert.isFalse(await exists(stale), "the stale temporary of out.bin is removed")
    assert.isTrue(await exists(fresh), "a fresh one may be a live writer's: kept")
    assert.isTrue(await exists(otherFile), "another file's temporary is not this run's to judge: kept")
  }, 120_000)

  it.live(
    "OciLayout.pullToLayout interrupted at random points: no temporary left, a rerun fetches only what is missing",
    () =>
      Effect.gen(function*() {
        const pull = (dir: string) => OciLayout.pullToLayout(reference, dir)
        const started = Date.now()
        yield* pull(yield* Effect.promise(freshDir))
        const fullMs = Date.now() - started
        for (const [i, at] of killTimes(points, 0, fullMs, 3).entries()) {
          const dir = yield* Effect.promise(freshDir)
          const fiber = yield* Effect.fork(pull(dir))
          yield* Effect.sleep(Duration.millis(at))
          yield* Fiber.interrupt(fiber)
          const label = `interrupt ${i} at ${at} ms`
          const after = yield* Effect.promise(() => checkLayout(dir, { temporariesAllowed: false }))
          assert.deepStrictEqual(after.problems, [], `${label}: interruption cleans its temporaries`)
          yield* Effect.promise(() =>
            rerunCompletes(dir, () =>
              Effect.runPromise(pull(dir).pipe(Effect.provide(client))).then(() => undefined), label)
          )
        }
      }).pipe(Effect.provide(client)),
    600_000
  )
})

const client = NodeRegistry.layer().pipe(Layer.provide(CredentialStore.layerAnonymous))
