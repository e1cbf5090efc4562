/**
 * The programs under `examples/` cannot rot: each example's `main` runs with no arguments, against
 * the embedded registry it starts and seeds itself, and must succeed; what it prints (captured
 * from `console.log`) is checked for the line that shows it did its job. Two runs go through
 * `npx tsx examples/<name>.ts` in a child process, as the examples' headers document: without
 * arguments, and with a reference to a registry this test serves.
 */
import { assert as effectAssert, describe as effectDescribe, it as effectIt } from "@effect/vitest"
import * as RegistryTest from "@ocireg/core/RegistryTest"
import * as NodeHasher from "@ocireg/platform-node/NodeHasher"
import * as RegistryServer from "@ocireg/platform-node/RegistryServer"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, assert, beforeAll, describe, it, vi } from "vitest"
import * as authErrors from "../../../examples/authErrors.js"
import * as cancelUpload from "../../../examples/cancelUpload.js"
import * as completeUpload from "../../../examples/completeUpload.js"
import * as copyIndex from "../../../examples/copyIndex.js"
import * as deleteBlob from "../../../examples/deleteBlob.js"
import * as deleteManifest from "../../../examples/deleteManifest.js"
import * as dockerCredentials from "../../../examples/dockerCredentials.js"
import * as downloadLayer from "../../../examples/downloadLayer.js"
import * as getBlob from "../../../examples/getBlob.js"
import * as getManifest from "../../../examples/getManifest.js"
import * as getReferrers from "../../../examples/getReferrers.js"
import * as getUploadStatus from "../../../examples/getUploadStatus.js"
import * as headBlob from "../../../examples/headBlob.js"
import * as headManifest from "../../../examples/headManifest.js"
import * as imageCopy from "../../../examples/imageCopy.js"
import * as imageInspect from "../../../examples/imageInspect.js"
import * as imagePull from "../../../examples/imagePull.js"
import * as imagePush from "../../../examples/imagePush.js"
import * as imageTag from "../../../examples/imageTag.js"
import * as layoutPull from "../../../examples/layoutPull.js"
import * as layoutPush from "../../../examples/layoutPush.js"
import * as listRepositories from "../../../examples/listRepositories.js"
import * as listTags from "../../../examples/listTags.js"
import * as mountBlob from "../../../examples/mountBlob.js"
import * as parseRepoAndRef from "../../../examples/parseRepoAndRef.js"
import * as ping from "../../../examples/ping.js"
import * as promise from "../../../examples/promise.js"
import * as putManifest from "../../../examples/putManifest.js"
import * as retry from "../../../examples/retry.js"
import * as startUpload from "../../../examples/startUpload.js"
import { embeddedClient, seedDemoImage } from "../../../examples/support.js"
import * as testLayer from "../../../examples/testLayer.js"
import * as tracing from "../../../examples/tracing.js"
import * as uploadBlob from "../../../examples/uploadBlob.js"
import * as uploadChunk from "../../../examples/uploadChunk.js"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const examplesDir = Path.join(root, "examples")

/** Run `f` with `console.log` captured; returns what it printed, one line per call. */
const captured = async (f: () => Promise<unknown>): Promise<string> => {
  const lines: Array<string> = []
  const spy = vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => {
    lines.push(args.map(String).join(" "))
  })
  try {
    await f()
  } finally {
    spy.mockRestore()
  }
  return lines.join("\n")
}

type Main = (args: ReadonlyArray<string>) => Effect.Effect<unknown, unknown>

