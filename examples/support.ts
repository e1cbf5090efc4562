/**
 * What the examples share (not an example itself):
 *
 * - `withRegistry(given, program)`: run `program` against the registry named on the command line
 *   (credentials from Docker's config, `NodeRegistry.layerDocker()`), or, when nothing was given,
 *   against a fresh embedded registry on a loopback port (`RegistryServer.serve`) seeded with
 *   the demo image and spoken to anonymously (`NodeRegistry.layer()` + `layerAnonymous`);
 * - `seedDemoImage(host)`: push a tiny two-platform OCI index (plus an SBOM that refers to it)
 *   through ocireg itself;
 * - `isMain` / `runMain`: how an example file runs itself under `npx tsx examples/<name>.ts`.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as BlobSource from "@ocireg/core/BlobSource"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Digest from "@ocireg/core/Digest"
import * as Image from "@ocireg/core/Image"
import type * as Manifest from "@ocireg/core/Manifest"
import * as MediaType from "@ocireg/core/MediaType"
import * as Reference from "@ocireg/core/Reference"
import * as Registry from "@ocireg/core/Registry"
import type * as RegistryClient from "@ocireg/core/RegistryClient"
import type { RegistryError } from "@ocireg/core/RegistryError"
import * as NodeHasher from "@ocireg/platform-node/NodeHasher"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as RegistryServer from "@ocireg/platform-node/RegistryServer"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import * as Scope from "effect/Scope"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { pathToFileURL } from "node:url"

/**
 * What the examples' programs need: the registry client (hashing is inside it); the `Hasher` is
 * there for `OciLayout`, which hashes files itself.
 */
export type Env = RegistryClient.RegistryClient | Digest.Hasher

// ---------------------------------------------------------------------------------------------
// running an example file
// ---------------------------------------------------------------------------------------------

/** Whether the module at `url` (its `import.meta.url`) is the file node was asked to run. */
export const isMain = (url: string): boolean =>
  process.argv[1] !== undefined && url === pathToFileURL(process.argv[1]).href

/** Wrong command-line arguments. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** Fail with the usage line of an example. */
export const usage = (text: string): Effect.Effect<never, UsageError> =>
  Effect.fail(new UsageError({ message: `usage: ${text}` }))

/**
 * Run an example's `main` with the command line's arguments. A typed failure (`NotFound`,
 * `AuthenticationError`, …) is printed as `_tag: message` with exit code 1 (2 for wrong
 * arguments); a defect gets Effect's full report.
 */
export const runMain = (main: (args: ReadonlyArray<string>) => Effect.Effect<unknown, unknown>): void =>
  NodeRuntime.runMain(
    main(process.argv.slice(2)).pipe(
      Effect.asVoid,
      Effect.catchAll((error) =>
        Effect.sync(() => {
          const tag = Predicate.hasProperty(error, "_tag") ? String(error._tag) : "Error"
          if (error instanceof UsageError) console.error(error.message)
          else console.error(error instanceof Error ? `${tag}: ${error.message}` : String(error))
          process.exitCode = error instanceof UsageError ? 2 : 1
        })
      )
    )
  )

// ---------------------------------------------------------------------------------------------
// the demo image
// ---------------------------------------------------------------------------------------------

const encoder = new TextEncoder()

/** JSON as bytes: what manifests and configs are on the wire. */
export const jsonBytes = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value))

/** A tar archive with one file: a real (uncompressed) image layer, small enough to print. */
export const tarLayer = (name: string, text: string): Uint8Array => {
  const data = Buffer.from(text)
  const header = Buffer.alloc(512)
  header.write(name, 0, 100)
  header.write("0000644\0", 100) // mode
  header.write("0000000\0", 108) // uid
  header.write("0000000\0", 116) // gid
  header.write(data.length.toString(8).padStart(11, "0") + "\0", 124)
  header.write("00000000000\0", 136) // mtime
  header.write("        ", 148) // checksum placeholder
  header.write("0", 156) // regular file
  header.write("ustar\0", 257)
  header.write("00", 263)
  const sum = header.reduce((total, byte) => total + byte, 0)
  header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148)
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512)
  return new Uint8Array(Buffer.concat([header, data, padding, Buffer.alloc(1024)]))
}

/** A descriptor of bytes about to be pushed. */
export const descriptorOf = (source: BlobSource.BlobSource, mediaType: string): Manifest.Descriptor => ({
  mediaType,
  digest: source.digest,
  size: source.size
})

