/**
 * The packages as users get them: `npm pack` of each workspace package, installed with the peer
 * dependencies into a fresh ESM project outside the workspace (so nothing resolves through the
 * monorepo's `node_modules`). The project imports the packages at run time, type-checks a consumer
 * with `moduleResolution: NodeNext`, and runs the `ocireg` bin; the tarballs are checked for what
 * they hold and for what their `package.json` declares.
 *
 * Needs a build (`npm test` builds first). Installs prefer the npm cache, and pin the peers to the
 * versions the workspace has installed, so the run is quick and does not follow the registry.
 */
import { assert, describe, it } from "@effect/vitest"
import * as childProcess from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll } from "vitest"

const root = fileURLToPath(new URL("../../../", import.meta.url))
const packages = ["core", "platform-node", "platform-browser"] as const
type PackageDir = (typeof packages)[number]

/** Peers installed next to the tarballs, at the versions the workspace tests with. */
const peers = ["effect", "@effect/platform", "@effect/platform-node", "@effect/platform-browser", "@types/node"]

interface Manifest {
  readonly name: string
  readonly version: string
  readonly main?: string
  readonly types?: string
  readonly bin?: Record<string, string>
  readonly exports?: Record<string, unknown>
  readonly dependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly optionalDependencies?: Record<string, string>
}

interface Packed {
  readonly dir: PackageDir
  readonly tarball: string
  readonly files: ReadonlyArray<string>
}

interface Run {
  readonly stdout: string
  readonly stderr: string
}

/**
 * The environment for child `npm`s: without the `npm_*` variables of the `npm test` that started
 * vitest (`npm_config_local_prefix` would point them back at the workspace), but keeping where the
 * cache, the user configuration and the registry are.
 */
const childEnv = (): NodeJS.ProcessEnv => {
  const keep = new Set([
    "npm_config_cache",
    "npm_config_userconfig",
    "npm_config_globalconfig",
    "npm_config_registry",
    "npm_config_cafile",
    "npm_config_proxy",
    "npm_config_https_proxy",
    "npm_config_noproxy"
  ])
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.toLowerCase().startsWith("npm_") || keep.has(key.toLowerCase())) env[key] = value
  }
  return env
}

