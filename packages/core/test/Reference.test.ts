import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Equal from "effect/Equal"
import { pipe } from "effect/Function"
import * as Schema from "effect/Schema"
import type * as Digest from "../src/Digest.js"
import * as Reference from "../src/Reference.js"
import { InvalidReference, isRegistryError } from "../src/RegistryError.js"

const D256 = `sha256:${"f".repeat(64)}` as Digest.Digest
const D256b = `sha256:${"1234567890".repeat(6)}1234` as Digest.Digest
const D512 = `sha512:${"f".repeat(128)}` as Digest.Digest
const ALPINE_DIGEST = "sha256:fb9f16730ac6316afa4d97caa5130219927bfcecf0b0ce35c01dcb612f449739" as Digest.Digest
const HEX64 = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"

const right = <A, E>(self: Either.Either<A, E>): A => {
  if (Either.isLeft(self)) return assert.fail(`expected Right, got Left: ${String(self.left)}`)
  return self.right
}

const left = <A>(self: Either.Either<A, InvalidReference>): InvalidReference => {
  if (Either.isRight(self)) return assert.fail(`expected Left, got Right: ${JSON.stringify(self.right)}`)
  return self.left
}

interface Plain {
  readonly registry: string
  readonly repository: string
  readonly tag?: string
  readonly digest?: string
}

const plain = (ref: Reference.Reference): Plain => ({
  registry: ref.registry,
  repository: ref.repository,
  ...(ref.tag !== undefined ? { tag: ref.tag } : {}),
  ...(ref.digest !== undefined ? { digest: ref.digest } : {})
})

const parsed = (input: string, options?: Reference.ParseOptions): Plain => plain(right(Reference.parse(input, options)))

const assertInvalid = (result: Either.Either<unknown, InvalidReference>, input: string, fragment: string) => {
  const error = left(result as Either.Either<never, InvalidReference>)
  assert.instanceOf(error, InvalidReference)
  assert.strictEqual(error._tag, "InvalidReference")
  assert.isTrue(isRegistryError(error))
  assert.strictEqual(error.input, input)
  assert.include(error.reason, fragment)
  assert.include(error.message, fragment)
}

// --- parse: valid references ----------------------------------------------------------------

