/**
 * An in-memory OCI registry for tests, in the manner of go-containerregistry's `pkg/registry`: the
 * endpoints of the OCI distribution specification (pull, push with monolithic and chunked uploads,
 * cross-repository mounts, tags and catalog with `Link` paging, referrers, deletes) with the status
 * codes, headers and `{"errors":[...]}` bodies distribution sends, and optional Basic or Bearer
 * (Docker token protocol) authentication.
 *
 * With `dialect` it answers as another registry does (Docker Hub, GHCR, ECR, Google Artifact
 * Registry, Azure Container Registry, Quay, Harbor, Artifactory, Nexus): a table of small rules,
 * each citing its source (`dialectInfo`; docs/registries.md), blob downloads redirected to a
 * storage origin with signed-URL semantics where the real registry redirects them.
 *
 * The server is platform-free: `handle` answers a web `Request` with a `Response`. `layer` gives it
 * as an `HttpClient` that answers in memory, without sockets, for any host (`registry.test` by
 * convention); `layerHosts` puts several registries on their own hosts (and refuses any other
 * host), `layerFrom` serves a registry made and seeded beforehand, and `seedImage` stores a whole
 * image or index in one call. A platform package can serve `handle` over real HTTP.
 *
 * @example
 * ```ts
 * import * as HttpClient from "@effect/platform/HttpClient"
 * import * as RegistryTest from "@ocireg/core/RegistryTest"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.gen(function*() {
 *   const registry = yield* RegistryTest.TestRegistry
 *   const digest = registry.putBlob("team/app", new TextEncoder().encode("hello"))
 *   const response = yield* HttpClient.head(`https://registry.test/v2/team/app/blobs/${digest}`)
 *   return response.headers["docker-content-digest"] === digest
 * }).pipe(Effect.provide(RegistryTest.layer({ referrersApi: true })))
 * ```
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { currentHasher } from "./Digest.js"
import * as Client from "./internal/testRegistry/client.js"
import { settings } from "./internal/testRegistry/context.js"
import * as Dialects from "./internal/testRegistry/dialects.js"
import * as Hosts from "./internal/testRegistry/hosts.js"
import type { ErrorCode } from "./internal/testRegistry/responses.js"
import * as Seed from "./internal/testRegistry/seed.js"
import { makeService } from "./internal/testRegistry/server.js"
import * as TestStorage from "./internal/testRegistry/storage.js"

/**
 * The Bearer (Docker token protocol) settings: the users of the token endpoint, whether
 * anonymous callers get pull tokens, and which actions each user is granted.
 *
 * @since 0.1.0
 * @category models
 */
export interface BearerOptions {
  /** User name to password, checked by the token endpoint. */
  readonly users: Users
  /** Whether a token requested without credentials grants `pull` (default `false`: nothing). */
  readonly anonymousPull?: boolean | undefined
  /**
   * The actions a user gets on a repository, from those requested (default: all of them). The
   * result is intersected with the request.
   */
  readonly grants?:
    | ((user: string, repository: string, actions: ReadonlyArray<string>) => ReadonlyArray<string>)
    | undefined
}

/**
 * Who may log in: user name to password, or a check of a user and password (a password file of
 * hashes, for instance).
 *
 * @since 0.1.0
 * @category models
 */
export type Users = Readonly<Record<string, string>> | ((user: string, password: string) => boolean)

/**
 * How callers authenticate: not at all, with HTTP Basic, or with Bearer tokens from the
 * registry's own token endpoint (`/token`).
 *
 * @since 0.1.0
 * @category models
 */
export type Auth =
  | "none"
  | { readonly basic: Users }
  | { readonly bearer: BearerOptions }

/**
 * A registry whose behaviour the test registry imitates. `"distribution"` (the default) is the
 * CNCF distribution registry; the others add the rules of Docker Hub, GitHub Container Registry,
 * Amazon ECR, Google Artifact Registry, Azure Container Registry, Quay, Harbor, JFrog Artifactory
 * and Sonatype Nexus (see `dialectRules` and docs/registries.md).
 *
 * @since 0.1.0
 * @category models
 */
export type Dialect = Dialects.DialectName

/**
 * Every dialect, `"distribution"` first.
 *
 * @since 0.1.0
 * @category dialects
 */