/**
 * A single-platform OCI image (one layer with `/hello.txt`, its config, the manifest), ready for
 * `Image.push`. `created` makes the digests unique when it changes.
 */
export const makeImage = (options: {
  readonly platform: string
  readonly text: string
  readonly created?: string | undefined
}) =>
  Effect.gen(function*() {
    const [os, architecture, variant] = options.platform.split("/")
    const layer = yield* BlobSource.fromBytes(tarLayer("hello.txt", options.text))
    const config = yield* BlobSource.fromBytes(jsonBytes({
      architecture,
      os,
      ...(variant !== undefined ? { variant } : {}),
      created: options.created ?? "2024-01-01T00:00:00Z",
      config: { Cmd: ["cat", "/hello.txt"] },
      rootfs: { type: "layers", diff_ids: [layer.digest] } // an uncompressed layer's diff id is its digest
    }))
    const manifestBytes = jsonBytes({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: descriptorOf(config, MediaType.ociConfig),
      layers: [descriptorOf(layer, MediaType.ociLayerTar)]
    })
    const manifest = yield* BlobSource.fromBytes(manifestBytes)
    return {
      platform: options.platform,
      descriptor: {
        ...descriptorOf(manifest, MediaType.ociManifest),
        platform: { architecture: architecture ?? "", os: os ?? "", ...(variant !== undefined ? { variant } : {}) }
      },
      config: descriptorOf(config, MediaType.ociConfig),
      layer: descriptorOf(layer, MediaType.ociLayerTar),
      toPush: {
        blobs: [config, layer],
        manifest: { bytes: manifestBytes, mediaType: MediaType.ociManifest }
      } satisfies Image.ImageToPush
    }
  })

/** What `seedDemoImage` pushed. */
export interface DemoImage {
  /** `HOST/demo/app:1.0`, an OCI index of linux/amd64 and linux/arm64 (also tagged `latest`). */
  readonly reference: string
  /** `HOST/demo/app` */
  readonly repository: string
  readonly tags: ReadonlyArray<string>
  readonly digest: Digest.Digest
  readonly images: ReadonlyArray<{
    readonly platform: string
    readonly digest: Digest.Digest
    readonly config: Manifest.Descriptor
    readonly layer: Manifest.Descriptor
  }>
  /** An SBOM artifact whose `subject` is the index (found by `Registry.getReferrers`). */
  readonly sbom: { readonly digest: Digest.Digest; readonly artifactType: string }
}

/** The artifact type of the demo SBOM. */
export const sbomArtifactType = "application/spdx+json"

/**
 * Push the demo image through ocireg itself: an OCI index of two tiny images, tagged `1.0` and
 * `latest`, and an SBOM artifact attached to it (its `subject` is the index).
 */
export const seedDemoImage = (
  host: string,
  repositoryPath = "demo/app"
): Effect.Effect<DemoImage, RegistryError, Env> =>
  Effect.gen(function*() {
    const repository = `${host}/${repositoryPath}`
    const images = yield* Effect.forEach(
      ["linux/amd64", "linux/arm64"],
      (platform) => makeImage({ platform, text: `hello from ${platform}\n` })
    )
    const indexBytes = jsonBytes({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: images.map((image) => image.descriptor)
    })
    const index = yield* Image.push(`${repository}:1.0`, {
      images: images.map((image) => image.toPush),
      index: { bytes: indexBytes, mediaType: MediaType.ociIndex }
    })
    yield* Image.tag(`${repository}:1.0`, "latest")

    // an SBOM that refers to the index: an artifact manifest with `subject`
    const empty = yield* BlobSource.fromBytes(jsonBytes({}))
    const sbom = yield* BlobSource.fromBytes(jsonBytes({ spdxVersion: "SPDX-2.3", name: "demo/app" }))
    const sbomManifest = jsonBytes({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: sbomArtifactType,
      config: descriptorOf(empty, MediaType.ociEmpty),
      layers: [descriptorOf(sbom, sbomArtifactType)],
      subject: { mediaType: MediaType.ociIndex, digest: index.digest, size: index.size }
    })
    const sbomDigest = yield* Digest.ofBytes(sbomManifest)
    yield* Image.push(`${repository}@${sbomDigest}`, {
      blobs: [empty, sbom],
      manifest: { bytes: sbomManifest, mediaType: MediaType.ociManifest }
    })
    return {
      reference: `${repository}:1.0`,
      repository,
      tags: ["1.0", "latest"],
      digest: index.digest,
      images: images.map((image) => ({
        platform: image.platform,
        digest: image.descriptor.digest,
        config: image.config,
        layer: image.layer
      })),
      sbom: { digest: sbomDigest, artifactType: sbomArtifactType }
    }
  })

