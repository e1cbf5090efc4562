import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Digest } from "../src/Digest.js"
import * as Manifest from "../src/Manifest.js"
import * as MediaType from "../src/MediaType.js"
import type { InvalidManifest, InvalidReference } from "../src/RegistryError.js"

// Helpers ------------------------------------------------------------------------------------

const encoder = new TextEncoder()
const bytes = (value: unknown): Uint8Array => encoder.encode(typeof value === "string" ? value : JSON.stringify(value))

/** A well-formed sha256 digest made of one repeated hex pair. */
const sha = (pair: string): string => `sha256:${pair.repeat(32)}`

const right = <A, E>(either: Either.Either<A, E>): A => {
  if (Either.isLeft(either)) throw new Error(`expected Right, got ${String(either.left)}`)
  return either.right
}

const left = <A, E>(either: Either.Either<A, E>): E => {
  if (Either.isRight(either)) throw new Error(`expected Left, got ${JSON.stringify(either.right)}`)
  return either.left
}

/** The error's detail mentions these fragments, in this order (the tree's path, then the message). */
const assertPath = (error: InvalidManifest, fragments: ReadonlyArray<string>) => {
  const detail = error.detail ?? ""
  let from = 0
  for (const fragment of fragments) {
    const at = detail.indexOf(fragment, from)
    assert.isAtLeast(at, 0, `${JSON.stringify(fragment)} after offset ${from} in:\n${detail}`)
    from = at + fragment.length
  }
}

const decodeError = (value: unknown, contentType?: string): InvalidManifest =>
  left(Manifest.decode(bytes(value), contentType))

// Samples --------------------------------------------------------------------------------------

/** An index as BuildKit pushes it with provenance attestations (docker buildx build --push). */
const buildkitIndex = {
  schemaVersion: 2,
  mediaType: MediaType.ociIndex,
  manifests: [
    {
      mediaType: MediaType.ociManifest,
      digest: sha("a1"),
      size: 1201,
      platform: { architecture: "amd64", os: "linux" }
    },
    {
      mediaType: MediaType.ociManifest,
      digest: sha("a2"),
      size: 1201,
      platform: { architecture: "arm64", os: "linux" }
    },
    {
      mediaType: MediaType.ociManifest,
      digest: sha("b1"),
      size: 566,
      annotations: {
        "vnd.docker.reference.digest": sha("a1"),
        "vnd.docker.reference.type": "attestation-manifest"
      },
      platform: { architecture: "unknown", os: "unknown" }
    },
    {
      mediaType: MediaType.ociManifest,
      digest: sha("b2"),
      size: 566,
      annotations: {
        "vnd.docker.reference.digest": sha("a2"),
        "vnd.docker.reference.type": "attestation-manifest"
      },
      platform: { architecture: "unknown", os: "unknown" }
    }
  ]
}

/** Shaped like library/alpine's manifest list on Docker Hub. */
const alpineList = {
  manifests: [
    { arch: "amd64", digest: sha("c1") },
    { arch: "arm", variant: "v6", digest: sha("c2") },
    { arch: "arm", variant: "v7", digest: sha("c3") },
    { arch: "arm64", variant: "v8", digest: sha("c4") },
    { arch: "386", digest: sha("c5") },
    { arch: "ppc64le", digest: sha("c6") },
    { arch: "riscv64", digest: sha("c7") },
    { arch: "s390x", digest: sha("c8") }
  ].map(({ arch, digest, variant }) => ({
    mediaType: MediaType.dockerManifest,
    size: 528,
    digest,
    platform: variant ? { architecture: arch, os: "linux", variant } : { architecture: arch, os: "linux" }
  })),
  mediaType: MediaType.dockerManifestList,
  schemaVersion: 2
}

/** An OCI image manifest that omits `mediaType` (allowed by the spec; older tools write these). */
const ociImageWithoutMediaType = {
  schemaVersion: 2,
  config: { mediaType: MediaType.ociConfig, digest: sha("d0"), size: 1469 },
  layers: [
    { mediaType: MediaType.ociLayerTarGzip, digest: sha("d1"), size: 3408729 },
    { mediaType: MediaType.ociLayerTarZstd, digest: sha("d2"), size: 120 }
  ],
  annotations: { "org.opencontainers.image.created": "2024-01-27T00:00:00Z" }
}

const emptyDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

/** An OCI 1.1 artifact (an SBOM attached to an image through `subject`). */
const artifact = {
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  artifactType: "application/spdx+json",
  config: { mediaType: MediaType.ociEmpty, digest: emptyDigest, size: 2, data: "e30=" },
  layers: [{
    mediaType: "application/spdx+json",
    digest: sha("e1"),
    size: 8192,
    annotations: { "org.opencontainers.image.title": "sbom.spdx.json" }
  }],
  subject: { mediaType: MediaType.ociManifest, digest: sha("a1"), size: 1201 },
  annotations: { "org.opencontainers.image.created": "2024-02-01T12:00:00Z" }
}

const dockerImage = {
  schemaVersion: 2,
  mediaType: MediaType.dockerManifest,
  config: { mediaType: MediaType.dockerConfig, size: 7023, digest: sha("f0") },
  layers: [
    { mediaType: MediaType.dockerLayer, size: 32654, digest: sha("f1") },
    { mediaType: MediaType.dockerLayer, size: 16724, digest: sha("f2") }
  ]
}

/** A signed schema 1 manifest, as very old registries still serve them. */
const schema1 = {
  schemaVersion: 1,
  name: "library/hello-world",
  tag: "latest",
  architecture: "amd64",
  fsLayers: [{ blobSum: sha("01") }],
  history: [{ v1Compatibility: "{\"id\":\"e45a5af57b00\"}" }],
  signatures: [{ header: { alg: "ES256" }, signature: "xyz", protected: "abc" }]
}

// Decoding -------------------------------------------------------------------------------------