/** Every example with its `main` and what its output must show. */
const examples: ReadonlyArray<readonly [name: string, main: Main, expected: ReadonlyArray<RegExp>]> = [
  ["ping", ping.main, [/speaks the registry API: registry\/2\.0/]],
  ["listTags", listTags.main, [/page of demo\/app: 1\.0, latest/, /2 tags: 1\.0, latest/]],
  ["listRepositories", listRepositories.main, [/page: demo\/app/, /1 repositories in 127\.0\.0\.1:\d+/]],
  ["getManifest", getManifest.main, [/application\/vnd\.oci\.image\.index\.v1\+json/, /linux\/amd64 +sha256:/]],
  ["headManifest", headManifest.main, [/demo\/app:1\.0 is sha256:[0-9a-f]{64}/]],
  ["putManifest", putManifest.main, [/as 127\.0\.0\.1:\d+\/demo\/app:put-example/, /and by digest: same digest/]],
  ["deleteManifest", deleteManifest.main, [/deleted the tag delete-me-too/, /it is gone/]],
  ["getBlob", getBlob.main, [/digest verified/, /first file in the layer: hello\.txt/]],
  ["headBlob", headBlob.main, [/demo\/app has sha256:/, /NotFound \(blob\)/]],
  ["deleteBlob", deleteBlob.main, [/deleted it/, /no longer has it/]],
  ["startUpload", startUpload.main, [/session opened in demo\/app/, /session cancelled/]],
  ["uploadChunk", uploadChunk.main, [/holds 16384 of 32868 bytes/, /holds 32868 of 32868 bytes/, /completed: sha256:/]],
  ["getUploadStatus", getUploadStatus.main, [/the registry holds 16384 of 32768 bytes/, /resumed and completed/]],
  ["completeUpload", completeUpload.main, [/stored sha256:[0-9a-f]{64} \(8192 bytes\)/, /DIGEST_INVALID/]],
  ["cancelUpload", cancelUpload.main, [/the session is gone: NotFound \(upload\)/]],
  ["uploadBlob", uploadBlob.main, [/^upload +uploaded/m, /^upload again +exists/m, /mountFrom +mounted/]],
  ["mountBlob", mountBlob.main, [/mounted it into .*demo\/app-mounted/]],
  ["getReferrers", getReferrers.main, [/1 referrer\(s\)/, /application\/spdx\+json sha256:/]],
  ["imagePull", imagePull.main, [/linux\/amd64, created/, /layer sha256:[0-9a-f]{64}: .*verified/]],
  ["imagePush", imagePush.main, [/blob sha256:.* uploaded/, /pushed .*demo\/app:pushed sha256:/]],
  ["imageCopy", imageCopy.main, [/to another registry: .*uploaded 6/, /within that registry: .*mounted 4/]],
  ["imageTag", imageTag.main, [/tags: 1\.0, latest, stable/]],
  ["imageInspect", imageInspect.main, [/platform linux\/arm64/, /linux\/amd64: 1 layer\(s\)/]],
  ["layoutPull", layoutPull.main, [/3 manifest\(s\), 4 blob\(s\) written/, /1\.0 → sha256:/]],
  ["layoutPush", layoutPush.main, [/demo\/from-layout:1\.0/, /blobs uploaded 4/]],
  ["dockerCredentials", dockerCredentials.main, [
    /username demo and a password/,
    /with the Docker config: tags 1\.0, latest/,
    /anonymously: AuthenticationError/
  ]],
  ["retry", retry.main, [
    /answered 503, 503, 200/,
    /attempt failed: RegistryResponseError/,
    /2\. Effect\.retry .*: 2 tags/
  ]],
  ["testLayer", testLayer.main, [/✓ with credentials/, /✓ anonymous: AuthenticationError/]],
  ["tracing", tracing.main, [
    /^ {8}RegistryClient\.execute .*url\.path=\/v2\/demo\/app\/manifests\/1\.0/m,
    /^ {2}Image\.inspect /m,
    /^example\.inspect .*example\.reference=/m
  ]],
  ["parseRepoAndRef", parseRepoAndRef.main, [/"canonicalName": "docker\.io\/mongo"/]],
  ["downloadLayer", downloadLayer.main, [
    /demo\/app has 2 tag\(s\): 1\.0, latest/,
    /linux\/arm64 layer sha256:[0-9a-f]{64} \(\d+ bytes\) verified and written to /
  ]],
  ["authErrors", authErrors.main, [
    /^right: ok, tags latest$/m,
    /^wrongPassword: AuthenticationError \(RejectedCredentials\)$/m,
    /^none: AuthenticationError \(MissingCredentials\)$/m,
    // a refusal for a repository: "not found or access denied", as Docker Hub words it (issue 13)
    /^pullOnly: AuthorizationError \(NotFoundOrDenied\)$/m,
    /^sealedVault: AuthenticationError \(CredentialLookupFailed\)$/m
  ]],
  ["copyIndex", copyIndex.main, [
    /\(3 platforms, 9 blobs\)/,
    /copied 4 manifest\(s\), uploaded 9 blob\(s\); at most [123] blob\(s\) in flight \(cap 3\)/,
    /same digest: true/,
    /a mistyped host is refused: TransportError/
  ]]
]

describe("examples", () => {
  it("every example file is run by this test", () => {
    const files = Fs.readdirSync(examplesDir).filter((f) => f.endsWith(".ts") && f !== "support.ts")
    const tested = [...examples.map(([name]) => name), "promise"]
    assert.deepStrictEqual(files.map((f) => f.slice(0, -3)).sort(), tested.sort())
  })

  for (const [name, main, expected] of examples) {
    it(`${name} runs against the embedded registry`, async () => {
      const output = await captured(() => Effect.runPromise(main([])))
      for (const pattern of expected) assert.match(output, pattern)
    })
  }

  it("promise (the Promise facade) runs against the embedded registry", async () => {
    const output = await captured(() => promise.main([]))
    assert.match(output, /tags: 1\.0, latest/)
    assert.match(output, /platforms: linux\/amd64, linux\/arm64/)
    assert.match(output, /NotFound \(blob\)/)
    assert.match(output, /^aborted$/m)
  })
})