describe("Reference.parse (valid)", () => {
  // input, registry, repository, tag, digest
  const cases: ReadonlyArray<readonly [string, string, string, (string | undefined)?, (string | undefined)?]> = [
    // Docker Hub normalisation
    ["alpine", "docker.io", "library/alpine"],
    ["alpine:3", "docker.io", "library/alpine", "3"],
    ["docker.io/alpine", "docker.io", "library/alpine"],
    ["docker.io/library/alpine", "docker.io", "library/alpine"],
    ["index.docker.io/library/alpine", "docker.io", "library/alpine"],
    ["index.docker.io/debian", "docker.io", "library/debian"],
    ["registry-1.docker.io/library/alpine:edge", "docker.io", "library/alpine", "edge"],
    ["docker/docker", "docker.io", "docker/docker"],
    ["dmcgowan/myapp:latest", "docker.io", "dmcgowan/myapp", "latest"],
    ["library/foo/bar", "docker.io", "library/foo/bar"],
    ["store/foo/bar", "docker.io", "store/foo/bar"],
    [`redis@${D256}`, "docker.io", "library/redis", undefined, D256],
    [`busybox:latest@${D256}`, "docker.io", "library/busybox", "latest", D256],
    [`alpine@${ALPINE_DIGEST}`, "docker.io", "library/alpine", undefined, ALPINE_DIGEST],
    // private registries, ports, localhost
    ["localhost/foo", "localhost", "foo"],
    ["localhost:5000/foo:bar", "localhost:5000", "foo", "bar"],
    ["myreg.example.com:5000/busybox:foo", "myreg.example.com:5000", "busybox", "foo"],
    ["quay.io/trentm/foo", "quay.io", "trentm/foo"],
    ["test:5000/repo", "test:5000", "repo"],
    [`test:5000/repo:tag@${D256}`, "test:5000", "repo", "tag", D256],
    ["test-com:8080/foo", "test-com:8080", "foo"],
    ["127.0.0.1:5000/docker/docker", "127.0.0.1:5000", "docker/docker"],
    ["192.168.0.1:8/debian", "192.168.0.1:8", "debian"],
    ["192.168.1.1/repo", "192.168.1.1", "repo"],
    ["192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050"],
    ["sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux", "some-long-tag"],
    ["b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app", "test.example.com"],
    ["xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com"],
    [`xn--7o8h.com/myimage:xn--7o8h.com@${D512}`, "xn--7o8h.com", "myimage", "xn--7o8h.com", D512],
    ["gcr.io/project/image:v1.2.3_rc-1", "gcr.io", "project/image", "v1.2.3_rc-1"],
    // IPv6 literals
    ["[::1]:5000/repo", "[::1]:5000", "repo"],
    ["[2001:db8::1]/repo", "[2001:db8::1]", "repo"],
    ["[2001:db8::]:5000/repo", "[2001:db8::]:5000", "repo"],
    ["[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "repo", "tag"],
    [`[2001:db8::1]:5000/repo:tag@${D256}`, "[2001:db8::1]:5000", "repo", "tag", D256],
    ["[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000", "library/debian"],
    // an upper-case first component is a host
    ["Docker/docker", "Docker", "docker"],
    ["DOCKER/docker", "DOCKER", "docker"],
    ["FOO/bar", "FOO", "bar"],
    ["Registry.Example.COM:443/team/app", "Registry.Example.COM:443", "team/app"],
    // ambiguous names without a slash stay on Docker Hub (as distribution does)
    ["test_com", "docker.io", "library/test_com"],
    ["test.com:tag", "docker.io", "library/test.com", "tag"],
    ["test.com:5000", "docker.io", "library/test.com", "5000"],
    ["foo_bar.com:8080", "docker.io", "library/foo_bar.com", "8080"],
    ["foo/foo_bar.com:8080", "docker.io", "foo/foo_bar.com", "8080"],
    ["192.168.1.1", "docker.io", "library/192.168.1.1"],
    ["192.168.1.1:tag", "docker.io", "library/192.168.1.1", "tag"],
    // path component grammar
    ["docker-rules/docker", "docker.io", "docker-rules/docker"],
    ["docker---rules/docker", "docker.io", "docker---rules/docker"],
    ["d/docker", "docker.io", "d/docker"],
    ["jess/t", "docker.io", "jess/t"],
    ["dock__er/docker", "docker.io", "dock__er/docker"],
    ["x/a.b_c__d-e--f/g", "docker.io", "x/a.b_c__d-e--f/g"],
    [
      "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
      "docker.io",
      "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev"
    ],
    [`docker.io/${HEX64}`, "docker.io", `library/${HEX64}`],
    [HEX64.slice(1), "docker.io", `library/${HEX64.slice(1)}`],
    ["dbcc1", "docker.io", "library/dbcc1"],
    // tags
    ["lowercase:Uppercase", "docker.io", "library/lowercase", "Uppercase"],
    ["alpine:_underscore", "docker.io", "library/alpine", "_underscore"]
  ]

  const rows = cases.map(([input, registry, repository, tag, digest]) => ({
    input,
    expected: {
      registry,
      repository,
      ...(tag !== undefined ? { tag } : {}),
      ...(digest !== undefined ? { digest } : {})
    }
  }))

  it.each(rows)("$input", ({ expected, input }) => {
    assert.deepStrictEqual(parsed(input), expected)
  })

  it.each(rows)("round trip through format: $input", ({ input }) => {
    const ref = right(Reference.parse(input))
    const again = right(Reference.parse(Reference.format(ref)))
    assert.isTrue(Equal.equals(ref, again))
    assert.strictEqual(Reference.format(again), Reference.format(ref))
  })
})

// --- parse: invalid references --------------------------------------------------------------

describe("Reference.parse (invalid)", () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["", "empty reference"],
    [":justtag", "missing repository name"],
    [`@${D256}`, "missing repository name"],
    ["repo@sha256:ffffffffffffffffffffffffffffffffff", "invalid digest"],
    [`validname@invaliddigest:${"f".repeat(64)}`, "unsupported algorithm"],
    ["alpine@sha256:cafebabe", "sha256 needs 64"],
    [`alpine@sha256:${"F".repeat(64)}`, "lower-case hex"],
    [`alpine@md5:${"f".repeat(32)}`, "unsupported algorithm"],
    ["alpine@", "invalid digest"],
    [`alpine@${D256}@${D256}`, "invalid digest"],
    ["Uppercase:tag", "must be lower-case"],
    ["test:5000/Uppercase/lowercase:tag", "must be lower-case"],
    ["docker/Docker", "must be lower-case"],
    ["docker.io/docker/Docker", "must be lower-case"],
    ["aa/asdf$$^/aa", "invalid repository path component \"asdf$$^\""],
    ["https://github.com/docker/docker", "URL scheme"],
    ["docker://quay.io/library/foo:bar", "URL scheme"],
    ["-docker", "invalid repository path component \"-docker\""],
    ["-docker/docker", "invalid repository path component \"-docker\""],
    ["docker-/docker", "invalid repository path component \"docker-\""],
    ["-docker-/docker", "invalid repository path component"],
    ["-docker.io/docker/docker", "invalid registry host"],
    ["docker///docker", "empty component"],
    ["docker.io/docker///docker", "empty component"],
    ["docker/", "empty component"],
    ["docker.io/", "empty repository path"],
    ["____/____", "invalid repository path component"],
    ["_docker/_docker", "invalid repository path component \"_docker\""],
    ["__docker/x", "invalid repository path component \"__docker\""],
    ["docker__/x", "invalid repository path component \"docker__\""],
    ["a___b/c", "invalid repository path component \"a___b\""],
    // a first component with a "." is a host, and these are not hosts
    ["dock..er/docker", "invalid registry host"],
    ["dock_.er/docker", "invalid registry host"],
    ["dock-.er/docker", "invalid registry host"],
    ["x/dock..er", "invalid repository path component \"dock..er\""],
    ["x/dock_.er", "invalid repository path component \"dock_.er\""],
    ["x/dock-.er", "invalid repository path component \"dock-.er\""],
    ["x/docker.", "invalid repository path component \"docker.\""],
    ["[2001:db8::1]", "invalid tag"],
    ["[2001:db8::1]:5000", "invalid repository path component"],
    ["[2001:db8::1]:tag", "invalid repository path component"],
    ["[fc00::1]", "invalid tag"],
    ["[fe80::1%eth0]:5000/repo", "invalid registry host"],
    ["[2001:db8:3:4::192.0.2.33]:5000/debian", "invalid registry host"],
    ["fc00::1:5000/debian", "invalid registry host"],
    ["localhost:abc/foo", "invalid registry host"],
    ["ex_ample.com/foo", "invalid registry host"],
    ["host:/foo", "invalid registry host"],
    [HEX64, "image ID"],
    ["alpine:", "empty tag"],
    ["alpine:-foo", "invalid tag"],
    ["alpine:.foo", "invalid tag"],
    ["alpine:a+b", "invalid tag"],
    [" alpine", "white space"],
    ["alpine\n", "white space"],
    ["alpine latest", "invalid repository path component"],
    ["ÄLPINE", "must be lower-case"],
    ["alpïne", "invalid repository path component"],
    [`${"a/".repeat(128)}a:tag`, "more than 255"],
    [
      "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker",
      "more than 255"
    ],
    ["a".repeat(5000), "longer than 1024"]
  ]

  it.each(cases)("%j", (input, fragment) => {
    assertInvalid(Reference.parse(input), input, fragment)
  })

  it("never throws on odd input", () => {
    const inputs = ["/", "//", ":", "@", ":@", "a:b:c", "a@b@c", "[", "[]", "[]/x", "\u0000", "💥/x", "a/b/c:d/e"]
    for (const input of inputs) {
      assert.isTrue(Either.isEither(Reference.parse(input)), input)
    }
  })
})

