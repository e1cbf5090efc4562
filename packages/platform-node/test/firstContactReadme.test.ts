/**
 * The README's CLI lines run as written (issue 14), from the repository root, through `npx ocireg`
 * (the link `npm ci` makes), against an embedded registry started by the README's own
 * `npx ocireg registry serve` line. Lines that name remote registries (`ghcr.io`,
 * `registry.example`, Docker Hub's `alpine`) have their host rewritten to the embedded one, which
 * is seeded first with those images; `localhost:5000` becomes its free port and `./app-layout` a
 * temporary directory. A line this test cannot map fails the test, so a new README line needs a
 * mapping here, or a reason. Also checks the "two commands" blocks that `scripts/fresh-clone.sh`
 * runs.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { freePort, type GeneratedImage, generateOciLayout } from "../../../test-support/index.js"
import { ocireg, readmeBlocks, root, serve, type Served, shell } from "./firstContact.js"

const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
const version = JSON.parse(fs.readFileSync(path.join(root, "packages", "platform-node", "package.json"), "utf8"))
  .version as string

let work: string
let port: number
let host: string
let served: Served
let app: GeneratedImage
let alpine: GeneratedImage
let env: Record<string, string>

/** A README line with the hosts and paths of this test. */
const rewrite = (line: string): string => {
  const rewritten = line
    .replaceAll("ghcr.io/", `${host}/`)
    .replace(/\blogin ghcr\.io\b/, `login ${host}`)
    .replaceAll("registry.example/", `${host}/example/`)
    .replaceAll("localhost:5000", host)
    .replaceAll("--port 5000", `--port ${port}`)
    .replace(/ alpine:3\b/, ` ${host}/library/alpine:3`)
    .replaceAll("./app-layout", path.join(work, "app-layout"))
  if (/ghcr\.io|registry\.example|localhost:|:5000|(?<!\/)\balpine\b|\.\/app-layout/.test(rewritten)) {
    throw new Error(`no mapping for a README line: ${line}`)
  }
  return rewritten
}

const cliLines = (): Array<string> => {
  const blocks = readmeBlocks(readme, "The CLI")
  assert.strictEqual(blocks.length, 1, "one sh block under ## The CLI")
  return blocks[0]!
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "ocireg-readme-"))
  port = await freePort()
  host = `127.0.0.1:${port}`
  // `login` hands the secret to the credential helper config.json names: a tiny one that keeps it in a file
  const helpers = path.join(work, "helpers")
  fs.mkdirSync(helpers)
  fs.writeFileSync(
    path.join(helpers, "docker-credential-readme"),
    "#!/bin/sh\n" +
      "case \"$1\" in\n" +
      "  store) cat > \"$HELPER_FILE\" ;;\n" +
      "  get) cat \"$HELPER_FILE\" 2>/dev/null || { echo \"credentials not found in native keychain\"; exit 1; } ;;\n" +
      "  erase) rm -f \"$HELPER_FILE\" ;;\n" +
      "  list) echo \"{}\" ;;\n" +
      "esac\n",
    { mode: 0o755 }
  )
  fs.mkdirSync(path.join(work, ".docker"))
  fs.writeFileSync(path.join(work, ".docker", "config.json"), JSON.stringify({ credsStore: "readme" }))
  env = {
    HOME: work,
    DOCKER_CONFIG: path.join(work, ".docker"),
    PATH: `${helpers}${path.delimiter}${process.env.PATH}`,
    HELPER_FILE: path.join(work, "helper.json"),
    TOKEN: "readme-token"
  }
  const serveLine = cliLines().find((line) => line.includes("registry serve"))
  assert.isDefined(serveLine, "the README shows ocireg registry serve")
  served = await serve({ line: rewrite(serveLine!), port })
  app = await generateOciLayout(path.join(work, "seed-app"), {
    platforms: ["linux/amd64", "linux/arm64"],
    layers: 1,
    layerSize: 2048,
    tag: "1"
  })
  alpine = await generateOciLayout(path.join(work, "seed-alpine"), {
    platforms: ["linux/amd64", "linux/arm64"],
    layers: 1,
    layerSize: 2048,
    tag: "3"
  })
  for (const [image, target] of [[app, `${host}/owner/app:1`], [alpine, `${host}/library/alpine:3`]] as const) {
    const pushed = await ocireg(["push", `${image.dir}:${image.tag}`, target])
    if (pushed.code !== 0) throw new Error(`seeding ${target}: ${pushed.stderr}`)
  }
}, 180_000)

afterAll(async () => {
  await served?.stop()
  if (work) fs.rmSync(work, { recursive: true, force: true })
})

const digestOf = async (reference: string) => {
  const run = await ocireg(["digest", reference])
  assert.strictEqual(run.code, 0, run.stderr)
  return run.stdout.trim()
}

describe("README: The CLI", () => {
  it("every line runs as written (hosts rewritten to the embedded registry) and does what it says", async () => {
    const lines = cliLines().filter((line) => !line.includes("registry serve"))
    assert.isAtLeast(lines.length, 6)
    for (const line of lines) {
      const run = await shell(rewrite(line), env)
      assert.strictEqual(run.code, 0, `${line}\n${run.stdout}${run.stderr}`)
      const words = line.split(/\s+/)
      if (words.includes("--version")) assert.strictEqual(run.stdout.trim(), version)
      else if (words.includes("tags")) assert.include(run.stdout.split("\n"), "1", line)
      else if (words.includes("inspect")) {
        assert.include(
          run.stdout,
          alpine.manifests.find((m) => m.platform?.architecture === "arm64")!.descriptor.digest
        )
      } else if (words.includes("copy")) assert.strictEqual(await digestOf(`${host}/example/app:1`), app.root.digest)
      else if (words.includes("pull")) {
        const index = JSON.parse(fs.readFileSync(path.join(work, "app-layout", "index.json"), "utf8"))
        assert.strictEqual(index.manifests[0].digest, app.root.digest)
      } else if (words.includes("push")) assert.strictEqual(await digestOf(`${host}/app:1`), app.root.digest)
      else if (words.includes("login")) {
        assert.include(run.stdout, `logged in to ${host}`)
        const stored = JSON.parse(fs.readFileSync(env.HELPER_FILE!, "utf8"))
        assert.deepInclude(stored, { Username: "me", Secret: "readme-token" })
        assert.notInclude(run.stdout + run.stderr, "readme-token", "the secret is never printed")
      } else assert.fail(`no check for the README line: ${line}`)
    }
  }, 300_000)

  it("ocireg registry serve (the README's line) answers on the port it was given", async () => {
    const ping = await ocireg(["ping", host])
    assert.strictEqual(ping.code, 0, ping.stderr)
  })
})

describe("README: The two commands", () => {
  it("a set-up + main-job block and a set-up + tests block, sharing the set-up (what fresh-clone.sh runs)", () => {
    const blocks = readmeBlocks(readme, "The two commands")
    assert.strictEqual(blocks.length, 2)
    const [main, tests] = blocks.map((lines) => {
      assert.strictEqual(lines.length, 1)
      return lines[0]!.split(" && ")
    })
    assert.deepStrictEqual(main, ["npm run setup", "npm run demo"])
    assert.deepStrictEqual(tests, ["npm run setup", "npm test"])
    const scripts = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).scripts
    for (const name of ["setup", "demo", "test"]) assert.isString(scripts[name], `npm run ${name} exists`)
  })
})
