/**
 * `ocireg push LAYOUT` without a ref (issue 14): a layout holding one image is pushed as that image,
 * as skopeo and crane read `oci:DIR`; a layout holding several fails with a usage error (exit 2)
 * listing their refs and digests; `OciLayout.resolve` / `pushFromLayout` follow the same rule. The
 * pull-then-push round trip (`ocireg pull REF ./dir`, then `ocireg push ./dir HOST/repo:tag`) used
 * to fail with `RefNotFound (latest)`. The CLI runs through the bin file npm links, against
 * `ocireg registry serve`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Registry from "@ocireg/core/Registry"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as OciLayout from "@ocireg/platform-node/OciLayout"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { describeIntegration, type GeneratedImage, generateOciLayout, skopeoCopy } from "../../../test-support/index.js"
import { splitLayoutRef } from "../src/internal/cli/layout.js"
import { ocireg, serve, type Served } from "./firstContact.js"

let work: string
let served: Served
let one: GeneratedImage
let two: GeneratedImage

const client = () => NodeRegistry.layer().pipe(Layer.provide(CredentialStore.layerAnonymous))

const remoteDigest = (reference: string) =>
  Effect.map(Registry.headManifest(reference), (head) => head.digest).pipe(Effect.provide(client()))

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), "ocireg-first-contact-"))
  served = await serve()
  one = await generateOciLayout(path.join(work, "one"), {
    platforms: ["linux/amd64", "linux/arm64"],
    layers: 1,
    layerSize: 4096,
    tag: "1"
  })
  two = await generateOciLayout(path.join(work, "two"), { layers: 1, layerSize: 4096, tag: "2" })
  for (const [dir, tag] of [[one.dir, "1"], [two.dir, "2"]] as const) {
    const pushed = await ocireg(["push", `${dir}:${tag}`, `${served.host}/owner/app:${tag}`])
    if (pushed.code !== 0) throw new Error(`seeding ${tag}: ${pushed.stderr}`)
  }
}, 120_000)

afterAll(async () => {
  await served?.stop()
  if (work) await fs.rm(work, { recursive: true, force: true })
})

describe("ocireg push LAYOUT without a ref", () => {
  it("pull then push: the pulled layout's only image goes to the new tag, digest kept", async () => {
    const dir = path.join(work, "round-trip")
    const pulled = await ocireg(["pull", `${served.host}/owner/app:1`, dir])
    assert.strictEqual(pulled.code, 0, pulled.stderr)
    const pushed = await ocireg(["push", dir, `${served.host}/copy/app:tag`])
    assert.strictEqual(pushed.code, 0, pushed.stderr)
    assert.include(pushed.stdout, one.root.digest)
    assert.strictEqual(await Effect.runPromise(remoteDigest(`${served.host}/copy/app:tag`)), one.root.digest)

    // no tag on the target: the entry's ref name, as with an explicit DIR:REF
    const untagged = await ocireg(["--json", "push", dir, `${served.host}/copy/untagged`])
    assert.strictEqual(untagged.code, 0, untagged.stderr)
    assert.strictEqual(JSON.parse(untagged.stdout).reference.tag, "1")
  }, 180_000)

  it("several images and no ref: usage error (exit 2) naming every ref and digest, nothing pushed", async () => {
    const dir = path.join(work, "several")
    for (const tag of ["1", "2"]) {
      const pulled = await ocireg(["pull", `${served.host}/owner/app:${tag}`, dir])
      assert.strictEqual(pulled.code, 0, pulled.stderr)
    }
    const pushed = await ocireg(["push", dir, `${served.host}/several/app:x`])
    assert.strictEqual(pushed.code, 2, pushed.stderr)
    assert.include(pushed.stderr, "several images")
    assert.include(pushed.stderr, `1 (${one.root.digest})`)
    assert.include(pushed.stderr, `2 (${two.root.digest})`)
    assert.strictEqual(pushed.stdout, "")
    const head = await Effect.runPromise(Effect.flip(remoteDigest(`${served.host}/several/app:x`)))
    assert.strictEqual(head._tag, "NotFound")

    // naming one still works: by ref, and by digest
    const byRef = await ocireg(["push", `${dir}:2`, `${served.host}/several/app:by-ref`])
    assert.strictEqual(byRef.code, 0, byRef.stderr)
    assert.strictEqual(await Effect.runPromise(remoteDigest(`${served.host}/several/app:by-ref`)), two.root.digest)
    const byDigest = await ocireg(["push", `${dir}@${one.root.digest}`, `${served.host}/several/app:by-digest`])
    assert.strictEqual(byDigest.code, 0, byDigest.stderr)
    assert.strictEqual(await Effect.runPromise(remoteDigest(`${served.host}/several/app:by-digest`)), one.root.digest)
  }, 180_000)

  it.effect("OciLayout.resolve and pushFromLayout follow the same rule", () =>
    Effect.gen(function*() {
      const sole = yield* OciLayout.open(one.dir)
      assert.strictEqual((yield* OciLayout.resolve(sole)).digest, one.root.digest)
      const pushed = yield* OciLayout.pushFromLayout(one.dir, undefined, `${served.host}/library/sole`)
      assert.strictEqual(pushed.digest, one.root.digest)
      assert.strictEqual(pushed.reference.tag, "1")

      const several = yield* OciLayout.open(path.join(work, "several"))
      const error = yield* Effect.flip(OciLayout.pushFromLayout(several.path, undefined, `${served.host}/library/x:y`))
      assert.strictEqual(error._tag, "OciLayoutError")
      assert.strictEqual((error as OciLayout.OciLayoutError).reason, "AmbiguousRef")
      assert.include(error.message, one.root.digest)
      assert.include(error.message, two.root.digest)

      const empty = yield* OciLayout.init(path.join(work, "empty"))
      const none = yield* Effect.flip(OciLayout.resolve(empty))
      assert.strictEqual(none.reason, "RefNotFound")
    }).pipe(Effect.provide(client())))
})

describe("DIR[:REF] on the command line", () => {
  it("splits a ref or a digest off, and leaves none for a bare directory", () => {
    const digest = `sha256:${"ab".repeat(32)}`
    assert.deepStrictEqual(splitLayoutRef("./app-layout:1"), { dir: "./app-layout", ref: "1" })
    assert.deepStrictEqual(splitLayoutRef("./app-layout"), { dir: "./app-layout", ref: undefined })
    assert.deepStrictEqual(splitLayoutRef("/tmp/a:b/layout"), { dir: "/tmp/a:b/layout", ref: undefined })
    assert.deepStrictEqual(splitLayoutRef(`dir@${digest}`), { dir: "dir", ref: digest })
    assert.deepStrictEqual(splitLayoutRef(`dir:${digest}`), { dir: "dir", ref: digest })
    assert.deepStrictEqual(splitLayoutRef(`dir:@${digest}`), { dir: "dir", ref: digest })
  })
})

describeIntegration("a layout skopeo wrote without a ref", ["skopeo"], () => {
  it("is pushed by ocireg push DIR (and by pushFromLayout with no ref), digests kept", async () => {
    const dir = path.join(work, "skopeo-no-ref")
    await skopeoCopy(`oci:${one.dir}:1`, `oci:${dir}`, { preserveDigests: true, all: true })
    const index = JSON.parse(await fs.readFile(path.join(dir, "index.json"), "utf8"))
    assert.strictEqual(index.manifests.length, 1)
    assert.isUndefined(index.manifests[0].annotations?.["org.opencontainers.image.ref.name"], "skopeo wrote no ref")
    assert.strictEqual(index.manifests[0].digest, one.root.digest)

    const pushed = await ocireg(["push", dir, `${served.host}/skopeo/app:v1`])
    assert.strictEqual(pushed.code, 0, pushed.stderr)
    assert.strictEqual(await Effect.runPromise(remoteDigest(`${served.host}/skopeo/app:v1`)), one.root.digest)

    // no tag on either side: `latest`, as before
    const library = await Effect.runPromise(
      OciLayout.pushFromLayout(dir, undefined, `${served.host}/skopeo/lib`).pipe(Effect.provide(client()))
    )
    assert.strictEqual(library.reference.tag, "latest")
    assert.strictEqual(library.digest, one.root.digest)
  }, 180_000)
})