export const dialects: ReadonlyArray<Dialect> = Dialects.dialectNames

/**
 * One rule of a dialect: what the registry does differently, and where that is documented or
 * reported.
 *
 * @since 0.1.0
 * @category models
 */
export interface DialectRule {
  readonly name: string
  readonly summary: string
  readonly source: string
}

/**
 * The rules a dialect applies, with the registry's name and documentation.
 *
 * @since 0.1.0
 * @category dialects
 */
export const dialectInfo = (dialect: Dialect): {
  readonly title: string
  readonly docs: string
  /** The storage service blob downloads redirect to, if they do. */
  readonly blobStorage: "s3" | "gcs" | "azure" | undefined
  readonly rules: ReadonlyArray<DialectRule>
} => {
  const found = Dialects.dialects[dialect]
  return {
    title: found.title,
    docs: found.docs,
    blobStorage: Dialects.defaultsOf(found).blobStorage,
    rules: found.rules.map(({ name, source, summary }) => ({ name, summary, source }))
  }
}

/**
 * The path prefix the `"artifactory"` dialect serves the API under
 * (`/artifactory/api/docker/docker-local`): its references look like
 * `host/artifactory/api/docker/docker-local/<name>` to clients that know the prefix.
 *
 * @since 0.1.0
 * @category dialects
 */
export const artifactoryPrefix: string = Dialects.artifactoryPrefix

/**
 * The behaviour of a test registry.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Which registry to imitate (default `"distribution"`). A dialect changes defaults (Docker Hub
   * and GHCR default to Bearer auth with anonymous pull tokens, ECR to a 5 MiB minimum chunk) and
   * adds its rules; options given explicitly win over a dialect's defaults.
   */
  readonly dialect?: Dialect | undefined
  /**
   * The origin of the storage service blob downloads redirect to, for dialects that redirect
   * (default `https://<s3|gcs|azure>.storage.test`, answered by the same handler; `RegistryServer`
   * serves it on a second loopback port).
   */
  readonly storageOrigin?: string | undefined
  /** Whether answers carry CORS headers (any origin) and `OPTIONS` preflights are answered (default `false`). */
  readonly cors?: boolean | undefined
  /** Default `"none"`. */
  readonly auth?: Auth | undefined
  /** Whether `/v2/<name>/referrers/<digest>` exists (default `true`); without it, 404 as old registries. */
  readonly referrersApi?: boolean | undefined
  /** Whether manifests and blobs may be deleted (default `true`); else 405 `UNSUPPORTED`. */
  readonly deleteEnabled?: boolean | undefined
  /** Whether `DELETE /manifests/<tag>` removes the tag (default `false`: 400 `UNSUPPORTED`). */
  readonly tagDelete?: boolean | undefined
  /**
   * Whether `POST ?digest=` with a body stores the blob (201, default `true`). `false` mimics
   * `docker-registry` 2.8, which ignores the body and opens a session (202).
   */
  readonly monolithicPost?: boolean | undefined
  /** Sent as `OCI-Chunk-Min-Length`; a shorter chunk must then be the last one (else 416). */
  readonly chunkMinLength?: number | undefined
  /** The largest page of tags or repositories (`n` is capped at it; the default page size). */
  readonly pageSize?: number | undefined
  /** The largest manifest accepted, in bytes (default 4 MiB; above: 413 `MANIFEST_INVALID`). */
  readonly maxManifestSize?: number | undefined
  /** Lifetime of issued tokens in seconds (default 300). */
  readonly tokenExpiresIn?: number | undefined
  /** The `service` of the Bearer challenge (default: the request's host). */
  readonly service?: string | undefined
  /** The token realm (default `https://<host>/token`, `http` for loopback hosts). */
  readonly realm?: string | undefined
  /**
   * Where the content lives (default: in memory, gone with the registry). `RegistryServer` in
   * `@ocireg/platform-node` has one on disk (`serve({ storage: dir })`).
   */
  readonly storage?: Storage | undefined
}

/**
 * Where a test registry keeps blobs, manifests, tags and upload sessions: metadata synchronously,
 * blob bytes as streams. Implement it to keep a registry's content elsewhere than in memory.
 *
 * @since 0.1.0
 * @category storage
 */