// --- limits ---------------------------------------------------------------------------------

describe("Reference.parse limits", () => {
  it("accepts a name of exactly 255 characters", () => {
    const input = `example.com/${"a".repeat(243)}`
    assert.strictEqual(input.length, 255)
    assert.strictEqual(Reference.name(right(Reference.parse(input))).length, 255)
  })

  it("refuses a name of 256 characters", () => {
    const input = `example.com/${"a".repeat(244)}`
    assertInvalid(Reference.parse(input), input, "more than 255")
  })

  it("counts docker.io/library/ in a familiar name", () => {
    // "docker.io/library/" is 18 characters
    assert.strictEqual(Reference.name(right(Reference.parse("a".repeat(237)))).length, 255)
    assertInvalid(Reference.parse("a".repeat(238)), "a".repeat(238), "more than 255")
  })

  it("does not count the tag or the digest", () => {
    const input = `example.com/${"a".repeat(243)}:${"t".repeat(128)}@${D512}`
    assert.strictEqual(right(Reference.parse(input)).tag?.length, 128)
  })

  it("accepts a tag of 128 characters", () => {
    assert.strictEqual(parsed(`alpine:${"a".repeat(128)}`).tag, "a".repeat(128))
  })

  it("refuses a tag of 129 characters", () => {
    const input = `alpine:${"a".repeat(129)}`
    assertInvalid(Reference.parse(input), input, "longer than 128")
  })

  it("refuses an upper-case repository path but accepts an upper-case host", () => {
    assertInvalid(Reference.parse("quay.io/Team/app"), "quay.io/Team/app", "must be lower-case")
    assert.deepStrictEqual(parsed("QUAY.IO/team/app"), { registry: "QUAY.IO", repository: "team/app" })
  })

  it("folds Docker Hub aliases whatever their case", () => {
    assert.deepStrictEqual(parsed("Index.Docker.IO/alpine"), { registry: "docker.io", repository: "library/alpine" })
  })
})