// ---------------------------------------------------------------------------------------------
// where an example runs
// ---------------------------------------------------------------------------------------------

/** Where an example runs. */
export interface Target {
  /** The registry host (`127.0.0.1:PORT`, `ghcr.io`, …). */
  readonly host: string
  /** An image reference: the demo image, or what was given on the command line. */
  readonly reference: string
  /** The reference without tag or digest: `host/path`. */
  readonly repository: string
  /** The repository's path within the registry (`demo/app`), as `mountFrom` wants it. */
  readonly path: string
  /** The seeded demo image, when running against the embedded registry. */
  readonly demo: DemoImage | undefined
  /** The embedded registry, when running against it (its request log, failure injection). */
  readonly server: RegistryServer.RunningServer | undefined
  /** A client layer of the same kind (same credentials) with other options. */
  readonly clientLayer: (options?: RegistryClient.Options) => Layer.Layer<Env>
}

/** Options of `withRegistry`. */
export interface RunOptions {
  /** Options of the client the program runs with. */
  readonly client?: RegistryClient.Options | undefined
  /** Options of the embedded registry. */
  readonly server?: RegistryServer.Options | undefined
}

/** The client for the embedded registry: anonymous (it has no authentication by default). */
export const embeddedClient = (options: RegistryClient.Options = {}): Layer.Layer<Env> =>
  NodeRegistry.layer(options).pipe(Layer.provide(CredentialStore.layerAnonymous))

/** Start an embedded registry on a loopback port; it stops when the scope closes. */
export const startEmbeddedRegistry = (
  options: RegistryServer.Options = {}
): Effect.Effect<RegistryServer.RunningServer, RegistryServer.ServeError, Scope.Scope> =>
  RegistryServer.serve({ tagDelete: true, ...options }).pipe(Effect.provide(NodeHasher.layer))

/**
 * Run `program` against the registry or image `given` on the command line (Docker's credentials),
 * or, without one, against a fresh embedded registry seeded with the demo image. A `given` with no
 * `/` is taken as a bare registry host (for `ping` and the catalog).
 */
export const withRegistry = <A, E>(
  given: string | undefined,
  program: (target: Target) => Effect.Effect<A, E, Env | Scope.Scope>,
  options: RunOptions = {}
): Effect.Effect<A, E | RegistryError | RegistryServer.ServeError> => {
  if (given === undefined) {
    return Effect.gen(function*() {
      const server = yield* startEmbeddedRegistry(options.server)
      const demo = yield* seedDemoImage(server.host)
      return yield* program({
        host: server.host,
        reference: demo.reference,
        repository: demo.repository,
        path: "demo/app",
        demo,
        server,
        clientLayer: embeddedClient
      })
    }).pipe(Effect.scoped, Effect.provide(embeddedClient(options.client)))
  }
  const clientLayer = (client: RegistryClient.Options = {}) => NodeRegistry.layerDocker(client)
  return Effect.gen(function*() {
    const ref = yield* Reference.parseEffect(given)
    return yield* program({
      host: given.includes("/") ? ref.registry : given,
      reference: given,
      repository: Reference.name(ref),
      path: ref.repository,
      demo: undefined,
      server: undefined,
      clientLayer
    })
  }).pipe(Effect.scoped, Effect.provide(clientLayer(options.client)))
}

/** For the Promise example: start the embedded registry with the demo image, and stop it. */
export const startDemoRegistry = async (): Promise<
  { readonly demo: DemoImage; readonly close: () => Promise<void> }
> => {
  const scope = Effect.runSync(Scope.make())
  const demo = await Effect.runPromise(
    startEmbeddedRegistry().pipe(
      Effect.flatMap((server) => seedDemoImage(server.host)),
      Effect.provide(embeddedClient()),
      Scope.extend(scope)
    )
  ).catch(async (error) => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw error
  })
  return { demo, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** Bytes as a short human size. */
export const formatBytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`

/** The path of an upload session's location (its query may carry registry state; not worth printing). */
export const sessionPath = (session: Registry.UploadSession): string => new URL(session.location).pathname

/** A temporary directory, removed when the scope closes. */
export const tempDir: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "ocireg-example-"))),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
)
