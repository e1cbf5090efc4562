/**
 * Global setup of the browser dialect tests (runs in Node): `RegistryServer` in the dialects a
 * page can reach (those whose operators can send CORS headers), with CORS on, each seeded with a
 * small image. The hosts go to the tests with `provide` (`inject("ocireg.dialectFixtures")`).
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import type { TestProject } from "vitest/node"
import * as MediaType from "../../packages/core/src/MediaType.js"
import type * as RegistryTest from "../../packages/core/src/RegistryTest.js"
import { artifactoryPrefix } from "../../packages/core/src/RegistryTest.js"
import * as NodeHasher from "../../packages/platform-node/src/NodeHasher.js"
import * as RegistryServer from "../../packages/platform-node/src/RegistryServer.js"

/** What each dialect fixture tells the browser. */
export interface DialectFixture {
  readonly dialect: RegistryTest.Dialect
  /** `127.0.0.1:PORT`, with the path prefix for Artifactory. */
  readonly host: string
  readonly repository: string
  readonly tag: string
  readonly digest: string
  readonly layer: { readonly digest: string; readonly size: number }
}

declare module "vitest" {
  export interface ProvidedContext {
    "ocireg.dialectFixtures": ReadonlyArray<DialectFixture>
  }
}

export const dialectUsers = { alice: "alice-password" }

/** The dialects of self-hosted registries, where whoever runs them can send CORS headers. */
export const browserDialects: ReadonlyArray<RegistryTest.Dialect> = ["distribution", "harbor", "quay", "nexus"]

const authOf = (dialect: RegistryTest.Dialect): RegistryTest.Auth =>
  dialect === "distribution"
    ? "none"
    : dialect === "nexus"
    ? { basic: dialectUsers }
    : { bearer: { users: dialectUsers } }

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

export default async function setup(project: TestProject) {
  const scope = Effect.runSync(Scope.make())
  const fixtures = await Effect.runPromise(
    Effect.forEach(browserDialects, (dialect) =>
      Effect.map(
        RegistryServer.serve({ dialect, auth: authOf(dialect), cors: true }),
        ({ host, registry }): DialectFixture => {
          const layer = new Uint8Array(200_000).map((_, i) => (i * 7919) % 251)
          const config = json({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } })
          const layerDigest = registry.putBlob("team/app", layer)
          const configDigest = registry.putBlob("team/app", config)
          const digest = registry.putManifest(
            "team/app",
            "v1",
            json({
              schemaVersion: 2,
              mediaType: MediaType.ociManifest,
              config: { mediaType: MediaType.ociConfig, digest: configDigest, size: config.length },
              layers: [{ mediaType: MediaType.ociLayerTar, digest: layerDigest, size: layer.length }]
            }),
            MediaType.ociManifest
          )
          return {
            dialect,
            host: dialect === "artifactory" ? `${host}${artifactoryPrefix}` : host,
            repository: "team/app",
            tag: "v1",
            digest,
            layer: { digest: layerDigest, size: layer.length }
          }
        }
      )).pipe(Scope.extend(scope), Effect.provide(NodeHasher.layer))
  )
  project.provide("ocireg.dialectFixtures", fixtures)
  return () => Effect.runPromise(Scope.close(scope, Exit.void))
}
