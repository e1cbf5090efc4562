/**
 * Hostile input fuzzing (issue 17) of the parsers that read the disk: Docker's `config.json` (and
 * the legacy `.dockercfg`), containers `auth.json` (the same decoder), and OCI layout `index.json`
 * with `../` or absolute paths in ref names and digests. Each answers with a value or a typed
 * error, never a throw, never quotes a secret of a malformed file, and never touches a file
 * outside the layout folder.
 */
import { assert, describe, it } from "@effect/vitest"
import type * as Digest from "@ocireg/core/Digest"
import * as NodeHasher from "@ocireg/platform-node/NodeHasher"
import * as OciLayout from "@ocireg/platform-node/OciLayout"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as fc from "fast-check"
import * as crypto from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { decode, parseJson } from "../../src/internal/dockerConfigFile.js"

const runs = Number(process.env.OCIREG_FUZZ_RUNS ?? 300)
const SECRET = "hunter2-secret-in-config"

describe("fuzz: docker config.json and auth.json", () => {
  const entry = fc.record({
    auth: fc.oneof(fc.base64String(), fc.string(), fc.integer(), fc.constant(null)),
    username: fc.oneof(fc.string(), fc.constant(SECRET)),
    password: fc.oneof(fc.string(), fc.constant(SECRET)),
    identitytoken: fc.string(),
    registrytoken: fc.string()
  }, { requiredKeys: [] })
  const config = fc.oneof(
    fc.jsonValue(),
    fc.record({
      auths: fc.oneof(fc.dictionary(fc.string(), fc.oneof(entry, fc.jsonValue())), fc.jsonValue()),
      credHelpers: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.jsonValue())), fc.jsonValue()),
      credsStore: fc.oneof(fc.string(), fc.jsonValue())
    }, { requiredKeys: [] })
  )

  it("any JSON, either format: parsed credentials or ConfigFileError, never a throw", () => {
    fc.assert(
      fc.property(config, fc.boolean(), (json, legacy) => {
        const file = { path: "/fuzz/config.json", legacy }
        const parsed = parseJson(file.path, JSON.stringify(json) ?? "")
        assert.isTrue(Either.isRight(parsed))
        if (Either.isRight(parsed)) {
          const result = decode(file, parsed.right)
          if (Either.isLeft(result)) {
            assert.strictEqual(result.left._tag, "ConfigFileError")
            assert.notInclude(result.left.message, SECRET, "a malformed file's contents are not quoted")
          }
        }
      }),
      { numRuns: runs }
    )
  })

  it("any text: JSON or ConfigFileError Malformed that does not quote it", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const parsed = parseJson("/fuzz/auth.json", `${text}${SECRET}`)
        if (Either.isLeft(parsed)) {
          assert.strictEqual(parsed.left.reason, "Malformed")
          assert.notInclude(parsed.left.message, SECRET)
        }
      }),
      { numRuns: runs }
    )
    const deep = parseJson("/fuzz/config.json", "{\"auths\":".repeat(100_000))
    assert.isTrue(Either.isLeft(deep))
  })
})

describe("fuzz: OCI layout index.json with hostile names and digests", () => {
  const hostileName = fc.oneof(
    fc.constantFrom(
      "../evil",
      "../../../../tmp/evil",
      "/etc/passwd",
      "a/../../b",
      "..",
      ".",
      "",
      "v1\u0000x",
      "C:\\Windows\\evil",
      "v1"
    ),
    fc.string({ maxLength: 40 })
  )
  const hex = crypto.createHash("sha256").update("x").digest("hex")
  const hostileDigest = fc.oneof(
    fc.constantFrom(
      "sha256:../../../../etc/passwd",
      "../../../../etc/passwd",
      "/etc/passwd",
      `sha256:${hex}/../../../x`,
      `sha256/../../${hex}`,
      "sha256:",
      `../sha256:${hex}`,
      `sha512:${hex}`,
      `sha256:${hex}`
    ),
    fc.string({ maxLength: 80 })
  )

  it.live(
    "reading and writing a layout with hostile entries: typed errors, nothing outside the folder",
    () =>
      Effect.gen(function*() {
        const sandbox = yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "ocireg-fuzz-")))
        const dir = path.join(sandbox, "layout")
        const layout = yield* OciLayout.init(dir)
        const property = fc.asyncProperty(
          fc.array(fc.tuple(hostileName, hostileDigest), { minLength: 1, maxLength: 4 }),
          async (entries) => {
            const index = {
              schemaVersion: 2,
              mediaType: "application/vnd.oci.image.index.v1+json",
              manifests: entries.map(([name, digest]) => ({
                mediaType: "application/vnd.oci.image.manifest.v1+json",
                digest,
                size: 10,
                annotations: { "org.opencontainers.image.ref.name": name }
              }))
            }
            await fs.writeFile(path.join(dir, "index.json"), JSON.stringify(index))
            const run = <A, E>(effect: Effect.Effect<A, E, Digest.Hasher>) =>
              Effect.runPromise(Effect.either(effect).pipe(Effect.provide(NodeHasher.layer)))
            const typed = (result: Either.Either<unknown, unknown>, what: string) => {
              if (Either.isLeft(result)) {
                const tag = (result.left as { _tag?: string })._tag
                assert.oneOf(tag, ["OciLayoutError", "DigestMismatch", "InvalidManifest"], what)
              }
            }
            typed(await run(OciLayout.readIndex(layout)), "readIndex")
            for (const [name, digest] of entries) {
              typed(await run(OciLayout.resolve(layout, name)), `resolve ${name}`)
              typed(await run(OciLayout.readManifest(layout, name)), `readManifest ${name}`)
              const where = await run(OciLayout.blobPath(layout, digest))
              typed(where, `blobPath ${digest}`)
              if (Either.isRight(where)) {
                assert.isFalse(path.relative(path.join(dir, "blobs"), where.right).startsWith(".."), where.right)
              }
              typed(await run(Stream.runDrain(OciLayout.readBlob(layout, digest))), `readBlob ${digest}`)
              const bytes = new TextEncoder().encode("0123456789")
              typed(await run(OciLayout.writeBlob(layout, digest, 10, Stream.succeed(bytes))), `writeBlob ${digest}`)
              typed(
                await run(OciLayout.setRef(layout, name, {
                  mediaType: "application/vnd.oci.image.manifest.v1+json",
                  digest: digest as never,
                  size: 10
                })),
                `setRef ${name}`
              )
            }
            const outside = (await fs.readdir(sandbox)).filter((n) => n !== "layout")
            assert.deepStrictEqual(outside, [], "nothing written next to the layout")
            const top = (await fs.readdir(dir)).filter((n) => !["blobs", "index.json", "oci-layout"].includes(n))
            assert.deepStrictEqual(top, [], "nothing unexpected at the layout's top")
          }
        )
        yield* Effect.promise(() => fc.assert(property, { numRuns: Math.min(runs, 150) }))
        yield* Effect.promise(() => fs.rm(sandbox, { recursive: true, force: true }))
      }),
    120_000
  )
})