export type Storage = TestStorage.Storage

/**
 * A manifest as a `Storage` keeps it: its bytes and the fields the referrers API reports.
 *
 * @since 0.1.0
 * @category storage
 */
export type StoredManifest = TestStorage.StoredManifest

/**
 * An upload session as a `Storage` keeps it.
 *
 * @since 0.1.0
 * @category storage
 */
export type UploadSession = TestStorage.UploadSession

/**
 * The outcome of `Storage.commitUpload`.
 *
 * @since 0.1.0
 * @category storage
 */
export type Committed = TestStorage.Committed

/**
 * The bytes of a blob a `Storage` serves: at hand or streamed.
 *
 * @since 0.1.0
 * @category storage
 */
export type BlobBody = TestStorage.BlobBody

/**
 * A new, empty `Storage` in memory (what a registry gets by default).
 *
 * @since 0.1.0
 * @category storage
 */
export const memoryStorage = (): Storage => new TestStorage.MemoryStorage()

/**
 * A manifest as stored: its exact bytes, digest and media type.
 *
 * @since 0.1.0
 * @category models
 */
export interface Manifest {
  readonly digest: string
  readonly mediaType: string
  readonly bytes: Uint8Array
}

/**
 * One request the registry answered.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoggedRequest {
  readonly method: string
  readonly path: string
  /** The query string, with its `?` (or empty). */
  readonly search: string
  readonly status: number
}

/**
 * A token the token endpoint issued.
 *
 * @since 0.1.0
 * @category models
 */
export interface IssuedToken {
  readonly token: string
  /** `undefined` for an anonymous token. */
  readonly user: string | undefined
  /** The granted scopes (`repository:team/app:pull,push`). */
  readonly scopes: ReadonlyArray<string>
  /** The requested scopes, merged per resource. */
  readonly requested: ReadonlyArray<string>
  /** `GET` (Docker token request) or `POST` (OAuth2 form). */
  readonly via: "GET" | "POST"
  /** Epoch milliseconds, from the Effect `Clock`. */
  readonly issuedAt: number
  readonly expiresAt: number
}

/**
 * A failure to answer instead of the next matching requests (to test retries, rate limits and
 * outages).
 *
 * @since 0.1.0
 * @category models
 */
export interface Failure {
  readonly status: number
  /** An OCI error code for the body; without it the body is empty. */
  readonly code?: ErrorCode | undefined
  readonly detail?: unknown
  /** Extra headers, e.g. `{ "retry-after": "1" }`. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** How many matching requests fail (default 1). */
  readonly times?: number | undefined
  /** Which requests fail (default: any). */
  readonly match?: ((request: { readonly method: string; readonly path: string }) => boolean) | undefined
}

/**
 * An open upload session.
 *
 * @since 0.1.0
 * @category models
 */
export interface Upload {
  readonly id: string
  readonly repository: string
  readonly size: number
}

/**
 * A running test registry: its request handler and helpers to seed and inspect it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Answers one request (any host; the path decides). Never rejects. */
  readonly handle: (request: Request) => Promise<Response>
  /** Every stored blob by digest (blobs stay stored when unlinked, until `reset`). */
  readonly blobs: () => ReadonlyMap<string, Uint8Array>
  /** The names of the repositories that hold anything. */
  readonly repositories: () => ReadonlyArray<string>
  /** The digests of the blobs linked into a repository. */
  readonly repositoryBlobs: (repository: string) => ReadonlyArray<string>
  /** The manifests of a repository by digest. */
  readonly manifests: (repository: string) => ReadonlyMap<string, Manifest>
  /** The tags of a repository, to digests. */
  readonly tags: (repository: string) => ReadonlyMap<string, string>
  /** The open upload sessions. */
  readonly uploads: () => ReadonlyArray<Upload>
  /** Every request answered so far, in order. */
  readonly requests: () => ReadonlyArray<LoggedRequest>
  /** Every token issued so far, in order. */
  readonly tokensIssued: () => ReadonlyArray<IssuedToken>
  /** Forgets every issued access token, as if they had expired (refresh tokens stay valid). */
  readonly revokeTokens: () => void
  /** Answers the next matching request(s) with a failure. */
  readonly failNext: (failure: Failure) => void
  /** Stores a blob and links it into a repository, without HTTP; returns its sha256 digest. */
  readonly putBlob: (repository: string, bytes: Uint8Array) => string
  /**
   * Stores a manifest under a tag (or under the given digest) without HTTP and without any check,
   * so tests can serve invalid content; returns its digest.
   */
  readonly putManifest: (repository: string, reference: string, bytes: Uint8Array, mediaType?: string) => string
  /** Empties the registry: content, uploads, tokens, the request log and pending failures. */
  readonly reset: () => void
}