describe("Manifest.decode", () => {
  it("decodes an OCI index with attestations", () => {
    const m = right(Manifest.decode(bytes(buildkitIndex), MediaType.ociIndex))
    assert.strictEqual(m._tag, "ImageIndex")
    assert.strictEqual(m.mediaType, MediaType.ociIndex)
    assert.isTrue(Manifest.isIndexLike(m))
    assert.strictEqual(Manifest.descriptors(m).length, 4)
    assert.strictEqual(Manifest.totalSize(m), 1201 * 2 + 566 * 2)
    if (m._tag !== "ImageIndex") throw new Error("unreachable")
    assert.strictEqual(m.manifest.manifests[2]!.annotations?.["vnd.docker.reference.type"], "attestation-manifest")
    assert.isTrue(Manifest.isAttestation(m.manifest.manifests[2]!))
    assert.isFalse(Manifest.isAttestation(m.manifest.manifests[0]!))
  })

  it("decodes a Docker manifest list (library/alpine)", () => {
    const m = right(Manifest.decode(bytes(alpineList), `${MediaType.dockerManifestList}; charset=utf-8`))
    assert.strictEqual(m._tag, "DockerManifestList")
    assert.strictEqual(m.mediaType, MediaType.dockerManifestList)
    assert.isTrue(Manifest.isIndexLike(m))
    assert.strictEqual(Manifest.descriptors(m).length, 8)
    assert.deepStrictEqual(
      Manifest.descriptors(m).map((d) => Option.getOrThrow(Manifest.platformOf(d))),
      [
        "linux/amd64",
        "linux/arm/v6",
        "linux/arm/v7",
        "linux/arm64/v8",
        "linux/386",
        "linux/ppc64le",
        "linux/riscv64",
        "linux/s390x"
      ]
    )
  })

  it("decodes a Docker v2 schema 2 image manifest", () => {
    const m = right(Manifest.decode(bytes(dockerImage), MediaType.dockerManifest))
    assert.strictEqual(m._tag, "DockerManifest")
    assert.isFalse(Manifest.isIndexLike(m))
    assert.deepStrictEqual(Manifest.descriptors(m).map((d) => d.digest), [sha("f0"), sha("f1"), sha("f2")])
    assert.strictEqual(Manifest.totalSize(m), 7023 + 32654 + 16724)
  })

  it("infers an OCI image manifest without mediaType, with or without a Content-Type", () => {
    for (const contentType of [undefined, MediaType.ociManifest, "application/json", "application/octet-stream"]) {
      const m = right(Manifest.decode(bytes(ociImageWithoutMediaType), contentType))
      assert.strictEqual(m._tag, "ImageManifest", String(contentType))
      assert.strictEqual(m.mediaType, MediaType.ociManifest)
      if (m._tag !== "ImageManifest") throw new Error("unreachable")
      assert.isUndefined(m.manifest.mediaType)
      assert.strictEqual(m.manifest.layers.length, 2)
      assert.strictEqual(m.manifest.annotations?.["org.opencontainers.image.created"], "2024-01-27T00:00:00Z")
    }
  })

  it("infers an OCI index without mediaType", () => {
    const { mediaType: _, ...withoutMediaType } = buildkitIndex
    const m = right(Manifest.decode(bytes(withoutMediaType)))
    assert.strictEqual(m._tag, "ImageIndex")
    assert.strictEqual(m.mediaType, MediaType.ociIndex)
  })

  it("decodes an artifact manifest with artifactType, empty config and subject", () => {
    const m = right(Manifest.decode(bytes(artifact), MediaType.ociManifest))
    if (m._tag !== "ImageManifest") throw new Error(`expected ImageManifest, got ${m._tag}`)
    assert.strictEqual(m.manifest.artifactType, "application/spdx+json")
    assert.strictEqual(m.manifest.config.mediaType, MediaType.ociEmpty)
    assert.strictEqual(m.manifest.config.digest, emptyDigest)
    assert.strictEqual(m.manifest.config.data, "e30=")
    assert.strictEqual(m.manifest.subject?.digest, sha("a1"))
    assert.strictEqual(m.manifest.layers[0]!.annotations?.["org.opencontainers.image.title"], "sbom.spdx.json")
  })

  it("can be matched with $match", () => {
    const m = right(Manifest.decode(bytes(alpineList)))
    const kind = Manifest.Manifest.$match(m, {
      ImageManifest: () => "image",
      DockerManifest: () => "image",
      ImageIndex: () => "index",
      DockerManifestList: () => "index"
    })
    assert.strictEqual(kind, "index")
  })

  it("refuses schema 1 manifests, telling the user to convert", () => {
    for (
      const contentType of [MediaType.dockerSchema1SignedManifest, MediaType.dockerSchema1Manifest, undefined]
    ) {
      const error = decodeError(schema1, contentType)
      assert.strictEqual(error._tag, "InvalidManifest")
      assert.strictEqual(error.reason, "UnsupportedMediaType")
      assert.isTrue(MediaType.isSchema1(error.mediaType ?? ""))
      assert.include(error.message, "convert")
    }
    // By mediaType in the body, even with a schema version 2 claim.
    const error = decodeError({ ...dockerImage, mediaType: MediaType.dockerSchema1Manifest })
    assert.strictEqual(error.reason, "UnsupportedMediaType")
  })

  it("refuses media types that are not manifests", () => {
    const error = decodeError({ ...dockerImage, mediaType: "application/vnd.oci.artifact.manifest.v1+json" })
    assert.strictEqual(error.reason, "UnsupportedMediaType")
    assert.strictEqual(error.mediaType, "application/vnd.oci.artifact.manifest.v1+json")

    const byHeader = decodeError(ociImageWithoutMediaType, "application/vnd.example.thing+json")
    assert.strictEqual(byHeader.reason, "UnsupportedMediaType")
    assert.strictEqual(byHeader.mediaType, "application/vnd.example.thing+json")
  })

  it("reports malformed JSON", () => {
    for (const input of ["{\"schemaVersion\": 2,", "", "not json", "{'a': 1}"]) {
      const error = decodeError(input, MediaType.ociManifest)
      assert.strictEqual(error.reason, "MalformedJson", input)
      assert.strictEqual(error.mediaType, MediaType.ociManifest)
      assert.isString(error.detail)
    }
    const invalidUtf8 = left(Manifest.decode(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])))
    assert.strictEqual(invalidUtf8.reason, "MalformedJson")
  })

  it("reports JSON that is not an object", () => {
    for (const input of ["[]", "null", "42", "\"manifest\""]) {
      const error = decodeError(input)
      assert.strictEqual(error.reason, "SchemaViolation", input)
      assert.include(error.detail, "expected a JSON object")
    }
  })

  it("reports a negative size with the path to it", () => {
    const bad = {
      ...ociImageWithoutMediaType,
      layers: [{ mediaType: MediaType.ociLayerTarGzip, digest: sha("d1"), size: -1 }]
    }
    const error = decodeError(bad, MediaType.ociManifest)
    assert.strictEqual(error.reason, "SchemaViolation")
    assert.strictEqual(error.mediaType, MediaType.ociManifest)
    assertPath(error, ["[\"layers\"]", "[0]", "[\"size\"]", "expected a non-negative integer, got -1"])
  })

  it("reports a fractional size", () => {
    const bad = { ...dockerImage, config: { ...dockerImage.config, size: 1.5 } }
    const error = decodeError(bad)
    assert.strictEqual(error.reason, "SchemaViolation")
    assertPath(error, ["[\"config\"]", "[\"size\"]", "expected a non-negative integer, got 1.5"])
  })

  it("reports a bad digest with the reason", () => {
    const bad = {
      ...alpineList,
      manifests: [{ ...alpineList.manifests[0]!, digest: "sha256:ABCDEF" }]
    }
    const error = decodeError(bad, MediaType.dockerManifestList)
    assert.strictEqual(error.reason, "SchemaViolation")
    assertPath(error, [
      "[\"manifests\"]",
      "[0]",
      "[\"digest\"]",
      "invalid digest \"sha256:ABCDEF\": sha256 needs 64 lower-case hex characters"
    ])
  })

  it("reports every violation, and bad types", () => {
    const bad = { schemaVersion: "2", mediaType: MediaType.ociManifest, config: {}, layers: "none" }
    const error = decodeError(bad)
    assert.strictEqual(error.reason, "SchemaViolation")
    assertPath(error, ["[\"schemaVersion\"]", "Expected 2, actual \"2\""])
    assertPath(error, ["[\"config\"]", "[\"digest\"]", "is missing"])
    assertPath(error, ["[\"layers\"]", "actual \"none\""])
  })

  it("reports a bad data field", () => {
    const bad = { ...artifact, config: { ...artifact.config, data: "not base64!" } }
    const error = decodeError(bad)
    assert.strictEqual(error.reason, "SchemaViolation")
    assertPath(error, ["[\"config\"]", "[\"data\"]", "expected standard base64, got \"not base64!\""])
  })

  it("reports a Docker manifest whose body lacks its mediaType", () => {
    const { mediaType: _, ...withoutMediaType } = dockerImage
    const error = decodeError(withoutMediaType, MediaType.dockerManifest)
    assert.strictEqual(error.reason, "SchemaViolation")
    assert.include(error.detail, "[\"mediaType\"]")
  })

  it("reports a body without mediaType that is neither an image manifest nor an index", () => {
    const error = decodeError({ schemaVersion: 2, layers: [] })
    assert.strictEqual(error.reason, "SchemaViolation")
    assert.include(error.detail, "neither")
  })

  it("reports a mismatched Content-Type", () => {
    const error = decodeError(buildkitIndex, MediaType.dockerManifest)
    assert.strictEqual(error.reason, "MediaTypeMismatch")
    assert.strictEqual(error.mediaType, MediaType.ociIndex)
    assert.include(error.detail, MediaType.dockerManifest)

    const ociVsDocker = decodeError(dockerImage, MediaType.ociManifest)
    assert.strictEqual(ociVsDocker.reason, "MediaTypeMismatch")

    // A header naming an image manifest for a body that is an index without mediaType.
    const { mediaType: _, ...indexWithoutMediaType } = buildkitIndex
    const inferred = decodeError(indexWithoutMediaType, MediaType.ociManifest)
    assert.strictEqual(inferred.reason, "SchemaViolation")
  })

  it("accepts a Content-Type with parameters and other case", () => {
    const m = right(Manifest.decode(bytes(artifact), "Application/VND.OCI.Image.Manifest.v1+json; charset=UTF-8"))
    assert.strictEqual(m._tag, "ImageManifest")
  })

  it("decodeUnknown takes parsed JSON; the Document schema decodes any kind", () => {
    assert.strictEqual(right(Manifest.decodeUnknown(dockerImage))._tag, "DockerManifest")
    const decodeDocument = Schema.decodeUnknownEither(Manifest.Document)
    for (const document of [buildkitIndex, alpineList, ociImageWithoutMediaType, artifact, dockerImage]) {
      assert.isTrue(Either.isRight(decodeDocument(document)))
    }
    assert.isTrue(Either.isLeft(decodeDocument(schema1)))
  })
})

