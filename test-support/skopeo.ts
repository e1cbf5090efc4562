/**
 * `skopeo` (1.9) helpers: copy images between transports, seed a registry with a generated OCI
 * layout (digests preserved), inspect. TLS verification is always off (the registries are plain
 * HTTP on loopback) and the signature policy is bypassed (`--insecure-policy`).
 *
 * skopeo 1.9's `oci:` transport reads only OCI media types; for Docker media types use `dir:`.
 */
import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { CommandError, exec, type HarnessError, toHarnessError } from "./exec.js"
import { type GeneratedImage, generateOciLayout, type ImageSpec } from "./images.js"

/** `user:password`, or an object. */
export type Creds = string | { readonly username: string; readonly password: string }

const credsArg = (c: Creds): string => (typeof c === "string" ? c : `${c.username}:${c.password}`)

/** Options of `skopeoCopy`. */
export interface SkopeoCopyOptions {
  readonly srcCreds?: Creds
  readonly destCreds?: Creds
  /** `--all`: copy every image of an index / manifest list. */
  readonly all?: boolean
  /** `--preserve-digests`: fail rather than change a manifest (keeps uncompressed layers uncompressed). */
  readonly preserveDigests?: boolean
  /** `--format`: the destination manifest type. */
  readonly format?: "oci" | "v2s2" | "v2s1"
  /** Extra arguments placed before the references. */
  readonly extraArgs?: ReadonlyArray<string>
  readonly timeoutMs?: number
}

/** A failed skopeo run; `stderr` holds skopeo's error output (credentials are redacted from the message). */
export class SkopeoError extends Error {
  constructor(
    readonly args: ReadonlyArray<string>,
    readonly stderr: string,
    readonly exitCode: number | null,
    cause: unknown
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause })
    this.name = "SkopeoError"
  }
}

const isDocker = (ref: string) => ref.startsWith("docker://")

const run = async (args: ReadonlyArray<string>, timeoutMs?: number) => {
  try {
    return await exec("skopeo", args, timeoutMs !== undefined ? { timeoutMs } : {})
  } catch (e) {
    if (e instanceof CommandError) throw new SkopeoError(args, e.stderr, e.exitCode, e)
    throw e
  }
}

/**
 * `skopeo copy` with TLS verification off on both sides. Without creds a `docker://` side is
 * accessed anonymously (`--*-no-creds`), so the user's auth files are never read.
 */
export const skopeoCopy = async (
  src: string,
  dst: string,
  options: SkopeoCopyOptions = {}
): Promise<{ readonly stderr: string; readonly stdout: string }> => {
  const args = ["--insecure-policy", "copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false"]
  if (options.srcCreds !== undefined) args.push("--src-creds", credsArg(options.srcCreds))
  else if (isDocker(src)) args.push("--src-no-creds")
  if (options.destCreds !== undefined) args.push("--dest-creds", credsArg(options.destCreds))
  else if (isDocker(dst)) args.push("--dest-no-creds")
  if (options.all) args.push("--all")
  if (options.preserveDigests) args.push("--preserve-digests")
  if (options.format !== undefined) args.push("--format", options.format)
  if (options.extraArgs) args.push(...options.extraArgs)
  args.push(src, dst)
  return run(args, options.timeoutMs)
}

/** Options of `skopeoInspect`. */
export interface SkopeoInspectOptions {
  /** `--raw`: the manifest bytes as the registry serves them. */
  readonly raw?: boolean
  readonly creds?: Creds
}

/**
 * `skopeo inspect` (TLS verification off). Returns stdout and, when it is JSON, the parsed value
 * (with `raw` the stdout is the exact manifest, suitable for hashing).
 */
export const skopeoInspect = async (
  ref: string,
  options: SkopeoInspectOptions = {}
): Promise<{ readonly stdout: string; readonly json: unknown }> => {
  const args = ["--insecure-policy", "inspect", "--tls-verify=false"]
  if (options.creds !== undefined) args.push("--creds", credsArg(options.creds))
  else if (isDocker(ref)) args.push("--no-creds")
  if (options.raw) args.push("--raw")
  args.push(ref)
  const { stdout } = await run(args)
  let parsed: unknown
  try {
    parsed = JSON.parse(stdout)
  } catch {
    parsed = undefined
  }
  return { stdout, json: parsed }
}

/** Where a seeded image went. */
export interface SeededImage extends GeneratedImage {
  /** `127.0.0.1:PORT/repo:tag` */
  readonly reference: string
  readonly repository: string
}

/**
 * Generates an OCI layout for `spec` (under the registry's temp dir when it has one, so
 * `registry.stop()` cleans it up) and pushes it with
 * `skopeo copy --all --preserve-digests oci:<dir>:<tag> docker://<host>/<repo>:<tag>`.
 * The registry then serves the root (index or manifest) under exactly `root.digest`.
 */
export const seedImage = async (
  registry: { readonly host: string; readonly dir?: string },
  repository: string,
  tag: string,
  spec: Omit<ImageSpec, "tag"> & { readonly tag?: string },
  creds?: Creds
): Promise<SeededImage> => {
  const base = registry.dir !== undefined ? path.join(registry.dir, "seeds") : os.tmpdir()
  await fs.mkdir(base, { recursive: true })
  const dir = path.join(base, `layout-${crypto.randomBytes(6).toString("hex")}`)
  const image = await generateOciLayout(dir, { ...spec, tag })
  const reference = `${registry.host}/${repository}:${tag}`
  await skopeoCopy(`oci:${dir}:${tag}`, `docker://${reference}`, {
    all: true,
    preserveDigests: true,
    ...(creds !== undefined ? { destCreds: creds } : {})
  })
  return { ...image, reference, repository }
}

/** `seedImage` as an Effect. */
export const seedImageEffect = (
  ...args: Parameters<typeof seedImage>
): Effect.Effect<SeededImage, HarnessError> =>
  Effect.tryPromise({ try: () => seedImage(...args), catch: toHarnessError("seedImage") })