/**
 * The test registry of a layer.
 *
 * @since 0.1.0
 * @category tags
 */
export class TestRegistry extends Context.Tag("@ocireg/core/RegistryTest")<TestRegistry, Service>() {}

/**
 * Starts a test registry. Digests are computed with the context's `Hasher` (or the pure-JavaScript
 * default); token times come from the
 * Effect `Clock` (so `TestClock` can expire tokens).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Service> =>
  Effect.gen(function*() {
    const hasher = yield* currentHasher
    const clock = yield* Effect.clock
    return makeService({
      settings: settings(options),
      storage: options.storage ?? new TestStorage.MemoryStorage(),
      createHash: (algorithm) => hasher.create(algorithm),
      now: () => clock.unsafeCurrentTimeMillis()
    })
  })

/**
 * An `HttpClient` that sends every request to the registry's handler, in memory.
 *
 * @since 0.1.0
 * @category constructors
 */
export const httpClient = (registry: Service): HttpClient.HttpClient => Client.make(registry.handle)

/**
 * A test registry as the `TestRegistry` service only (to serve it over HTTP, for instance).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRegistry = (options: Options = {}): Layer.Layer<TestRegistry> =>
  Layer.effect(TestRegistry, make(options))

/**
 * A test registry and an `HttpClient` that talks to it without sockets.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<HttpClient.HttpClient | TestRegistry> =>
  Layer.effectContext(
    Effect.map(
      make(options),
      (registry) => Context.make(TestRegistry, registry).pipe(Context.add(HttpClient.HttpClient, httpClient(registry)))
    )
  )

// ---------------------------------------------------------------------------------------------
// several hosts, existing registries
// ---------------------------------------------------------------------------------------------

/**
 * The registries of `layerHosts`, by host.
 *
 * @since 0.2.0
 * @category models
 */
export interface Registries {
  /** The hosts as given to `layerHosts`. */
  readonly hosts: ReadonlyArray<string>
  /** The registry of a host (`undefined` for a host that has none). */
  readonly get: (host: string) => Service | undefined
}

/**
 * The test registries of `layerHosts`.
 *
 * @since 0.2.0
 * @category tags
 */
export class TestRegistries extends Context.Tag("@ocireg/core/RegistryTest/TestRegistries")<
  TestRegistries,
  Registries
>() {}

/**
 * What serves one host of `layerHosts`: the options of a fresh registry, or a registry already
 * made (and seeded) with `make`.
 *
 * @since 0.2.0
 * @category models
 */
export type HostSpec = Options | Service

const isService = (spec: HostSpec): spec is Service =>
  typeof (spec as { readonly handle?: unknown }).handle === "function"

