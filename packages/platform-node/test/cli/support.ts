/**
 * Running the bundled `ocireg` binary in tests: a private HOME and Docker config, optional
 * standard input and extra environment, the exit code and both streams.
 */
import type * as RegistryTest from "@ocireg/core/RegistryTest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as childProcess from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as NodeHasher from "../../src/NodeHasher.js"
import * as RegistryServer from "../../src/RegistryServer.js"

/** The bundled CLI (built by `npm run build`). */
export const bin = fileURLToPath(new URL("../../dist/ocireg.mjs", import.meta.url))

/** What a run of the CLI did. */
export interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Fail early, with a useful message, when the bundle has not been built. */
export const requireBin = () =>
  fs.access(bin).catch(() => {
    throw new Error(`${bin} is missing: run npm run build first (npm test does)`)
  })

/** A fresh temporary HOME. */
export const tempHome = () => fs.mkdtemp(path.join(os.tmpdir(), "ocireg-cli2-"))

/** Run the CLI with `home` as HOME (and its `.docker` as DOCKER_CONFIG). */
export const runCli = (
  home: string,
  args: ReadonlyArray<string>,
  options: { readonly input?: string; readonly env?: Readonly<Record<string, string>> } = {}
): Promise<Run> =>
  new Promise((resolve) => {
    const child = childProcess.execFile(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH, HOME: home, DOCKER_CONFIG: path.join(home, ".docker"), ...options.env },
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024
    }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr })
    })
    child.stdin?.end(options.input ?? "")
  })

/** A RegistryServer (the in-memory registry over HTTP) running in the test process. */
export interface TestServer extends RegistryServer.RunningServer {
  readonly stop: () => Promise<void>
}

/** Start a RegistryServer on a free loopback port; `stop` closes it. */
export const startServer = async (options: RegistryServer.Options = {}): Promise<TestServer> => {
  const scope = Effect.runSync(Scope.make())
  const running = await Effect.runPromise(
    RegistryServer.serve({ tagDelete: true, ...options }).pipe(Scope.extend(scope), Effect.provide(NodeHasher.layer))
  )
  return { ...running, stop: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

const sha256 = (bytes: Uint8Array) => `sha256:${crypto.createHash("sha256").update(bytes).digest("hex")}`
const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

/** What `storeImage` stored. */
export interface Stored {
  readonly digest: string
  readonly manifest: Uint8Array
  readonly config: Uint8Array
  readonly layers: ReadonlyArray<Uint8Array>
}

/** Store a small OCI image straight into an in-memory registry, tagged when `tag` is given. */
export const storeImage = (
  registry: RegistryTest.Service,
  repository: string,
  tag: string | undefined,
  options: {
    readonly created?: string
    readonly architecture?: string
    readonly layers?: ReadonlyArray<string>
  } = {}
): Stored => {
  const layers = (options.layers ?? [`layer of ${repository}:${tag}`]).map((text) => new TextEncoder().encode(text))
  const layerDigests = layers.map((bytes) => registry.putBlob(repository, bytes))
  const config = encode({
    architecture: options.architecture ?? "amd64",
    os: "linux",
    ...(options.created ? { created: options.created } : {}),
    rootfs: { type: "layers", diff_ids: layerDigests },
    config: {}
  })
  const configDigest = registry.putBlob(repository, config)
  const manifest = encode({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
    layers: layers.map((bytes, i) => ({
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest: layerDigests[i],
      size: bytes.length
    }))
  })
  const digest = registry.putManifest(
    repository,
    tag ?? sha256(manifest),
    manifest,
    "application/vnd.oci.image.manifest.v1+json"
  )
  return { digest, manifest, config, layers }
}
