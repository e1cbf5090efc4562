import { assert, describe, it } from "@effect/vitest"
import * as MediaType from "../src/MediaType.js"

describe("MediaType", () => {
  it("names the OCI and Docker media types", () => {
    assert.strictEqual(MediaType.ociManifest, "application/vnd.oci.image.manifest.v1+json")
    assert.strictEqual(MediaType.ociIndex, "application/vnd.oci.image.index.v1+json")
    assert.strictEqual(MediaType.ociConfig, "application/vnd.oci.image.config.v1+json")
    assert.strictEqual(MediaType.ociLayerTarGzip, "application/vnd.oci.image.layer.v1.tar+gzip")
    assert.strictEqual(MediaType.ociLayerTarZstd, "application/vnd.oci.image.layer.v1.tar+zstd")
    assert.strictEqual(MediaType.ociEmpty, "application/vnd.oci.empty.v1+json")
    assert.strictEqual(MediaType.dockerManifest, "application/vnd.docker.distribution.manifest.v2+json")
    assert.strictEqual(MediaType.dockerManifestList, "application/vnd.docker.distribution.manifest.list.v2+json")
    assert.strictEqual(MediaType.dockerConfig, "application/vnd.docker.container.image.v1+json")
    assert.strictEqual(MediaType.dockerLayer, "application/vnd.docker.image.rootfs.diff.tar.gzip")
    assert.strictEqual(
      MediaType.dockerSchema1SignedManifest,
      "application/vnd.docker.distribution.manifest.v1+prettyjws"
    )
  })

  it("manifestAccept lists the four manifest kinds, OCI first", () => {
    const types = MediaType.manifestAccept.split(", ")
    assert.deepStrictEqual(types, [
      MediaType.ociManifest,
      MediaType.ociIndex,
      MediaType.dockerManifest,
      MediaType.dockerManifestList
    ])
    assert.notInclude(MediaType.manifestAccept, "v1+prettyjws")
  })

  it("indexAccept and imageAccept", () => {
    assert.deepStrictEqual(MediaType.indexAccept.split(", "), [MediaType.ociIndex, MediaType.dockerManifestList])
    assert.deepStrictEqual(MediaType.imageAccept.split(", "), [MediaType.ociManifest, MediaType.dockerManifest])
  })

  it("normalize strips parameters and case", () => {
    assert.strictEqual(
      MediaType.normalize(" Application/VND.OCI.image.manifest.v1+json; charset=utf-8"),
      MediaType.ociManifest
    )
    assert.strictEqual(MediaType.normalize("application/json"), "application/json")
    assert.strictEqual(MediaType.normalize(""), "")
  })

  it("isIndex / isImageManifest / isManifest / isSchema1", () => {
    assert.isTrue(MediaType.isIndex(MediaType.ociIndex))
    assert.isTrue(MediaType.isIndex(`${MediaType.dockerManifestList}; charset=utf-8`))
    assert.isFalse(MediaType.isIndex(MediaType.ociManifest))

    assert.isTrue(MediaType.isImageManifest(MediaType.ociManifest))
    assert.isTrue(MediaType.isImageManifest(MediaType.dockerManifest.toUpperCase()))
    assert.isFalse(MediaType.isImageManifest(MediaType.dockerSchema1Manifest))

    for (
      const type of [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList]
    ) {
      assert.isTrue(MediaType.isManifest(type), type)
    }
    assert.isFalse(MediaType.isManifest(MediaType.ociConfig))
    assert.isFalse(MediaType.isManifest(MediaType.dockerSchema1SignedManifest))
    assert.isFalse(MediaType.isManifest("application/json"))

    assert.isTrue(MediaType.isSchema1(MediaType.dockerSchema1Manifest))
    assert.isTrue(MediaType.isSchema1(`${MediaType.dockerSchema1SignedManifest}; charset=utf-8`))
    assert.isFalse(MediaType.isSchema1(MediaType.dockerManifest))
  })

  it("isNondistributable", () => {
    assert.isTrue(MediaType.isNondistributable(MediaType.dockerForeignLayer))
    assert.isTrue(MediaType.isNondistributable(MediaType.ociLayerNondistributableTar))
    assert.isTrue(MediaType.isNondistributable(MediaType.ociLayerNondistributableTarGzip))
    assert.isTrue(MediaType.isNondistributable(MediaType.ociLayerNondistributableTarZstd))
    assert.isFalse(MediaType.isNondistributable(MediaType.ociLayerTarGzip))
    assert.isFalse(MediaType.isNondistributable(MediaType.dockerLayer))
  })
})