// --- options --------------------------------------------------------------------------------

describe("Reference.parse options", () => {
  it("defaultRegistry is used for names without a registry, without library/", () => {
    assert.deepStrictEqual(parsed("foo", { defaultRegistry: "myreg.example.com:5000" }), {
      registry: "myreg.example.com:5000",
      repository: "foo"
    })
    assert.deepStrictEqual(parsed("quay.io/foo", { defaultRegistry: "myreg.example.com:5000" }), {
      registry: "quay.io",
      repository: "foo"
    })
  })

  it("defaultRegistry pointing at Docker Hub keeps the library/ rule", () => {
    assert.deepStrictEqual(parsed("foo", { defaultRegistry: "index.docker.io" }), {
      registry: "docker.io",
      repository: "library/foo"
    })
  })

  it("an invalid defaultRegistry is an InvalidReference", () => {
    assertInvalid(Reference.parse("foo", { defaultRegistry: "not a host" }), "foo", "default registry")
  })

  it("defaultTag applies only without tag and digest", () => {
    assert.strictEqual(parsed("alpine", { defaultTag: "latest" }).tag, "latest")
    assert.strictEqual(parsed("alpine:3", { defaultTag: "latest" }).tag, "3")
    assert.deepStrictEqual(parsed(`alpine@${D256}`, { defaultTag: "latest" }), {
      registry: "docker.io",
      repository: "library/alpine",
      digest: D256
    })
  })

  it("no defaultTag (or undefined) leaves the tag out", () => {
    assert.isUndefined(parsed("alpine").tag)
    assert.isUndefined(parsed("alpine", { defaultTag: undefined }).tag)
  })

  it("an invalid defaultTag is an InvalidReference", () => {
    assertInvalid(Reference.parse("alpine", { defaultTag: "-bad" }), "alpine", "default tag")
  })
})

// --- formatting and helpers -----------------------------------------------------------------

