/**
 * Set-up shared by the dialect matrix tests: a `RegistryServer` in each dialect on loopback (its
 * storage origin, when the dialect redirects blobs, on a second port), the auth each registry
 * really uses, and a small two-layer image (one layer above GHCR's 4 MiB body limit and ECR's
 * 5 MiB chunk minimum) to push.
 */
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as MediaType from "@ocireg/core/MediaType"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as NodeHasher from "@ocireg/platform-node/NodeHasher"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as RegistryServer from "@ocireg/platform-node/RegistryServer"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import { createHash, randomBytes } from "node:crypto"

export const users = { alice: "alice-password" }

/** The auth each registry uses: Basic for ECR (AWS:<token>) and Nexus, tokens elsewhere, none for plain distribution. */
export const authOf = (dialect: RegistryTest.Dialect): RegistryTest.Auth =>
  dialect === "distribution"
    ? "none"
    : dialect === "ecr" || dialect === "nexus"
    ? { basic: users }
    : { bearer: { users, anonymousPull: dialect === "dockerhub" || dialect === "ghcr" } }

/** Whether the dialect has a catalog; else the typed error `listRepositories` fails with. */
export const catalogOf = (dialect: RegistryTest.Dialect): "listed" | "AuthorizationError" | "NotFound" =>
  dialect === "dockerhub" ? "AuthorizationError" : dialect === "ghcr" ? "NotFound" : "listed"

/** Whether a same-registry copy mounts blobs (Nexus refuses mounts). */
export const mountsOf = (dialect: RegistryTest.Dialect) => dialect !== "nexus"

export interface Served {
  readonly running: RegistryServer.RunningServer
  /** The registry part of references: `127.0.0.1:PORT` (the client knows Artifactory's path prefix). */
  readonly prefix: string
  readonly runtime: ManagedRuntime.ManagedRuntime<Layer.Layer.Success<ReturnType<typeof clientLayer>>, never>
  readonly close: () => Promise<void>
}

const clientLayer = (host: string, dialect: RegistryTest.Dialect = "distribution") =>
  NodeRegistry.layer(
    dialect === "artifactory" ? { pathPrefix: { [host]: RegistryTest.artifactoryPrefix } } : {}
  ).pipe(
    Layer.provide(CredentialStore.layerStatic({ [host]: CredentialStore.basic("alice", Redacted.make(users.alice)) }))
  )

/** Serves the dialect on loopback, with a client runtime holding alice's credentials. */
export const serve = async (dialect: RegistryTest.Dialect, options: RegistryTest.Options = {}): Promise<Served> => {
  const scope = Effect.runSync(Scope.make())
  const running = await Effect.runPromise(
    RegistryServer.serve({ dialect, auth: authOf(dialect), tagDelete: true, ...options }).pipe(
      Scope.extend(scope),
      Effect.provide(NodeHasher.layer)
    )
  )
  const runtime = ManagedRuntime.make(clientLayer(running.host, dialect))
  return {
    running,
    prefix: running.host,
    runtime,
    close: async () => {
      await runtime.dispose()
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

/** A two-layer image: a 6 MiB layer and a 1 KiB one, with config and manifest bytes. */
export const makeImage = () => {
  const layers = [new Uint8Array(randomBytes(6 * 1024 * 1024)), new Uint8Array(randomBytes(1024))]
  const config = json({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: layers.map(sha256) }
  })
  const manifest = json({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: MediaType.ociLayerTar, digest: sha256(l), size: l.length }))
  })
  return { layers, config, manifest, digest: sha256(manifest), sha256 }
}

/** An artifact that refers to a manifest (an SBOM, say). */
export const makeReferrer = (subject: { readonly digest: string; readonly size: number }) => {
  const empty = json({})
  const manifest = json({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: "application/vnd.example.sbom",
    config: { mediaType: MediaType.ociEmpty, digest: sha256(empty), size: empty.length },
    layers: [{ mediaType: MediaType.ociEmpty, digest: sha256(empty), size: empty.length }],
    subject: { mediaType: MediaType.ociManifest, ...subject }
  })
  return { empty, manifest, digest: sha256(manifest) }
}