// Image configuration --------------------------------------------------------------------------

describe("Manifest.decodeImageConfig", () => {
  const dockerConfig = {
    architecture: "amd64",
    config: {
      Hostname: "",
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      Cmd: ["/bin/sh"],
      Entrypoint: null,
      Volumes: null,
      Labels: null,
      WorkingDir: "",
      OnBuild: null
    },
    container: "f1e0d5a8",
    created: "2024-01-27T00:30:48.743965523Z",
    docker_version: "20.10.23",
    history: [
      { created: "2024-01-27T00:30:48.624602109Z", created_by: "/bin/sh -c #(nop) ADD file:37a7 in / " },
      {
        created: "2024-01-27T00:30:48.743965523Z",
        created_by: "/bin/sh -c #(nop)  CMD [\"/bin/sh\"]",
        empty_layer: true
      }
    ],
    os: "linux",
    rootfs: { type: "layers", diff_ids: [sha("aa")] }
  }

  it("decodes a Docker image configuration, nulls as absent, extra fields kept", () => {
    const config = right(Manifest.decodeImageConfig(bytes(dockerConfig), MediaType.dockerConfig))
    assert.strictEqual(config.architecture, "amd64")
    assert.strictEqual(config.os, "linux")
    assert.deepStrictEqual(config.config?.Cmd, ["/bin/sh"])
    assert.isUndefined(config.config?.Entrypoint)
    assert.isFalse(config.config !== undefined && "Entrypoint" in config.config)
    assert.strictEqual(config.config?.["Hostname"], "")
    assert.strictEqual(config["docker_version"], "20.10.23")
    assert.deepStrictEqual(config.rootfs.diff_ids, [sha("aa") as Digest])
    assert.strictEqual(config.history?.[1]?.empty_layer, true)
  })

  it("reports malformed and invalid configurations", () => {
    const malformed = left(Manifest.decodeImageConfig(bytes("{")))
    assert.strictEqual(malformed.reason, "MalformedJson")
    assert.strictEqual(malformed.mediaType, MediaType.ociConfig)

    const invalid = left(
      Manifest.decodeImageConfig(bytes({ ...dockerConfig, rootfs: { type: "layers", diff_ids: ["x"] } }))
    )
    assert.strictEqual(invalid.reason, "SchemaViolation")
    assertPath(invalid, ["[\"rootfs\"]", "[\"diff_ids\"]", "[0]", "invalid digest \"x\""])
  })
})