describe("Reference formatting", () => {
  const formats: ReadonlyArray<readonly [string, string, string]> = [
    // input, format, familiar
    ["alpine", "docker.io/library/alpine", "alpine"],
    ["alpine:3", "docker.io/library/alpine:3", "alpine:3"],
    ["user/app", "docker.io/user/app", "user/app"],
    ["index.docker.io/library/redis", "docker.io/library/redis", "redis"],
    ["docker.io/library/foo/bar", "docker.io/library/foo/bar", "library/foo/bar"],
    [`busybox:latest@${D256}`, `docker.io/library/busybox:latest@${D256}`, `busybox:latest@${D256}`],
    ["quay.io/a/b:1", "quay.io/a/b:1", "quay.io/a/b:1"],
    ["localhost:5000/x", "localhost:5000/x", "localhost:5000/x"],
    ["[::1]:5000/repo:tag", "[::1]:5000/repo:tag", "[::1]:5000/repo:tag"]
  ]

  it.each(formats)("%s", (input, canonical, short) => {
    const ref = right(Reference.parse(input))
    assert.strictEqual(Reference.format(ref), canonical)
    assert.strictEqual(String(ref), canonical)
    assert.strictEqual(Reference.familiar(ref), short)
    // the familiar form parses back to the same reference
    assert.isTrue(Equal.equals(right(Reference.parse(short)), ref))
  })

  it("format(parse(x)) is x for canonical strings", () => {
    for (
      const input of [
        "docker.io/library/alpine:3",
        `ghcr.io/owner/app:v1@${D256}`,
        "[2001:db8::1]:5000/repo",
        "Registry.Example.COM/team/app:TAG"
      ]
    ) {
      assert.strictEqual(Reference.format(right(Reference.parse(input))), input)
    }
  })

  it("apiHost maps Docker Hub to registry-1.docker.io", () => {
    assert.strictEqual(Reference.apiHost(right(Reference.parse("alpine"))), "registry-1.docker.io")
    assert.strictEqual(Reference.apiHost({ registry: "docker.io" }), "registry-1.docker.io")
    assert.strictEqual(Reference.apiHost(right(Reference.parse("quay.io/a/b"))), "quay.io")
    assert.strictEqual(Reference.apiHost(right(Reference.parse("localhost:5000/a"))), "localhost:5000")
    assert.strictEqual(Reference.apiHost(right(Reference.parse("[::1]:5000/a"))), "[::1]:5000")
    assert.isTrue(Reference.isDockerHub(right(Reference.parse("alpine"))))
    assert.isFalse(Reference.isDockerHub(right(Reference.parse("quay.io/a"))))
  })

  it("identifier prefers digest, then tag, then latest", () => {
    assert.strictEqual(Reference.identifier(right(Reference.parse(`a:1@${D256}`))), D256)
    assert.strictEqual(Reference.identifier(right(Reference.parse("a:1"))), "1")
    assert.strictEqual(Reference.identifier(right(Reference.parse("a"))), "latest")
  })

  it("withTag validates and keeps the digest; works data-last", () => {
    const ref = right(Reference.parse(`quay.io/a/b@${D256}`))
    assert.strictEqual(Reference.format(right(Reference.withTag(ref, "v2"))), `quay.io/a/b:v2@${D256}`)
    assert.strictEqual(Reference.format(right(pipe(ref, Reference.withTag("v3")))), `quay.io/a/b:v3@${D256}`)
    assertInvalid(Reference.withTag(ref, "bad tag"), "quay.io/a/b:bad tag", "invalid tag")
  })

  it("withDigest, withoutTag and withoutDigest", () => {
    const ref = right(Reference.parse("quay.io/a/b:1"))
    const pinned = Reference.withDigest(ref, D256b)
    assert.strictEqual(Reference.format(pinned), `quay.io/a/b:1@${D256b}`)
    assert.strictEqual(Reference.format(pipe(ref, Reference.withDigest(D256))), `quay.io/a/b:1@${D256}`)
    assert.strictEqual(Reference.format(Reference.withoutTag(pinned)), `quay.io/a/b@${D256b}`)
    assert.strictEqual(Reference.format(Reference.withoutDigest(pinned)), "quay.io/a/b:1")
    assert.isTrue(Equal.equals(Reference.withoutDigest(pinned), ref))
  })

  it("make validates the parts", () => {
    const ref = right(Reference.make({ registry: "index.docker.io", repository: "library/x", tag: "1" }))
    assert.strictEqual(Reference.format(ref), "docker.io/library/x:1")
    assertInvalid(Reference.make({ registry: "quay.io", repository: "A" }), "quay.io/A", "must be lower-case")
    assertInvalid(
      Reference.make({ registry: "quay.io", repository: "a", digest: "sha256:x" }),
      "quay.io/a@sha256:x",
      "invalid digest"
    )
    assertInvalid(
      Reference.make({ registry: "example.com", repository: "a".repeat(244) }),
      `example.com/${"a".repeat(244)}`,
      "more than 255"
    )
  })

  it("the class constructor validates its fields", () => {
    assert.throws(() => new Reference.Reference({ registry: "quay.io", repository: "Bad" }))
    assert.strictEqual(String(new Reference.Reference({ registry: "quay.io", repository: "ok" })), "quay.io/ok")
  })
})

// --- Effect and Schema ----------------------------------------------------------------------

describe("Reference as Effect and Schema", () => {
  it.effect("parseEffect succeeds", () =>
    Effect.gen(function*() {
      const ref = yield* Reference.parseEffect("alpine:3")
      assert.strictEqual(Reference.format(ref), "docker.io/library/alpine:3")
    }))

  it.effect("parseEffect fails with InvalidReference", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Reference.parseEffect("Bad:tag"))
      assert.strictEqual(error._tag, "InvalidReference")
      assert.include(error.reason, "lower-case")
    }))

  it("ReferenceFromString decodes and encodes", () => {
    const ref = Schema.decodeUnknownSync(Reference.ReferenceFromString)("alpine:3")
    assert.instanceOf(ref, Reference.Reference)
    assert.strictEqual(ref.repository, "library/alpine")
    assert.strictEqual(Schema.encodeSync(Reference.ReferenceFromString)(ref), "docker.io/library/alpine:3")
  })

  it("ReferenceFromString reports the reason", () => {
    const result = Schema.decodeUnknownEither(Reference.ReferenceFromString)("alpine@sha256:cafebabe")
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) assert.include(result.left.message, "sha256 needs 64")
    assert.isTrue(Either.isLeft(Schema.decodeUnknownEither(Reference.ReferenceFromString)(42)))
  })

  it("ReferenceFromString works in a struct (config-like)", () => {
    const Config = Schema.Struct({ image: Reference.ReferenceFromString })
    const config = Schema.decodeUnknownSync(Config)({ image: "ghcr.io/owner/app:v1" })
    assert.strictEqual(config.image.registry, "ghcr.io")
    assert.deepStrictEqual(Schema.encodeSync(Config)(config), { image: "ghcr.io/owner/app:v1" })
  })

  it("the part schemas validate", () => {
    assert.isTrue(Schema.is(Reference.Registry)("[::1]:5000"))
    assert.isFalse(Schema.is(Reference.Registry)("bad host"))
    assert.isTrue(Schema.is(Reference.Repository)("a/b-c"))
    assert.isFalse(Schema.is(Reference.Repository)("a//b"))
    assert.isTrue(Schema.is(Reference.Tag)("v1.0"))
    assert.isFalse(Schema.is(Reference.Tag)(".v1"))
    assert.isTrue(Reference.isValid("alpine"))
    assert.isFalse(Reference.isValid("Alpine"))
  })
})

