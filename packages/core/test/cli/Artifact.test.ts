import { assert, describe, it } from "@effect/vitest"
import * as Artifact from "@ocireg/core/Artifact"
import * as BlobSource from "@ocireg/core/BlobSource"
import * as MediaType from "@ocireg/core/MediaType"
import * as Registry from "@ocireg/core/Registry"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { inMemory, storeImage } from "./support.js"

const host = "registry.test"
const file = (text: string, title: string, mediaType = "text/plain") =>
  Effect.map(BlobSource.fromBytes(new TextEncoder().encode(text)), (source) => ({ source, mediaType, title }))

for (const referrersApi of [true, false]) {
  describe(`Artifact (referrers API ${referrersApi ? "on" : "off: fallback tag"})`, () => {
    it.effect("pushes an artifact with the empty config and titled layers, and fetches it back", () =>
      Effect.gen(function*() {
        const readme = yield* file("hello", "README.md", "text/markdown")
        const pushed = yield* Artifact.push(`${host}/team/notes:v1`, {
          artifactType: "application/vnd.example.notes",
          files: [readme, yield* file("{}", "data.json", "application/json")],
          annotations: { "org.opencontainers.image.created": "2026-01-01T00:00:00Z" }
        })
        const raw = yield* Registry.getManifest(`${host}/team/notes:v1`)
        assert.strictEqual(raw.digest, pushed.digest)
        const body = JSON.parse(Buffer.from(raw.bytes).toString())
        assert.strictEqual(body.artifactType, "application/vnd.example.notes")
        assert.deepStrictEqual(body.config, {
          mediaType: MediaType.ociEmpty,
          digest: Artifact.emptyConfig.digest,
          size: 2,
          data: "e30="
        })
        const fetched = yield* Artifact.fetch(`${host}/team/notes:v1`)
        assert.strictEqual(fetched.artifactType, "application/vnd.example.notes")
        assert.deepStrictEqual(fetched.files.map((f) => [f.title, f.descriptor.mediaType]), [
          ["README.md", "text/markdown"],
          ["data.json", "application/json"]
        ])
        const bytes = yield* Stream.runCollect(Registry.getBlob(`${host}/team/notes`, fetched.files[0]!.descriptor))
        assert.strictEqual(Buffer.concat([...bytes]).toString(), "hello")
        const config = yield* Stream.runCollect(Registry.getBlob(`${host}/team/notes`, Artifact.emptyConfig))
        assert.strictEqual(Buffer.concat([...config]).toString(), "{}")
        const twice = yield* Effect.flip(Artifact.push(`${host}/team/notes:v2`, {
          artifactType: "x/y",
          files: [readme, readme]
        }))
        assert.strictEqual(twice._tag, "InvalidManifest")
      }).pipe(Effect.provide(inMemory({ referrersApi }))))

    it.effect("attaches to an image and discovers the tree (a signature of an SBOM)", () =>
      Effect.gen(function*() {
        const image = yield* storeImage("team/app", "v1")
        const sbom = yield* Artifact.attach(`${host}/team/app:v1`, {
          artifactType: "application/spdx+json",
          files: [yield* file("{\"spdx\":1}", "sbom.json", "application/spdx+json")]
        })
        assert.strictEqual(sbom.reference.digest, sbom.digest, "pushed by digest, untagged")
        const signature = yield* Artifact.attach(`${host}/team/app@${sbom.digest}`, {
          artifactType: "application/vnd.example.signature",
          files: [yield* file("sig", "sig.bin", "application/octet-stream")]
        })
        const fetched = yield* Artifact.fetch(`${host}/team/app@${signature.digest}`)
        assert.strictEqual(fetched.subject?.digest, sbom.digest)
        const tree = yield* Artifact.discover(`${host}/team/app:v1`)
        assert.strictEqual(tree.descriptor.digest, image.digest)
        assert.deepStrictEqual(tree.referrers.map((r) => [r.descriptor.digest, r.descriptor.artifactType]), [
          [sbom.digest, "application/spdx+json"]
        ])
        assert.deepStrictEqual(tree.referrers[0]!.referrers.map((r) => r.descriptor.digest), [signature.digest])
        const shallow = yield* Artifact.discover(`${host}/team/app:v1`, { depth: 1 })
        assert.strictEqual(shallow.referrers[0]!.referrers.length, 0)
        const filtered = yield* Artifact.discover(`${host}/team/app:v1`, { artifactType: "application/other" })
        assert.strictEqual(filtered.referrers.length, 0)
      }).pipe(Effect.provide(inMemory({ referrersApi }))))
  })
}