// Platforms ------------------------------------------------------------------------------------

describe("Manifest.parsePlatform", () => {
  const cases: ReadonlyArray<[string, Manifest.Platform]> = [
    ["linux/amd64", { os: "linux", architecture: "amd64" }],
    ["Linux/X86_64", { os: "linux", architecture: "amd64" }],
    ["linux/aarch64", { os: "linux", architecture: "arm64" }],
    ["linux/arm64/v8", { os: "linux", architecture: "arm64" }],
    ["linux/arm", { os: "linux", architecture: "arm", variant: "v7" }],
    ["linux/arm/6", { os: "linux", architecture: "arm", variant: "v6" }],
    ["linux/armhf", { os: "linux", architecture: "arm", variant: "v7" }],
    ["linux/armel", { os: "linux", architecture: "arm", variant: "v6" }],
    ["linux/i386", { os: "linux", architecture: "386" }],
    ["windows/amd64", { os: "windows", architecture: "amd64" }],
    ["macos/arm64", { os: "darwin", architecture: "arm64" }]
  ]
  for (const [input, expected] of cases) {
    it(`parses ${input}`, () => {
      assert.deepStrictEqual(right(Manifest.parsePlatform(input)), expected)
    })
  }

  const errors: ReadonlyArray<[string, string]> = [
    ["", "empty platform"],
    ["linux", "expected os/arch[/variant]"],
    ["linux/", "empty component"],
    ["/amd64", "empty component"],
    ["linux/arm/v7/extra", "too many components"],
    ["linux/amd 64", "invalid component"],
    ["linux/amd64:latest", "invalid component"]
  ]
  for (const [input, reason] of errors) {
    it(`refuses ${JSON.stringify(input)}`, () => {
      const error: InvalidReference = left(Manifest.parsePlatform(input))
      assert.strictEqual(error._tag, "InvalidReference")
      assert.strictEqual(error.input, input)
      assert.include(error.reason, reason)
      assert.include(error.message, "invalid platform")
    })
  }
})