// --- seed compatibility: README examples ------------------------------------------------------

describe("seed README examples", () => {
  const mongo: Reference.RepoInfo = {
    index: { name: "docker.io", official: true },
    official: true,
    remoteName: "library/mongo",
    localName: "mongo",
    canonicalName: "docker.io/mongo"
  }

  it.each(["mongo", "docker.io/mongo", "docker.io/library/mongo"])("parseRepo(%s)", (input) => {
    assert.deepStrictEqual(right(Reference.parseRepo(input)), mongo)
  })

  it("parseRepo(myreg.example.com:5000/busybox)", () => {
    assert.deepStrictEqual(right(Reference.parseRepo("myreg.example.com:5000/busybox")), {
      index: { name: "myreg.example.com:5000", official: false },
      official: false,
      remoteName: "busybox",
      localName: "myreg.example.com:5000/busybox",
      canonicalName: "myreg.example.com:5000/busybox"
    })
  })

  it("parseRepo(quay.io/trentm/foo)", () => {
    assert.deepStrictEqual(right(Reference.parseRepo("quay.io/trentm/foo")), {
      index: { name: "quay.io", official: false },
      official: false,
      remoteName: "trentm/foo",
      localName: "quay.io/trentm/foo",
      canonicalName: "quay.io/trentm/foo"
    })
  })

  it("parseRepoAndRef(myreg.example.com:5000/busybox:foo)", () => {
    assert.deepStrictEqual(right(Reference.parseRepoAndRef("myreg.example.com:5000/busybox:foo")), {
      index: { name: "myreg.example.com:5000", official: false },
      official: false,
      remoteName: "busybox",
      localName: "myreg.example.com:5000/busybox",
      canonicalName: "myreg.example.com:5000/busybox",
      tag: "foo",
      canonicalRef: "myreg.example.com:5000/busybox:foo"
    })
  })

  it("parseRepoAndRef(https://quay.io/trentm/foo) keeps the scheme and defaults the tag", () => {
    assert.deepStrictEqual(right(Reference.parseRepoAndRef("https://quay.io/trentm/foo")), {
      index: { scheme: "https", name: "quay.io", official: false },
      official: false,
      remoteName: "trentm/foo",
      localName: "quay.io/trentm/foo",
      canonicalName: "quay.io/trentm/foo",
      tag: "latest",
      canonicalRef: "quay.io/trentm/foo:latest"
    })
  })

  it("parseRepoAndRef(alpine@sha256:…) from the README", () => {
    assert.deepStrictEqual(right(Reference.parseRepoAndRef(`alpine@${ALPINE_DIGEST}`)), {
      index: { name: "docker.io", official: true },
      official: true,
      remoteName: "library/alpine",
      localName: "alpine",
      canonicalName: "docker.io/alpine",
      digest: ALPINE_DIGEST,
      canonicalRef: `docker.io/alpine@${ALPINE_DIGEST}`
    })
  })
})

// --- seed compatibility: the seed's own tests --------------------------------------------------

