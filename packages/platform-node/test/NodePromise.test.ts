import * as MediaType from "@ocireg/core/MediaType"
import * as NodeHasher from "@ocireg/platform-node/NodeHasher"
import * as NodePromise from "@ocireg/platform-node/NodePromise"
import * as RegistryServer from "@ocireg/platform-node/RegistryServer"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import type { ReadableStream as NodeReadableStream } from "node:stream/web"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "vitest"

const digestOf = (bytes: Uint8Array) => `sha256:${crypto.createHash("sha256").update(bytes).digest("hex")}`
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

const scope = Effect.runSync(Scope.make())
let server: RegistryServer.RunningServer
let tmp: string

beforeAll(async () => {
  server = await Effect.runPromise(
    RegistryServer.serve({ auth: { basic: { alice: "secret" } } }).pipe(
      Scope.extend(scope),
      Effect.provide(NodeHasher.layer)
    )
  )
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ocireg-nodepromise-"))
})

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  fs.rmSync(tmp, { recursive: true, force: true })
})

const clients: Array<NodePromise.RegistryClientPromise> = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()))
})
const track = (client: NodePromise.RegistryClientPromise) => {
  clients.push(client)
  return client
}

/** An environment whose only credential file is a Docker `config.json` with `auths`. */
const dockerEnv = (auths: Record<string, unknown>) => {
  const dir = fs.mkdtempSync(path.join(tmp, "docker-"))
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ auths }))
  return {
    env: { DOCKER_CONFIG: dir, XDG_RUNTIME_DIR: dir, XDG_CONFIG_HOME: dir, HOME: dir, PATH: "" },
    homeDir: dir
  }
}

describe("NodePromise.createClient", () => {
  it("pushes and pulls over real HTTP with the credentials given", async () => {
    const client = track(NodePromise.createClient({
      credentials: { [server.host]: { username: "alice", password: "secret" } }
    }))
    const repo = `${server.host}/team/app`
    const layer = crypto.randomBytes(3 * 1024 * 1024)
    const config = encode({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } })
    const manifest = encode({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: digestOf(config), size: config.length },
      layers: [{ mediaType: MediaType.ociLayerTarGzip, digest: digestOf(layer), size: layer.length }]
    })
    assert.strictEqual((await client.uploadBlob(repo, layer)).outcome, "uploaded")
    assert.strictEqual((await client.uploadBlob(repo, config)).outcome, "uploaded")
    const put = await client.putManifest(`${repo}:v1`, manifest)
    assert.strictEqual(put.digest, digestOf(manifest))
    assert.deepStrictEqual(await client.listTags(repo), ["v1"])
    assert.strictEqual((await client.getManifest(`${repo}:v1`)).kind, "ImageManifest")

    const stream = await client.getBlob(repo, { digest: digestOf(layer), size: layer.length })
    const hash = crypto.createHash("sha256")
    let size = 0
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk)
      size += chunk.length
    }
    assert.strictEqual(size, layer.length)
    assert.strictEqual(`sha256:${hash.digest("hex")}`, digestOf(layer))

    const controller = new AbortController()
    const aborted = await client.getBlob(repo, digestOf(layer), { signal: controller.signal })
    const reader = aborted.getReader()
    await reader.read()
    const reason = new Error("enough")
    controller.abort(reason)
    let rejected: unknown
    try {
      for (;;) if ((await reader.read()).done) break
    } catch (error) {
      rejected = error
    }
    assert.strictEqual(rejected, reason)
  })

  it("uploads from a file stream and downloads to a file, as in the migration note", async () => {
    const client = track(NodePromise.createClient({
      credentials: { [server.host]: { username: "alice", password: "secret" } }
    }))
    const repo = `${server.host}/team/files`
    const bytes = crypto.randomBytes(200_000)
    const source = path.join(tmp, "blob.bin")
    fs.writeFileSync(source, bytes)
    const digest = digestOf(bytes)
    const uploaded = await client.uploadBlob(repo, { digest, size: bytes.length, stream: fs.createReadStream(source) })
    assert.strictEqual(uploaded.outcome, "uploaded")
    const target = path.join(tmp, "downloaded.bin")
    const blob = await client.getBlob(repo, digest)
    await pipeline(Readable.fromWeb(blob as NodeReadableStream<Uint8Array>), fs.createWriteStream(target))
    assert.ok(fs.readFileSync(target).equals(bytes))
  })

  it("rejects with AuthenticationError for a wrong password", async () => {
    const client = track(NodePromise.createClient({
      credentials: { [server.host]: { username: "alice", password: "wrong" } }
    }))
    try {
      await client.listTags(`${server.host}/team/app`)
      assert.fail("expected a rejection")
    } catch (error) {
      assert.ok(NodePromise.isRegistryError(error, "AuthenticationError"))
      assert.ok(error instanceof Error)
      assert.notInclude(error.message, "wrong")
    }
  })

  it("reads Docker's config.json when no credentials are given", async () => {
    const auth = Buffer.from("alice:secret").toString("base64")
    const client = track(NodePromise.createClient({ docker: dockerEnv({ [server.host]: { auth } }) }))
    const ping = await client.ping(server.host)
    assert.strictEqual(ping.apiVersion, "registry/2.0")

    const anonymous = track(NodePromise.createClient({ docker: dockerEnv({}) }))
    try {
      await anonymous.ping(server.host)
      assert.fail("expected a rejection")
    } catch (error) {
      assert.ok(NodePromise.isRegistryError(error, "AuthenticationError"))
    }
  })

  it("converts each kind of credential, secrets redacted", () => {
    assert.strictEqual(NodePromise.toCredential({ username: "u", password: "p" })._tag, "Basic")
    assert.strictEqual(NodePromise.toCredential({ token: "t" })._tag, "BearerToken")
    const identity = NodePromise.toCredential({ identityToken: "r", username: "u" })
    assert.strictEqual(identity._tag, "IdentityToken")
    assert.notInclude(JSON.stringify(identity), "\"r\"")
  })
})
