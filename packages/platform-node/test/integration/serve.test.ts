/**
 * `ocireg registry serve --storage DIR` and `--auth` as a process, against skopeo and
 * docker-registry: images pushed by ocireg and by skopeo come back byte for byte after a restart;
 * a SIGKILL mid-upload leaves no blob; the directory is one `docker-registry` serves as it is;
 * Basic (`--auth`, `--htpasswd`) and token (`--auth-mode token`) credentials work for skopeo and
 * for ocireg with `--authfile` or `login`, and their absence gets 401.
 */
import { assert, it } from "@effect/vitest"
import bcrypt from "bcryptjs"
import * as childProcess from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs/promises"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import {
  describeIntegration,
  type GeneratedImage,
  generateOciLayout,
  skopeoCopy,
  SkopeoError,
  skopeoInspect,
  startRegistry
} from "../../../../test-support/index.js"
import { bin, requireBin, runCli, startServer, storeImage, tempHome } from "../cli/support.js"

/** A `registry serve` process. */
interface Served {
  readonly url: string
  readonly host: string
  readonly child: childProcess.ChildProcess
  /** Ctrl-C, and wait for the exit. */
  readonly stop: () => Promise<void>
  /** SIGKILL, and wait for the exit. */
  readonly kill: () => Promise<void>
  /** What it printed so far, both streams. */
  readonly output: () => string
}

const exited = (child: childProcess.ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once("exit", () => resolve()))

const children: Array<childProcess.ChildProcess> = []

/** Start `ocireg --json registry serve …` and wait for the JSON line that names its URL. */
const serve = (args: ReadonlyArray<string>, home: string): Promise<Served> =>
  new Promise((resolve, reject) => {
    const child = childProcess.spawn(process.execPath, [bin, "--json", "registry", "serve", ...args], {
      env: { PATH: process.env.PATH, HOME: home, DOCKER_CONFIG: path.join(home, ".docker") },
      stdio: ["ignore", "pipe", "pipe"]
    })
    children.push(child)
    let out = ""
    let err = ""
    const timer = setTimeout(() => reject(new Error(`registry serve did not start: ${err}`)), 60_000)
    child.stderr!.on("data", (chunk) => (err += String(chunk)))
    child.stdout!.on("data", (chunk) => {
      out += String(chunk)
      try {
        const started = JSON.parse(out) as { url: string; host: string }
        clearTimeout(timer)
        resolve({
          url: started.url,
          host: started.host,
          child,
          stop: () => (child.kill("SIGINT"), exited(child)),
          kill: () => (child.kill("SIGKILL"), exited(child)),
          output: () => out + err
        })
      } catch {
        // not the whole object yet
      }
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`registry serve exited with ${code}: ${err}`))
    })
  })

const sha256 = (bytes: Uint8Array) => `sha256:${crypto.createHash("sha256").update(bytes).digest("hex")}`