const run = (command: string, args: ReadonlyArray<string>, cwd: string): Promise<Run> =>
  new Promise((resolve, reject) => {
    childProcess.execFile(
      command,
      args,
      { cwd, env: childEnv(), maxBuffer: 64 * 1024 * 1024, timeout: 50_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${command} ${args.join(" ")} failed in ${cwd}\n${stdout}\n${stderr}`))
        else resolve({ stdout, stderr })
      }
    )
  })

const readJson = async <A>(file: string): Promise<A> => JSON.parse(await fs.readFile(file, "utf8")) as A

const exists = (file: string) => fs.access(file).then(() => true, () => false)

/** Every file under `dir`, as paths relative to it with `/` separators. */
const walk = async (dir: string): Promise<Array<string>> => {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"))
}

/** The public modules of a package: `src/*.ts` (not `internal/`), without the extension. */
const publicModules = async (dir: PackageDir) =>
  (await fs.readdir(path.join(root, "packages", dir, "src")))
    .filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts"))
    .map((name) => name.slice(0, -3))

/** Bare module specifiers imported by a `.js` or `.d.ts` file (comments, and the examples in them, left out). */
const bareImports = (text: string): Array<string> => {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "")
  const specifiers = new Set<string>()
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)["']([@\w][\w.@/:-]*)["']/g
  for (const match of code.matchAll(pattern)) {
    const specifier = match[1]!
    if (specifier.startsWith(".") || specifier.startsWith("/")) continue
    specifiers.add(specifier)
  }
  return [...specifiers]
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
const packageName = (specifier: string) => specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/")

const smokeScript = `
import * as Core from "@ocireg/core"
import * as BlobSource from "@ocireg/core/BlobSource"
import * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Reference from "@ocireg/core/Reference"
import * as Registry from "@ocireg/core/Registry"
import * as PlatformBrowser from "@ocireg/platform-browser"
import * as PlatformNode from "@ocireg/platform-node"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as RegistryServer from "@ocireg/platform-node/RegistryServer"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

const bytes = (text) => new TextEncoder().encode(text)

const program = Effect.gen(function*() {
  const server = yield* RegistryServer.serve()
  const repository = server.host + "/pack/check"
  const blob = yield* BlobSource.fromBytes(bytes("hello from a packed ocireg\\n"))
  const layer = yield* Registry.uploadBlob(repository, blob)
  const config = yield* Registry.uploadBlob(repository, yield* BlobSource.fromBytes(bytes("{}")))
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.empty.v1+json", digest: config.digest, size: config.size },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: layer.digest, size: layer.size }]
  }
  const reference = Reference.format(yield* Reference.parseEffect(repository + ":v1"))
  yield* Registry.putManifest(reference, { bytes: bytes(JSON.stringify(manifest)), mediaType: manifest.mediaType })
  const pages = yield* Stream.runCollect(Registry.listTags(repository))
  return {
    uploaded: layer.outcome,
    tags: Chunk.toReadonlyArray(pages).flatMap((page) => page.tags),
    barrels: [Object.keys(Core), Object.keys(PlatformNode), Object.keys(PlatformBrowser)]
  }
}).pipe(
  Effect.scoped,
  Effect.provide(NodeRegistry.layer().pipe(Layer.provide(CredentialStore.layerAnonymous)))
)

let internal = "importable"
await import("@ocireg/core/internal/http").catch((error) => {
  internal = error.code
})
console.log(JSON.stringify({ ...(await Effect.runPromise(program)), internal }))
`

/** A Node consumer: no DOM lib, strict, every `.d.ts` checked (`skipLibCheck: false`). */
const nodeConsumer = `
import * as Core from "@ocireg/core"
import * as Reference from "@ocireg/core/Reference"
import * as Registry from "@ocireg/core/Registry"
import type * as RegistryClient from "@ocireg/core/RegistryClient"
import type * as RegistryError from "@ocireg/core/RegistryError"
import * as NodePromise from "@ocireg/platform-node/NodePromise"
import * as NodeRegistry from "@ocireg/platform-node/NodeRegistry"
import * as RegistryServer from "@ocireg/platform-node/RegistryServer"
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type * as Stream from "effect/Stream"

export const parsed: Either.Either<Reference.Reference, RegistryError.InvalidReference> = Reference.parse("alpine")
export const tags: Stream.Stream<Registry.TagsPage, RegistryError.RegistryError, RegistryClient.RegistryClient> =
  Registry.listTags("localhost:5000/app")
export const barrel: typeof Registry.listTags = Core.Registry.listTags
export const url = RegistryServer.serve().pipe(Effect.map((server) => server.url satisfies string))
export const layer = NodeRegistry.layer()
export const client = (): Promise<ReadonlyArray<string>> => NodePromise.createClient().listTags("alpine")

// @ts-expect-error a number is not a reference: the types are real, not \`any\`
Reference.parse(42)
`

/** A browser consumer: DOM lib, no Node types. */
const browserConsumer = `
import * as Reference from "@ocireg/core/Reference"
import * as BrowserRegistry from "@ocireg/platform-browser/BrowserRegistry"

export const layer = BrowserRegistry.layer()
export const ref = Reference.parse("alpine").pipe(
  (either) => either._tag === "Right" ? Reference.format(either.right) : ""
)
`

const tsconfig = (file: string, lib: ReadonlyArray<string>, types: ReadonlyArray<string>) =>
  JSON.stringify({
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      lib,
      types,
      strict: true,
      exactOptionalPropertyTypes: true,
      noEmit: true,
      skipLibCheck: false
    },
    files: [file]
  })

describe("npm pack", () => {
  let temp = ""
  let project = ""
  const packed = new Map<PackageDir, Packed>()
  const manifests = new Map<PackageDir, Manifest>()

  beforeAll(async () => {
    for (const dir of packages) {
      const built = await exists(path.join(root, "packages", dir, "dist", "index.js"))
      assert.isTrue(built, `packages/${dir}/dist is missing: run \`npm run build\` first`)
    }
    temp = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), "ocireg-pack-")))
    assert.isFalse(
      temp.startsWith(path.resolve(root)),
      "the temporary project must be outside the workspace, or its node_modules would leak in"
    )
    const tarballs = path.join(temp, "tarballs")
    project = path.join(temp, "project")
    await fs.mkdir(tarballs)
    await fs.mkdir(project)

    await Promise.all(packages.map(async (dir) => {
      const { stdout } = await run(
        "npm",
        ["pack", "--json", "--pack-destination", tarballs],
        path.join(root, "packages", dir)
      )
      const [info] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
      packed.set(dir, {
        dir,
        tarball: path.join(tarballs, info!.filename),
        files: info!.files.map((file) => file.path)
      })
    }))

    const version = async (name: string) =>
      (await readJson<Manifest>(path.join(root, "node_modules", name, "package.json"))).version
    await fs.writeFile(
      path.join(project, "package.json"),
      JSON.stringify({ name: "ocireg-pack-check", private: true, type: "module" }, null, 2)
    )
    await run("npm", [
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      ...packages.map((dir) => packed.get(dir)!.tarball),
      ...(await Promise.all(peers.map(async (name) => `${name}@${await version(name)}`)))
    ], project)

    for (const dir of packages) {
      manifests.set(
        dir,
        await readJson<Manifest>(path.join(project, "node_modules", "@ocireg", dir, "package.json"))
      )
    }
  }, 55_000)

  afterAll(async () => {
    if (temp !== "") await fs.rm(temp, { recursive: true, force: true })
  })

  it("each tarball holds the built modules, their types and sources, and no tests", async () => {
    for (const dir of packages) {
      const { files } = packed.get(dir)!
      const has = new Set(files)
      for (const module of await publicModules(dir)) {
        assert.isTrue(has.has(`dist/${module}.js`), `${dir}: dist/${module}.js`)
        assert.isTrue(has.has(`dist/${module}.d.ts`), `${dir}: dist/${module}.d.ts`)
      }
      // no stale build output: every shipped module has its source (which the source maps point at)
      const stale = files.filter((file) => /^dist\/.*\.js$/.test(file) && !has.has(`src/${file.slice(5, -3)}.ts`))
      assert.deepStrictEqual(stale, [], `${dir}: dist files without a source (a stale build?)`)
      const unwanted = files.filter((file) =>
        /(^|\/)(test|test-e2e|node_modules|docs)\//.test(file) || file.endsWith(".tsbuildinfo") ||
        /\.test\.[cm]?[jt]s$/.test(file)
      )
      assert.deepStrictEqual(unwanted, [], `${dir}: files that should not be published`)
    }
  })

  it("each package.json points at files it ships and declares publishable dependencies", async () => {
    const coreVersion = manifests.get("core")!.version
    for (const dir of packages) {
      const manifest = manifests.get(dir)!
      const installed = path.join(project, "node_modules", "@ocireg", dir)
      const specs = {
        ...manifest.dependencies,
        ...manifest.peerDependencies,
        ...manifest.optionalDependencies
      }
      for (const [name, spec] of Object.entries(specs)) {
        assert.notMatch(
          spec,
          /^(workspace|file|link|portal|git\+?[a-z]*|github):|^\.{0,2}\//,
          `${dir}: ${name}@${spec}`
        )
      }
      for (const peer of ["effect", "@effect/platform"]) {
        assert.property(manifest.peerDependencies ?? {}, peer, `${dir}: ${peer} is a peer dependency`)
      }
      for (const peer of Object.keys(manifest.peerDependencies ?? {})) {
        assert.notProperty(manifest.dependencies ?? {}, peer, `${dir}: ${peer} is both a dependency and a peer`)
      }
      if (dir !== "core") {
        const spec = manifest.dependencies?.["@ocireg/core"]
        assert.include([coreVersion, `^${coreVersion}`, `~${coreVersion}`], spec, `${dir}: @ocireg/core@${spec}`)
      }
      if (dir === "platform-node") {
        assert.property(manifest.peerDependencies ?? {}, "@effect/platform-node")
      }
      const targets = [manifest.main, manifest.types, ...Object.values(manifest.bin ?? {})]
      for (const entry of Object.values(manifest.exports ?? {})) {
        if (entry !== null && typeof entry === "object") targets.push(...Object.values(entry as Record<string, string>))
      }
      for (const target of targets) {
        if (target === undefined || target.includes("*")) continue
        assert.isTrue(await exists(path.join(installed, target)), `${dir}: ${target} is in the package`)
      }

      // every bare import of the shipped code is declared (a peer, a dependency, or Node's own)
      const declared = new Set([manifest.name, ...Object.keys(specs)])
      const undeclared = new Set<string>()
      const workspacePaths: Array<string> = []
      for (const file of await walk(installed)) {
        if (!/\.(js|d\.ts)$/.test(file) || file.startsWith("node_modules/")) continue
        const text = await fs.readFile(path.join(installed, file), "utf8")
        if (text.includes(root) || text.includes(path.resolve(root))) workspacePaths.push(file)
        if (!file.startsWith("dist/")) continue
        for (const specifier of bareImports(text)) {
          if (specifier.startsWith("node:")) continue
          if (!declared.has(packageName(specifier))) undeclared.add(`${file}: ${specifier}`)
        }
      }
      assert.deepStrictEqual([...undeclared], [], `${dir}: imports of packages it does not declare`)
      assert.deepStrictEqual(workspacePaths, [], `${dir}: files that name the workspace's path`)
    }
  })

  it("runs as ESM in a fresh project: serve the test registry, push, list tags", async () => {
    await fs.writeFile(path.join(project, "smoke.mjs"), smokeScript)
    const { stdout } = await run(process.execPath, ["smoke.mjs"], project)
    const result = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
      uploaded: string
      tags: Array<string>
      barrels: Array<Array<string>>
      internal: string
    }
    assert.strictEqual(result.uploaded, "uploaded")
    assert.deepStrictEqual(result.tags, ["v1"])
    assert.includeMembers(result.barrels[0]!, ["Reference", "Registry", "RegistryClient", "RegistryTest"])
    assert.includeMembers(result.barrels[1]!, ["NodeRegistry", "RegistryServer", "DockerCredentialStore"])
    assert.includeMembers(result.barrels[2]!, ["BrowserRegistry"])
    assert.strictEqual(result.internal, "ERR_PACKAGE_PATH_NOT_EXPORTED")
  })

  it("types resolve for TypeScript consumers (moduleResolution NodeNext)", async () => {
    const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc")
    await fs.writeFile(path.join(project, "node-consumer.ts"), nodeConsumer)
    await fs.writeFile(path.join(project, "browser-consumer.ts"), browserConsumer)
    await fs.writeFile(path.join(project, "tsconfig.node.json"), tsconfig("node-consumer.ts", ["ES2022"], ["node"]))
    await fs.writeFile(
      path.join(project, "tsconfig.browser.json"),
      tsconfig("browser-consumer.ts", ["ES2022", "DOM", "DOM.Iterable"], [])
    )
    await Promise.all([
      run(process.execPath, [tsc, "-p", "tsconfig.node.json"], project),
      run(process.execPath, [tsc, "-p", "tsconfig.browser.json"], project)
    ])
  })

  it("the ocireg bin runs from the installed package", async () => {
    const { stdout } = await run("npx", ["--no", "--", "ocireg", "--version"], project)
    assert.strictEqual(stdout.trim(), manifests.get("platform-node")!.version)
  })
})