describe("seed parseRepoAndRef / parseRepoAndTag", () => {
  const hub = { name: "docker.io", official: true } as const
  const local = { name: "localhost:5000", official: false } as const
  const blarg = {
    index: local,
    official: false,
    remoteName: "blarg",
    localName: "localhost:5000/blarg",
    canonicalName: "localhost:5000/blarg"
  }
  const myreg = {
    index: { scheme: "https", name: "myreg.example.com:1234", official: false },
    official: false,
    remoteName: "foo/bar",
    localName: "myreg.example.com:1234/foo/bar",
    canonicalName: "myreg.example.com:1234/foo/bar",
    tag: "latest",
    canonicalRef: "myreg.example.com:1234/foo/bar:latest"
  } as const

  const cases: ReadonlyArray<readonly [string, string | Reference.IndexInput | undefined, Reference.RepoAndRefInfo]> = [
    ["busybox", undefined, {
      index: hub,
      official: true,
      remoteName: "library/busybox",
      localName: "busybox",
      canonicalName: "docker.io/busybox",
      tag: "latest",
      canonicalRef: "docker.io/busybox:latest"
    }],
    ["google/python", undefined, {
      index: hub,
      official: false,
      remoteName: "google/python",
      localName: "google/python",
      canonicalName: "docker.io/google/python",
      tag: "latest",
      canonicalRef: "docker.io/google/python:latest"
    }],
    ["docker.io/ubuntu", undefined, {
      index: hub,
      official: true,
      remoteName: "library/ubuntu",
      localName: "ubuntu",
      canonicalName: "docker.io/ubuntu",
      tag: "latest",
      canonicalRef: "docker.io/ubuntu:latest"
    }],
    ["localhost:5000/blarg", undefined, { ...blarg, tag: "latest", canonicalRef: "localhost:5000/blarg:latest" }],
    ["localhost:5000/blarg:latest", undefined, {
      ...blarg,
      tag: "latest",
      canonicalRef: "localhost:5000/blarg:latest"
    }],
    ["localhost:5000/blarg:mytag", undefined, { ...blarg, tag: "mytag", canonicalRef: "localhost:5000/blarg:mytag" }],
    [`localhost:5000/blarg@${D256}`, undefined, {
      ...blarg,
      digest: D256,
      canonicalRef: `localhost:5000/blarg@${D256}`
    }],
    [`localhost:5000/blarg:mytag@${D256}`, undefined, {
      ...blarg,
      tag: "mytag",
      digest: D256,
      canonicalRef: `localhost:5000/blarg:mytag@${D256}`
    }],
    ["foo/bar", "docker.io", {
      index: hub,
      official: false,
      remoteName: "foo/bar",
      localName: "foo/bar",
      canonicalName: "docker.io/foo/bar",
      tag: "latest",
      canonicalRef: "docker.io/foo/bar:latest"
    }],
    ["foo/bar", "https://myreg.example.com:1234", myreg],
    ["foo/bar", { scheme: "https", name: "myreg.example.com:1234", official: false }, myreg]
  ]

  it.each(cases)("parseRepoAndRef(%s, %j)", (input, defaultIndex, expected) => {
    assert.deepStrictEqual(right(Reference.parseRepoAndRef(input, defaultIndex)), expected)
  })

  it.each(cases)("parseRepoAndTag(%s, %j)", (input, defaultIndex, expected) => {
    assert.deepStrictEqual(right(Reference.parseRepoAndTag(input, defaultIndex)), expected)
  })

  it.each([
    "localhost:5000/blarg:latest",
    "localhost:5000/blarg:mytag",
    `localhost:5000/blarg@${D256}`,
    `localhost:5000/blarg:mytag@${D256}`,
    "quay.io/trentm/foo:1.0",
    "docker.io/busybox:latest"
  ])("canonicalRef round trips: %s", (input) => {
    assert.strictEqual(right(Reference.parseRepoAndRef(input)).canonicalRef, input)
  })

  it("parseRepo gives no tag, digest or canonicalRef", () => {
    assert.deepStrictEqual(right(Reference.parseRepo("foo/bar", "https://myreg.example.com:1234")), {
      index: { scheme: "https", name: "myreg.example.com:1234", official: false },
      official: false,
      remoteName: "foo/bar",
      localName: "myreg.example.com:1234/foo/bar",
      canonicalName: "myreg.example.com:1234/foo/bar"
    })
  })

  it("parseRepo of a GitLab path", () => {
    assert.deepStrictEqual(right(Reference.parseRepo("registry.gitlab.com/user.name/repo-a/repo-b")), {
      index: { name: "registry.gitlab.com", official: false },
      official: false,
      remoteName: "user.name/repo-a/repo-b",
      localName: "registry.gitlab.com/user.name/repo-a/repo-b",
      canonicalName: "registry.gitlab.com/user.name/repo-a/repo-b"
    })
    const input = "registry.gitlab.com/user@name/repo-a/repo-b"
    assertInvalid(Reference.parseRepo(input), input, "invalid repository path component")
  })

  it("parseRepo over plain http keeps the scheme", () => {
    assert.deepStrictEqual(right(Reference.parseRepo("http://localhost:5000/blarg")), {
      ...blarg,
      index: { scheme: "http", name: "localhost:5000", official: false }
    })
  })
})