const blobFile = (dir: string, digest: string) => {
  const hex = digest.slice("sha256:".length)
  return path.join(dir, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data")
}

const exists = (file: string) => fs.access(file).then(() => true, () => false)

let work: string
let home: string
let image: GeneratedImage

describeIntegration("ocireg registry serve --storage and --auth", ["skopeo", "docker-registry"], () => {
  beforeAll(async () => {
    await requireBin()
    work = await fs.mkdtemp(path.join(os.tmpdir(), "ocireg-serve-it-"))
    home = await tempHome()
    image = await generateOciLayout(path.join(work, "layout"), { layers: 2, layerSize: 300_000, tag: "v1" })
  })
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    await fs.rm(work, { recursive: true, force: true })
  })

  it("keeps what ocireg and skopeo pushed across a restart, byte for byte", async () => {
    const storage = path.join(work, "restart")
    const first = await serve(["--storage", storage], home)
    await skopeoCopy(`oci:${image.dir}:v1`, `docker://${first.host}/skopeo/app:v1`, { preserveDigests: true })
    const source = await startServer()
    const stored = storeImage(source.registry, "src/app", "v1", { layers: ["one layer", "another layer"] })
    const copied = await runCli(home, ["copy", `${source.host}/src/app:v1`, `${first.host}/ocireg/app:v1`])
    assert.strictEqual(copied.code, 0, copied.stderr)
    await source.stop()
    await first.stop()

    const second = await serve(["--storage", storage], home)
    const raw = await skopeoInspect(`docker://${second.host}/skopeo/app:v1`, { raw: true })
    assert.strictEqual(raw.stdout, new TextDecoder().decode(image.rootBytes))
    const out = path.join(work, "pulled")
    await skopeoCopy(`docker://${second.host}/skopeo/app:v1`, `dir:${out}`)
    for (const [digest, bytes] of image.blobs) {
      const file = path.join(out, digest.slice("sha256:".length))
      if (await exists(file)) assert.deepStrictEqual(new Uint8Array(await fs.readFile(file)), bytes)
    }
    for (const layer of image.manifests[0].layers) {
      assert.isTrue(await exists(path.join(out, layer.descriptor.digest.slice("sha256:".length))))
    }
    const manifest = await runCli(home, ["manifest", `${second.host}/ocireg/app:v1`])
    assert.strictEqual(manifest.code, 0, manifest.stderr)
    assert.strictEqual(manifest.stdout, new TextDecoder().decode(stored.manifest))
    const layerFile = path.join(work, "layer")
    const layerDigest = sha256(stored.layers[1])
    const blob = await runCli(home, ["blob", "-o", layerFile, `${second.host}/ocireg/app@${layerDigest}`])
    assert.strictEqual(blob.code, 0, blob.stderr)
    assert.strictEqual(await fs.readFile(layerFile, "utf8"), "another layer")
    const catalog = await runCli(home, ["--json", "catalog", second.host])
    assert.include(catalog.stdout, "ocireg/app")
    assert.include(catalog.stdout, "skopeo/app")
    await second.stop()
  }, 240_000)

  it("a SIGKILL mid-upload leaves no blob, and the registry starts again on the directory", async () => {
    const storage = path.join(work, "killed")
    const first = await serve(["--storage", storage], home)
    const started = await fetch(`${first.url}/v2/big/blobs/uploads/`, { method: "POST" })
    assert.strictEqual(started.status, 202)
    const location = new URL(started.headers.get("location")!, first.url)
    const id = started.headers.get("docker-upload-uuid")!
    const data = path.join(storage, "docker/registry/v2/repositories/big/_uploads", id, "data")
    const chunk = crypto.randomBytes(1024 * 1024)
    const request = http.request(location, { method: "PATCH", headers: { "content-type": "application/octet-stream" } })
    request.on("error", () => undefined)
    // send until the registry has written part of it, then kill it mid-chunk
    let sent = 0
    for (let i = 0; i < 200; i++) {
      request.write(chunk)
      sent += chunk.length
      await new Promise((resolve) => setTimeout(resolve, 20))
      const size = (await fs.stat(data).catch(() => undefined))?.size ?? 0
      if (size > 0) break
    }
    assert.isAbove((await fs.stat(data)).size, 0)
    await first.kill()
    request.destroy()
    const blobs = await fs.readdir(path.join(storage, "docker/registry/v2/blobs")).catch(() => [])
    assert.deepStrictEqual(blobs, [], "no blob may appear from an unfinished upload")

    const second = await serve(["--storage", storage], home)
    // nothing was acknowledged: the session is there, empty
    const status = await fetch(location.href.replace(first.url, second.url))
    assert.strictEqual(status.status, 204)
    assert.strictEqual(status.headers.get("range"), "0-0")
    assert.strictEqual((await fs.stat(data)).size, 0)
    assert.isAbove(sent, 0)
    const put = await fetch(`${second.url}/v2/big/blobs/uploads/?digest=${sha256(chunk)}`, {
      method: "POST",
      body: chunk
    })
    assert.strictEqual(put.status, 201)
    assert.deepStrictEqual(new Uint8Array(await fs.readFile(blobFile(storage, sha256(chunk)))), new Uint8Array(chunk))
    await second.stop()
  }, 240_000)

  it("writes a directory docker-registry serves as it is, and serves one docker-registry wrote", async () => {
    const storage = path.join(work, "for-distribution")
    const served = await serve(["--storage", storage], home)
    await skopeoCopy(`oci:${image.dir}:v1`, `docker://${served.host}/team/app:v1`, { preserveDigests: true })
    await served.stop()
    const registry = await startRegistry({ auth: "none" })
    try {
      await fs.cp(path.join(storage, "docker"), path.join(registry.storageDir, "docker"), { recursive: true })
      const raw = await skopeoInspect(`docker://${registry.host}/team/app:v1`, { raw: true })
      assert.strictEqual(raw.stdout, new TextDecoder().decode(image.rootBytes))
      await skopeoCopy(`docker://${registry.host}/team/app:v1`, `dir:${path.join(work, "from-distribution")}`)
      const layer = image.manifests[0].layers[0]
      const file = path.join(work, "from-distribution", layer.descriptor.digest.slice("sha256:".length))
      assert.deepStrictEqual(new Uint8Array(await fs.readFile(file)), layer.bytes)
      // and the other way round: what docker-registry wrote, ocireg serves
      await skopeoCopy(`oci:${image.dir}:v1`, `docker://${registry.host}/from/distribution:v2`, {
        preserveDigests: true
      })
      const theirs = path.join(work, "written-by-distribution")
      await fs.cp(path.join(registry.storageDir, "docker"), path.join(theirs, "docker"), { recursive: true })
      const ours = await serve(["--storage", theirs], home)
      try {
        const back = await skopeoInspect(`docker://${ours.host}/from/distribution:v2`, { raw: true })
        assert.strictEqual(back.stdout, new TextDecoder().decode(image.rootBytes))
        const tags = await runCli(home, ["--json", "tags", `${ours.host}/from/distribution`])
        assert.deepStrictEqual(JSON.parse(tags.stdout), ["v2"])
        const copied = path.join(work, "from-ocireg")
        await skopeoCopy(`docker://${ours.host}/from/distribution:v2`, `dir:${copied}`)
        const again = await fs.readFile(path.join(copied, layer.descriptor.digest.slice("sha256:".length)))
        assert.deepStrictEqual(new Uint8Array(again), layer.bytes)
      } finally {
        await ours.stop()
      }
    } finally {
      await registry.stop()
    }
  }, 240_000)

  it("--auth: skopeo with --creds works, without gets 401; ocireg with --authfile and login", async () => {
    const served = await serve(["--auth", "alice:pa:ss", "--auth", "bob:other"], home)
    try {
      const anonymous = await fetch(`${served.url}/v2/`)
      assert.strictEqual(anonymous.status, 401)
      assert.match(anonymous.headers.get("www-authenticate") ?? "", /^Basic realm=/)
      await skopeoCopy(`oci:${image.dir}:v1`, `docker://${served.host}/team/app:v1`, {
        destCreds: "alice:pa:ss",
        preserveDigests: true
      })
      const raw = await skopeoInspect(`docker://${served.host}/team/app:v1`, { raw: true, creds: "bob:other" })
      assert.strictEqual(raw.stdout, new TextDecoder().decode(image.rootBytes))
      const refused = await skopeoInspect(`docker://${served.host}/team/app:v1`, { raw: true }).then(
        () => undefined,
        (error: unknown) => error
      )
      assert.instanceOf(refused, SkopeoError)
      assert.match((refused as SkopeoError).stderr, /401|unauthorized|authentication required/i)
      const wrong = await skopeoInspect(`docker://${served.host}/team/app:v1`, { raw: true, creds: "alice:nope" })
        .then(() => undefined, (error: unknown) => error)
      assert.instanceOf(wrong, SkopeoError)

      const authfile = path.join(work, "auth.json")
      const auth = Buffer.from("alice:pa:ss").toString("base64")
      await fs.writeFile(authfile, JSON.stringify({ auths: { [served.host]: { auth } } }))
      const withFile = await runCli(home, ["--json", "--authfile", authfile, "tags", `${served.host}/team/app`])
      assert.strictEqual(withFile.code, 0, withFile.stderr)
      assert.deepStrictEqual(JSON.parse(withFile.stdout), ["v1"])
      const without = await runCli(home, ["tags", `${served.host}/team/app`])
      assert.strictEqual(without.code, 3, without.stderr)
      const loginHome = await tempHome()
      const login = await runCli(loginHome, ["-u", "bob", "--password-stdin", "login", "--plaintext", served.host], {
        input: "other\n"
      })
      assert.strictEqual(login.code, 0, login.stderr)
      const digest = await runCli(loginHome, ["digest", `${served.host}/team/app:v1`])
      assert.strictEqual(digest.code, 0, digest.stderr)
      assert.strictEqual(digest.stdout.trim(), image.root.digest)
      // the password never shows in what the server printed
      assert.include(served.output(), "basic")
      assert.notInclude(served.output(), "pa:ss")
    } finally {
      await served.stop()
    }
  }, 240_000)

  it("--htpasswd (bcrypt, as htpasswd -B writes) and --auth-mode token", async () => {
    const htpasswd = path.join(work, "htpasswd")
    const hash = bcrypt.hashSync("hunter2", 5).replace(/^\$2b\$/, "$2y$")
    await fs.writeFile(htpasswd, `# users\ncarol:${hash}\n`)
    const served = await serve(["--htpasswd", htpasswd, "--auth-mode", "token"], home)
    try {
      const anonymous = await fetch(`${served.url}/v2/`)
      assert.strictEqual(anonymous.status, 401)
      assert.match(anonymous.headers.get("www-authenticate") ?? "", /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/token"/)
      await skopeoCopy(`oci:${image.dir}:v1`, `docker://${served.host}/team/app:v1`, {
        destCreds: "carol:hunter2",
        preserveDigests: true
      })
      const raw = await skopeoInspect(`docker://${served.host}/team/app:v1`, { raw: true, creds: "carol:hunter2" })
      assert.strictEqual(raw.stdout, new TextDecoder().decode(image.rootBytes))
      const wrong = await skopeoInspect(`docker://${served.host}/team/app:v1`, { creds: "carol:wrong" }).then(
        () => undefined,
        (error: unknown) => error
      )
      assert.instanceOf(wrong, SkopeoError)
    } finally {
      await served.stop()
    }
  }, 240_000)

  it("refuses a malformed --auth and a bad password file with a usage error that shows no password", async () => {
    const bad = await runCli(home, ["registry", "serve", "--auth", "nocolon-secret"])
    assert.strictEqual(bad.code, 2)
    assert.notInclude(bad.stderr, "nocolon-secret")
    const file = path.join(work, "bad-htpasswd")
    await fs.writeFile(file, "dave:plaintext-password\n")
    const badFile = await runCli(home, ["registry", "serve", "--htpasswd", file])
    assert.strictEqual(badFile.code, 2)
    assert.notInclude(badFile.stderr, "plaintext-password")
    assert.include(badFile.stderr, "htpasswd -B")
  }, 120_000)
})
