/**
 * `npm ci` installs what package-lock.json records, not what the workspaces' package.json files
 * say: a lock file that disagrees (issue 14: it named the bin `dist/bin.js` while the package said
 * `./dist/ocireg.mjs`) silently breaks `npx ocireg` for every fresh clone. These tests compare the
 * lock's workspace entries with the package.json files (name, version, bin, dependency ranges,
 * engines, the workspace links), check that every locked dependency satisfies its range, and that
 * each bin is a committed file (npm links only files that exist at install time, before any build).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "vitest"
import { root } from "./firstContact.js"

type Json = Record<string, any>

const readJson = (file: string): Json => JSON.parse(fs.readFileSync(path.join(root, file), "utf8"))

const dependencyFields = ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"] as const

/** `bin` as npm records it in the lock: an object, paths without `./`. */
const normalizeBin = (manifest: Json): Record<string, string> | undefined => {
  const bin = manifest.bin
  if (bin === undefined) return undefined
  const entries: Record<string, string> = typeof bin === "string"
    ? { [String(manifest.name).replace(/^@[^/]+\//, "")]: bin }
    : bin
  return Object.fromEntries(Object.entries(entries).map(([name, file]) => [name, path.posix.normalize(file)]))
}

/** A value as JSON with object keys sorted (npm sorts them in the lock); empty objects count as absent. */
const canonical = (value: unknown): string | undefined => {
  if (value === undefined) return undefined
  if (Array.isArray(value) || value === null || typeof value !== "object") return JSON.stringify(value)
  const keys = Object.keys(value).sort()
  return keys.length === 0
    ? undefined
    : `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Json)[k])}`).join(",")}}`
}

/** The version `range` is satisfied by `version` (exact, `^`, `~`, `>=`: the forms this repository uses). */
export const satisfies = (version: string, range: string): boolean => {
  const parse = (v: string) => v.split("-")[0]!.split(".").map(Number)
  const [major, minor, patch] = parse(version) as [number, number, number]
  const match = /^(\^|~|>=)?(\d+)\.(\d+)\.(\d+)$/.exec(range.trim())
  if (match === null) throw new Error(`range form not handled by this test: ${range}`)
  const [, op, a, b, c] = match
  const want = [Number(a), Number(b), Number(c)] as const
  const cmp = major - want[0] || minor - want[1] || patch - want[2]
  switch (op) {
    case undefined:
      return cmp === 0 && !version.includes("-")
    case ">=":
      return cmp >= 0
    case "~":
      return cmp >= 0 && major === want[0] && minor === want[1]
    default: // ^: the left-most non-zero part is fixed
      return cmp >= 0 && (want[0] !== 0
        ? major === want[0]
        : want[1] !== 0
        ? major === 0 && minor === want[1]
        : major === 0 && minor === 0 && patch === want[2])
  }
}

/** Every way `lock` disagrees with the root package.json and the workspaces' package.json files. */
export const lockMismatches = (lock: Json, rootManifest: Json, workspaces: Record<string, Json>): Array<string> => {
  const problems: Array<string> = []
  const packages: Json = lock.packages ?? {}
  const compare = (where: string, field: string, locked: unknown, declared: unknown) => {
    if (canonical(locked) !== canonical(declared)) {
      problems.push(`${where} ${field}: lock ${JSON.stringify(locked)}, package.json ${JSON.stringify(declared)}`)
    }
  }
  const entries: Array<[string, Json]> = [["", rootManifest], ...Object.entries(workspaces)]
  for (const [dir, manifest] of entries) {
    const locked: Json | undefined = packages[dir]
    const where = dir === "" ? "root" : dir
    if (locked === undefined) {
      problems.push(`${where}: no entry in package-lock.json`)
      continue
    }
    for (const field of ["name", "version"] as const) {
      if (dir !== "" || manifest[field] !== undefined) compare(where, field, locked[field], manifest[field])
    }
    compare(where, "bin", locked.bin, normalizeBin(manifest))
    compare(where, "engines", locked.engines, manifest.engines)
    if (dir === "") compare(where, "workspaces", locked.workspaces, manifest.workspaces)
    for (const field of dependencyFields) {
      compare(where, field, locked[field], manifest[field])
      for (const [name, range] of Object.entries<string>(manifest[field] ?? {})) {
        if (field === "peerDependencies" && manifest.peerDependenciesMeta?.[name]?.optional) continue
        const installed: Json | undefined = packages[`${dir === "" ? "" : `${dir}/`}node_modules/${name}`] ??
          packages[`node_modules/${name}`]
        if (installed === undefined) {
          problems.push(`${where} ${field}: ${name} is not in the lock`)
        } else if (installed.link === true) {
          const target = packages[installed.resolved]
          if (target?.version === undefined || !satisfies(target.version, range)) {
            problems.push(`${where} ${field}: ${name}@${range} links to ${installed.resolved} ${target?.version}`)
          }
        } else if (!satisfies(installed.version, range)) {
          problems.push(`${where} ${field}: ${name}@${range} is locked at ${installed.version}`)
        }
      }
    }
    if (dir !== "") {
      const link = packages[`node_modules/${manifest.name}`]
      if (link?.link !== true || link.resolved !== dir) {
        problems.push(`${where}: node_modules/${manifest.name} is not a link to ${dir} in the lock`)
      }
    }
  }
  return problems
}

const rootManifest = readJson("package.json")
const workspaces: Record<string, Json> = Object.fromEntries(
  (rootManifest.workspaces as Array<string>).map((dir) => [dir, readJson(path.join(dir, "package.json"))])
)
const lock = readJson("package-lock.json")

describe("package-lock.json", () => {
  it("agrees with every workspace's package.json: names, versions, bins, dependencies, links", () => {
    assert.deepStrictEqual(lockMismatches(lock, rootManifest, workspaces), [])
  })

  it("the comparison catches the disagreements that broke npx ocireg (bin, version, dependency)", () => {
    const stale = structuredClone(lock)
    stale.packages["packages/platform-node"].bin = { ocireg: "dist/bin.js" }
    stale.packages["packages/core"].version = "0.0.9"
    delete stale.packages["packages/platform-node"].dependencies.yaml
    stale.packages["node_modules/undici"].version = "6.0.0"
    const problems = lockMismatches(stale, rootManifest, workspaces)
    assert.isTrue(problems.some((p) => p.startsWith("packages/platform-node bin")), problems.join("\n"))
    assert.isTrue(problems.some((p) => p.startsWith("packages/core version")), problems.join("\n"))
    assert.isTrue(problems.some((p) => p.includes("@ocireg/core@0.1.0 links to packages/core 0.0.9")))
    assert.isTrue(problems.some((p) => p.startsWith("packages/platform-node dependencies: lock")))
    assert.isTrue(problems.some((p) => p.includes("undici@^7.30.2 is locked at 6.0.0")), problems.join("\n"))
  })

  it("reads version ranges as npm does for the forms used here", () => {
    assert.isTrue(satisfies("7.30.2", "^7.30.2"))
    assert.isFalse(satisfies("8.0.0", "^7.30.2"))
    assert.isTrue(satisfies("0.97.9", "^0.97.2"))
    assert.isFalse(satisfies("0.98.0", "^0.97.2"))
    assert.isTrue(satisfies("0.1.0", "0.1.0"))
    assert.isFalse(satisfies("0.1.1", "0.1.0"))
    assert.isTrue(satisfies("20.19.43", ">=20.0.0"))
  })

  it("every bin is a file of the repository, not a build output, so npm ci can link it", () => {
    for (const [dir, manifest] of Object.entries(workspaces)) {
      for (const [name, file] of Object.entries(normalizeBin(manifest) ?? {})) {
        assert.isFalse(file.startsWith("dist/"), `${dir}: bin ${name} is a build output (${file})`)
        assert.isTrue(fs.existsSync(path.join(root, dir, file)), `${dir}: bin ${name} (${file}) is missing`)
        const files: Array<string> = manifest.files ?? []
        assert.isTrue(files.some((f) => file === f || file.startsWith(`${f}/`)), `${dir}: ${file} is not in files`)
        assert.match(fs.readFileSync(path.join(root, dir, file), "utf8"), /^#!\/usr\/bin\/env node\n/)
      }
    }
  })
})