describe("seed parseIndex", () => {
  const valid: ReadonlyArray<readonly [string | undefined, Reference.IndexInfo]> = [
    [undefined, { name: "docker.io", official: true }],
    ["docker.io", { name: "docker.io", official: true }],
    ["index.docker.io", { name: "docker.io", official: true }],
    ["registry-1.docker.io", { name: "docker.io", official: true }],
    ["https://docker.io", { name: "docker.io", official: true, scheme: "https" }],
    ["quay.io", { name: "quay.io", official: false }],
    ["https://quay.io", { name: "quay.io", official: false, scheme: "https" }],
    ["http://quay.io", { name: "quay.io", official: false, scheme: "http" }],
    ["localhost:5000", { name: "localhost:5000", official: false }],
    ["localhost", { name: "localhost", official: false }],
    ["docker.io/", { name: "docker.io", official: true }],
    ["https://index.docker.io/v1/", { name: "docker.io", official: true }],
    ["https://[::1]:5000/", { name: "[::1]:5000", official: false, scheme: "https" }]
  ]

  it.each(valid)("parseIndex(%s)", (input, expected) => {
    assert.deepStrictEqual(right(Reference.parseIndex(input)), expected)
  })

  const invalid: ReadonlyArray<readonly [string, string]> = [
    ["http://docker.io", "disallowed"],
    ["https://", "empty"],
    ["https://foo", "look"],
    ["foo", "look"],
    ["docker.io/foo", "trailing repository"],
    ["ftp://quay.io", "neither \"http\" nor \"https\""],
    ["HTTPS://quay.io", "neither \"http\" nor \"https\""],
    ["quay.io:port", "invalid registry host"]
  ]

  it.each(invalid)("parseIndex(%s) fails", (input, fragment) => {
    assertInvalid(Reference.parseIndex(input), input, fragment)
  })
})

describe("seed functions are stricter than the seed", () => {
  const invalid: ReadonlyArray<readonly [string, string]> = [
    ["", "empty"],
    [":justtag", "missing repository name"],
    ["localhost:5000/blarg@sha256:cafebabe", "sha256 needs 64"],
    ["alpine@sha256", "invalid digest"],
    [`alpine@sha1:${"f".repeat(40)}`, "unsupported algorithm"],
    ["alpine:bad^tag", "invalid tag"],
    ["gopher://quay.io/foo", "neither \"http\" nor \"https\""],
    ["http://docker.io/alpine", "disallowed"],
    ["https://quay.io", "no \"/REPO\""],
    ["-docker/docker", "invalid repository path component"],
    ["docker-/docker", "invalid repository path component"],
    ["__x/y", "invalid repository path component"],
    ["x__/y", "invalid repository path component"],
    ["quay.io/Foo/bar", "must be lower-case"],
    ["docker.io/", "empty repository path"],
    [`example.com/${"a".repeat(244)}`, "more than 255"],
    [`${"a".repeat(238)}`, "more than 255"]
  ]

  it.each(invalid)("parseRepoAndRef(%j) fails", (input, fragment) => {
    assertInvalid(Reference.parseRepoAndRef(input), input, fragment)
  })

  it("parseRepo refuses tags and bad default indexes", () => {
    assertInvalid(Reference.parseRepo("foo:bar"), "foo:bar", "invalid repository path component")
    assertInvalid(Reference.parseRepo("foo", "foo"), "foo", "does not look like a valid host")
    assertInvalid(
      Reference.parseRepo("foo", { name: "quay.io", official: false, scheme: "ftp" }),
      "foo",
      "neither \"http\" nor \"https\""
    )
    assertInvalid(Reference.parseRepo("foo", { name: "not a host", official: false }), "foo", "invalid registry host")
  })

  it("accepts what distribution accepts and the seed did not", () => {
    // one-letter namespaces and repeated hyphens
    assert.strictEqual(right(Reference.parseRepo("d/docker")).remoteName, "d/docker")
    assert.strictEqual(
      right(Reference.parseRepo("docker---rules/docker")).canonicalName,
      "docker.io/docker---rules/docker"
    )
    // an upper-case first component is a host
    assert.deepStrictEqual(right(Reference.parseRepo("Foo/bar")).index, { name: "Foo", official: false })
    // IPv6 hosts
    assert.strictEqual(right(Reference.parseRepoAndRef("[::1]:5000/repo:tag")).canonicalRef, "[::1]:5000/repo:tag")
  })

  it("docker.io/library/a/b is not an official image", () => {
    assert.deepStrictEqual(right(Reference.parseRepo("docker.io/library/foo/bar")), {
      index: { name: "docker.io", official: true },
      official: false,
      remoteName: "library/foo/bar",
      localName: "library/foo/bar",
      canonicalName: "docker.io/library/foo/bar"
    })
  })

  it("agrees with parse on the repository", () => {
    for (const input of ["busybox", "google/python:3", "quay.io/a/b@" + D256, "localhost:5000/x", "[::1]/y"]) {
      const info = right(Reference.parseRepoAndRef(input))
      const ref = right(Reference.parse(input))
      assert.strictEqual(info.remoteName, ref.repository, input)
      assert.strictEqual(info.index.name, ref.registry, input)
    }
  })
})