/**
 * Several test registries behind one in-memory `HttpClient`, each on its own host (as
 * `https://<host>`, or `http://` for loopback names), e.g. the source and destination of a copy:
 * `layerHosts({ "src.test": {}, "dst.test": { auth: { basic: { ci: "secret" } } } })`. A request
 * to any other host is refused: the client fails with a `TransportError` (`RequestFailed`), it is
 * never answered by one of them. Each value is the options of a fresh registry, or an existing
 * one (from `make`); options may name a `dialect`, and a dialect that redirects blob downloads gets
 * its own storage origin (`https://<s3|gcs|azure>.storage.<host>`), served too. `TestRegistries`
 * gives them back by host.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerHosts = (
  hosts: Readonly<Record<string, HostSpec>>
): Layer.Layer<HttpClient.HttpClient | TestRegistries> =>
  Layer.effectContext(Effect.gen(function*() {
    const registries = new Map<string, Service>()
    const storageHosts = new Map<string, Service>()
    for (const [host, spec] of Object.entries(hosts)) {
      if (isService(spec)) {
        registries.set(host, spec)
        continue
      }
      // a dialect that redirects blob downloads gets a storage origin of its own per host, routed
      // to its registry like the host itself (two "dockerhub" hosts must not share one S3)
      const storage = settings(spec).blobStorage
      const origin = spec.storageOrigin ??
        (storage === undefined ? undefined : `https://${storage}.storage.${new URL(`http://${host}`).hostname}`)
      const registry = yield* make(origin === undefined ? spec : { ...spec, storageOrigin: origin })
      registries.set(host, registry)
      if (storage !== undefined && origin !== undefined) storageHosts.set(new URL(origin).host, registry)
    }
    const byKey = new Map([...registries].map(([host, registry]) => [Hosts.hostKey(host), registry]))
    return Context.make(TestRegistries, {
      hosts: [...registries.keys()],
      get: (host) => byKey.get(Hosts.hostKey(host))
    }).pipe(Context.add(HttpClient.HttpClient, Client.make(Hosts.route(new Map([...registries, ...storageHosts])))))
  }))

/**
 * A layer that serves a registry already made (and seeded) with `make`, on every host, as
 * `layer` does.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerFrom = (registry: Service): Layer.Layer<HttpClient.HttpClient | TestRegistry> =>
  Layer.succeedContext(
    Context.make(TestRegistry, registry).pipe(Context.add(HttpClient.HttpClient, httpClient(registry)))
  )

// ---------------------------------------------------------------------------------------------
// seeding
// ---------------------------------------------------------------------------------------------

/**
 * The image `seedImage` stores.
 *
 * @since 0.2.0
 * @category models
 */
export interface SeedImageOptions {
  /** The repository, e.g. `team/app`. */
  readonly repository: string
  /** Tags of the image (or index). Default `["latest"]`. */
  readonly tags?: ReadonlyArray<string> | undefined
  /**
   * Platforms (`os/arch[/variant]`): with them an index of one image per platform is stored;
   * without, a single `linux/amd64` image manifest.
   */
  readonly platforms?: ReadonlyArray<string> | undefined
  /** Layers of each image: how many (generated, distinct per platform), or their contents. Default 1. */
  readonly layers?: number | ReadonlyArray<Uint8Array | string> | undefined
  /** OCI (default) or Docker schema 2 media types. */
  readonly format?: "oci" | "docker" | undefined
  /** The config's `created` (changing it changes every digest). Default `2024-01-01T00:00:00Z`. */
  readonly created?: string | undefined
}

/**
 * What `seedImage` wrote: the root's digest (the index, or the single manifest), each platform's
 * manifest, config and layer digests, and every blob.
 *
 * @since 0.2.0
 * @category models
 */
export interface SeededImage {
  readonly repository: string
  readonly digest: string
  readonly mediaType: string
  readonly tags: ReadonlyArray<string>
  readonly images: ReadonlyArray<{
    readonly platform: string
    readonly digest: string
    readonly config: string
    readonly layers: ReadonlyArray<string>
  }>
  readonly blobs: ReadonlyArray<string>
}

/**
 * Store a whole image in a registry without HTTP: layers and config per platform, their
 * manifests, an index over them when `platforms` are given, and the tags.
 *
 * @since 0.2.0
 * @category seeding
 */
export const seedImageInto = (registry: Service, options: SeedImageOptions): SeededImage =>
  Seed.seedImage(registry, options)

/**
 * `seedImageInto` the layer's `TestRegistry`.
 *
 * @example
 * ```ts
 * import * as RegistryTest from "@ocireg/core/RegistryTest"
 * import * as Effect from "effect/Effect"
 *
 * const seeded = RegistryTest.seedImage({
 *   repository: "team/app",
 *   tags: ["1.0", "latest"],
 *   platforms: ["linux/amd64", "linux/arm64"],
 *   layers: 2
 * }).pipe(Effect.provide(RegistryTest.layerRegistry()))
 *
 * Effect.runPromise(seeded).then((image) => console.log(image.digest))
 * ```
 *
 * @since 0.2.0
 * @category seeding
 */
export const seedImage = (options: SeedImageOptions): Effect.Effect<SeededImage, never, TestRegistry> =>
  Effect.map(TestRegistry, (registry) => Seed.seedImage(registry, options))