describe("examples as documented: npx tsx examples/<name>.ts", () => {
  const exec = promisify(execFile)
  const scope = Effect.runSync(Scope.make())
  let server: RegistryServer.RunningServer
  let dockerConfig: string

  beforeAll(async () => {
    server = await Effect.runPromise(
      RegistryServer.serve().pipe(Scope.extend(scope), Effect.provide(NodeHasher.layer))
    )
    await Effect.runPromise(seedDemoImage(server.host, "team/app").pipe(Effect.provide(embeddedClient())))
    dockerConfig = Fs.mkdtempSync(Path.join(Os.tmpdir(), "ocireg-examples-docker-"))
  })

  afterAll(async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    Fs.rmSync(dockerConfig, { recursive: true, force: true })
  })

  const tsx = (args: ReadonlyArray<string>) =>
    exec("npx", ["tsx", ...args], {
      cwd: root,
      timeout: 60_000,
      // an empty Docker config: the given registry is asked anonymously, whatever this machine has
      env: { ...process.env, DOCKER_CONFIG: dockerConfig, REGISTRY_AUTH_FILE: Path.join(dockerConfig, "auth.json") }
    })

  it("without arguments: its own embedded registry", async () => {
    const { stdout } = await tsx(["examples/listTags.ts"])
    assert.match(stdout, /2 tags: 1\.0, latest/)
  })

  it("with a reference: that registry (credentials from the Docker config)", async () => {
    const { stdout } = await tsx(["examples/imageInspect.ts", `${server.host}/team/app:1.0`, "linux/arm64"])
    assert.match(stdout, new RegExp(`${server.host}/team/app:1\\.0`))
    assert.match(stdout, /linux\/arm64: 1 layer\(s\)/)
  })

  it("a failure is printed as tag and message, with exit code 1", async () => {
    const error = await tsx(["examples/getManifest.ts", `${server.host}/team/app:missing`]).then(
      () => assert.fail("expected a failure"),
      (e: { code: number; stderr: string }) => e
    )
    assert.strictEqual(error.code, 1)
    assert.match(error.stderr, /^NotFound: tag not found/m)
  })
})

// The "Why" programs of issue 16, as an Effect user writes them in @effect/vitest.
effectDescribe("the authErrors example as an @effect/vitest test", () => {
  effectIt.effect("the right credentials list the tags and push", () =>
    Effect.gen(function*() {
      yield* authErrors.seed
      effectAssert.deepStrictEqual(yield* authErrors.tagsThenRetag("registry.test/team/app"), ["latest"])
    }).pipe(Effect.provide(authErrors.environment(authErrors.credentials.right))))

  effectIt.effect("a wrong password is a typed AuthenticationError", () =>
    Effect.gen(function*() {
      yield* authErrors.seed
      const error = yield* Effect.flip(authErrors.tagsThenRetag("registry.test/team/app"))
      effectAssert.strictEqual(error._tag, "AuthenticationError")
      if (error._tag === "AuthenticationError") effectAssert.strictEqual(error.reason, "RejectedCredentials")
    }).pipe(Effect.provide(authErrors.environment(authErrors.credentials.wrongPassword))))

  effectIt.effect("pull-only credentials cannot push: a typed AuthorizationError", () =>
    Effect.gen(function*() {
      yield* authErrors.seed
      const error = yield* Effect.flip(authErrors.tagsThenRetag("registry.test/team/app"))
      effectAssert.strictEqual(error._tag, "AuthorizationError")
    }).pipe(Effect.provide(authErrors.environment(authErrors.credentials.pullOnly))))

  effectIt.effect("copyIndex: the progress service sees every blob start and finish", () =>
    Effect.gen(function*() {
      const registries = yield* RegistryTest.TestRegistries
      RegistryTest.seedImageInto(registries.get("src.test")!, {
        repository: "team/app",
        tags: ["1.0"],
        platforms: ["linux/amd64", "linux/arm64"]
      })
      const { copied, summary } = yield* copyIndex.copyIndex
      effectAssert.strictEqual(copied.blobs.uploaded, 4)
      effectAssert.strictEqual(summary.started, 4)
      effectAssert.strictEqual(summary.finished, 4)
      effectAssert.isAtMost(summary.maxInFlight, 3)
    }).pipe(Effect.provide(copyIndex.countingProgress), Effect.provide(copyIndex.twoRegistries)))
})