describe("Manifest.selectPlatform", () => {
  const entry = (digest: string, platform?: Manifest.Platform, annotations?: Record<string, string>) => ({
    mediaType: MediaType.ociManifest,
    digest,
    size: 1000,
    ...(platform ? { platform } : {}),
    ...(annotations ? { annotations } : {})
  })

  const index = right(Manifest.decode(bytes({
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [
      entry(sha("00")), // no platform at all
      entry(sha("0a"), { os: "unknown", architecture: "unknown" }, {
        "vnd.docker.reference.type": "attestation-manifest",
        "vnd.docker.reference.digest": sha("01")
      }),
      entry(sha("01"), { os: "linux", architecture: "amd64" }),
      entry(sha("02"), { os: "linux", architecture: "arm", variant: "v6" }),
      entry(sha("03"), { os: "linux", architecture: "arm", variant: "v7" }),
      entry(sha("04"), { os: "linux", architecture: "arm64", variant: "v8" }),
      entry(sha("05"), { os: "linux", architecture: "386" }),
      entry(sha("06"), { os: "windows", architecture: "amd64", "os.version": "10.0.17763.5329" }),
      entry(sha("07"), { os: "windows", architecture: "amd64", "os.version": "10.0.20348.2227" })
    ]
  })))

  const table: ReadonlyArray<[Manifest.PlatformSpec, string | undefined]> = [
    ["linux/amd64", sha("01")],
    ["linux/x86_64", sha("01")],
    ["Linux/AMD64", sha("01")],
    ["linux/arm64", sha("04")],
    ["linux/arm64/v8", sha("04")],
    ["linux/aarch64", sha("04")],
    ["linux/arm", sha("03")],
    ["linux/arm/v7", sha("03")],
    ["linux/armhf", sha("03")],
    ["linux/arm/v6", sha("02")],
    ["linux/armel", sha("02")],
    ["linux/arm/v5", undefined],
    ["linux/i386", sha("05")],
    ["linux/386", sha("05")],
    ["linux/s390x", undefined],
    ["unknown/unknown", undefined],
    ["darwin/arm64", undefined],
    ["not a platform", undefined],
    [{ os: "linux", architecture: "arm64" }, sha("04")],
    [{ os: "linux", architecture: "arm", variant: "v7" }, sha("03")],
    ["windows/amd64", sha("06")],
    [{ os: "windows", architecture: "amd64", "os.version": "10.0.20348.2227" }, sha("07")],
    [{ os: "windows", architecture: "amd64", "os.version": "10.0.20348.1000" }, sha("07")],
    [{ os: "windows", architecture: "amd64", "os.version": "10.0.17763.5329" }, sha("06")],
    [{ os: "windows", architecture: "amd64", "os.version": "10.0.26100.1" }, undefined]
  ]

  for (const [wanted, expected] of table) {
    it(`${JSON.stringify(wanted)} → ${expected ?? "none"}`, () => {
      const selected = Manifest.selectPlatform(index as Manifest.IndexLike, wanted)
      assert.deepStrictEqual(Option.map(selected, (d) => d.digest), Option.fromNullable(expected))
    })
  }

  it("matches an arm64 entry without variant for linux/arm64/v8, and arm without variant as v7", () => {
    const list = {
      manifests: [
        entry(sha("11"), { os: "linux", architecture: "arm64" }),
        entry(sha("12"), { os: "linux", architecture: "arm" })
      ]
    } as unknown as { readonly manifests: ReadonlyArray<Manifest.Descriptor> }
    assert.deepStrictEqual(
      Option.map(Manifest.selectPlatform(list, "linux/arm64/v8"), (d) => d.digest),
      Option.some(sha("11"))
    )
    assert.deepStrictEqual(
      Option.map(Manifest.selectPlatform(list, "linux/arm/v7"), (d) => d.digest),
      Option.some(sha("12"))
    )
    assert.isTrue(Option.isNone(Manifest.selectPlatform(list, "linux/arm/v6")))
  })

  it("prefers an exact os.version over the same build and over none", () => {
    const list = {
      manifests: [
        entry(sha("21"), { os: "windows", architecture: "amd64" }),
        entry(sha("22"), { os: "windows", architecture: "amd64", "os.version": "10.0.17763.1" }),
        entry(sha("23"), { os: "windows", architecture: "amd64", "os.version": "10.0.17763.2" })
      ]
    } as unknown as { readonly manifests: ReadonlyArray<Manifest.Descriptor> }
    const pick = (v: string) =>
      Option.map(
        Manifest.selectPlatform(list, { os: "windows", architecture: "amd64", "os.version": v }),
        (d) => d.digest
      )
    assert.deepStrictEqual(pick("10.0.17763.2"), Option.some(sha("23")))
    assert.deepStrictEqual(pick("10.0.17763.9"), Option.some(sha("22")))
    assert.deepStrictEqual(pick("10.0.20348.1"), Option.some(sha("21")))
  })

  it("works on the raw document and data-last", () => {
    const m = right(Manifest.decode(bytes(alpineList)))
    if (m._tag !== "DockerManifestList") throw new Error("unreachable")
    const byDocument = Manifest.selectPlatform(m.manifest, "linux/arm64")
    const dataLast = Manifest.selectPlatform("linux/arm64")(m)
    assert.deepStrictEqual(Option.map(byDocument, (d) => d.digest), Option.some(sha("c4")))
    assert.deepStrictEqual(dataLast, byDocument)
  })

  it("skips attestations of a BuildKit index", () => {
    const m = right(Manifest.decode(bytes(buildkitIndex)))
    if (m._tag !== "ImageIndex") throw new Error("unreachable")
    assert.deepStrictEqual(
      Option.map(Manifest.selectPlatform(m, "linux/arm64"), (d) => d.digest),
      Option.some(sha("a2"))
    )
    assert.isTrue(Option.isNone(Manifest.selectPlatform(m, { os: "unknown", architecture: "unknown" })))
  })

  it("platformMatches", () => {
    assert.isTrue(Manifest.platformMatches({ os: "linux", architecture: "aarch64" }, "linux/arm64/v8"))
    assert.isTrue(Manifest.platformMatches("linux/armhf")({ os: "linux", architecture: "arm", variant: "7" }))
    assert.isFalse(Manifest.platformMatches({ os: "linux", architecture: "arm", variant: "v6" }, "linux/arm"))
  })

  it("platformOf, formatPlatform and normalizePlatform", () => {
    assert.deepStrictEqual(
      Manifest.platformOf(entry(sha("01"), { os: "linux", architecture: "arm", variant: "v7" }) as Manifest.Descriptor),
      Option.some("linux/arm/v7")
    )
    assert.deepStrictEqual(Manifest.platformOf(entry(sha("01")) as Manifest.Descriptor), Option.none())
    assert.strictEqual(
      Manifest.formatPlatform({ os: "windows", architecture: "amd64", "os.version": "10.0" }),
      "windows/amd64"
    )
    assert.deepStrictEqual(
      Manifest.normalizePlatform({ os: "Windows", architecture: "x86_64", "os.version": "10.0.17763.1" }),
      { os: "windows", architecture: "amd64", "os.version": "10.0.17763.1" }
    )
    assert.deepStrictEqual(
      Manifest.normalizePlatform({ os: "linux", architecture: "arm64", variant: "v8", features: ["sve"] }),
      { os: "linux", architecture: "arm64", features: ["sve"] }
    )
  })
})
