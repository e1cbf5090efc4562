// `npm run bench`: ocireg against the transport limit (curl), the one-core limit (node:http +
// node:crypto), skopeo and the npm registry clients, on real docker-registry processes on
// 127.0.0.1. Every measured client runs as its own process (its peak RSS is its own), each case
// several times with its clients in rotating order; medians are printed as a Markdown table and
// written to bench/results.md.
//
//   node bench/run.mjs [--cases 1,2,3,4,5,6] [--reps 3] [--size-mib 1024] [--auth none|token]
//                      [--tags 10000] [--requests 1000] [--no-npm] [--no-cli] [--out-dir DIR] [--results FILE]
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as img from "./lib/images.mjs"
import { hasGnuTime, measure, run, which } from "./lib/proc.mjs"
import { startRegistry } from "./lib/registry.mjs"
import { fmt, markdownTable, mbps, median } from "./lib/stats.mjs"
import { startTokenServer } from "./lib/tokenServer.mjs"

const benchDir = path.dirname(fileURLToPath(import.meta.url))
const rootDir = path.dirname(benchDir)
const casesDir = path.join(benchDir, "cases")
const cliBin = path.join(rootDir, "packages", "platform-node", "dist", "ocireg.mjs")

// ---------------------------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------------------------

const usage = `usage: node bench/run.mjs [options]
  --cases 1,2,3,4,5,6 which cases (1 pull, 2 push, 3 copy 1 GiB, 4 copy 50 x 1 MiB, 5 tags,
                      6 per-request CPU: sequential HEAD/GET manifest and verified 1 KiB blob GETs)
  --reps N            runs of each client per case (default 3; the median is reported)
  --size-mib N        size of the large layer (default 1024)
  --auth none|token   open registries (default) or token auth through a local token server
  --tags N            tags to list in case 5 (default 10000)
  --requests N        sequential requests of each kind in case 6 (default 1000)
  --no-npm            skip the npm clients (docker-registry-client, @snyk/docker-registry-v2-client)
  --no-cli            skip the ocireg CLI rows
  --out-dir DIR       where pulls write their files (default /dev/shm when there, else the temp dir)
  --results FILE      where the Markdown goes (default bench/results.md)`

const parseOptions = (argv) => {
  const o = {
    cases: [1, 2, 3, 4, 5, 6],
    reps: 3,
    sizeMiB: 1024,
    auth: "none",
    tags: 10000,
    requests: 1000,
    npm: true,
    cli: true,
    outDir: undefined,
    results: path.join(benchDir, "results.md")
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const [name, inline] = arg.includes("=") ? arg.split(/=(.*)/s) : [arg, undefined]
    const value = () => inline ?? argv[++i]
    switch (name) {
      case "--cases":
        o.cases = value().split(",").map((s) => Number(s.trim())).filter((n) => n >= 1 && n <= 6)
        break
      case "--reps":
        o.reps = Math.max(1, Number(value()))
        break
      case "--size-mib":
        o.sizeMiB = Math.max(1, Number(value()))
        break
      case "--auth":
        o.auth = value() === "token" ? "token" : "none"
        break
      case "--tags":
        o.tags = Math.max(1, Number(value()))
        break
      case "--requests":
        o.requests = Math.max(1, Number(value()))
        break
      case "--no-npm":
        o.npm = false
        break
      case "--no-cli":
        o.cli = false
        break
      case "--out-dir":
        o.outDir = value()
        break
      case "--results":
        o.results = path.resolve(value())
        break
      case "--help":
      case "-h":
        console.log(usage)
        process.exit(0)
        break
      default:
        console.error(`unknown option ${arg}\n${usage}`)
        process.exit(2)
    }
  }
  return o
}

const options = parseOptions(process.argv.slice(2))
const sizeLabelOf = (mib) => (mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`)
const wants = (n) => options.cases.includes(n)
const log = (...args) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args)

// ---------------------------------------------------------------------------------------------
// samples and cases
// ---------------------------------------------------------------------------------------------

/**
 * A case: `clients` each with `run(rep)` resolving to a sample `{ seconds, bytes, rssKB, cpuSeconds,
 * tokens }`; `reference` names the client the ratio is taken against (in this case or another).
 */
const cases = []
const addCase = (c) => {
  cases.push({ ...c, clients: c.clients.filter(Boolean).map((k) => ({ ...k, samples: [], errors: [] })) })
}

/** A sample from a node child that printed `{ seconds, bytes, ... }` (time measured in-process). */
const nodeSample = (m, extra = {}) => ({
  seconds: m.json.seconds,
  bytes: m.json.bytes,
  rssKB: m.rssKB,
  cpuSeconds: m.cpuSeconds,
  opCpuSeconds: m.json.opCpuSeconds,
  tokens: m.json.tokens,
  requests: m.json.requests,
  sockets: m.sockets,
  ...extra
})

/** A sample of a whole process (skopeo, the ocireg CLI): its wall time. */
const processSample = (m, bytes) => ({
  seconds: m.wallSeconds,
  bytes,
  rssKB: m.rssKB,
  cpuSeconds: m.cpuSeconds,
  sockets: m.sockets
})

/** A sample from curl `-w "%{time_total} ..."`. */
const curlSample = (m, bytes, extraSeconds = 0) => ({
  seconds: Number(m.stdout.trim().split(/\s+/)[0]) + extraSeconds,
  bytes,
  rssKB: m.rssKB,
  cpuSeconds: m.cpuSeconds
})

/**
 * Measure a node process with `lib/socketReport.mjs` preloaded: the result's `sockets` holds the
 * TCP connections it opened per origin.
 */
const countingSockets = async (args, opts = {}) => {
  const file = path.join(os.tmpdir(), `ocireg-bench-sockets-${process.pid}-${Math.random().toString(36).slice(2)}`)
  const m = await measure(process.execPath, ["--import", path.join(benchDir, "lib", "socketReport.mjs"), ...args], {
    ...opts,
    env: { ...opts.env, OCIREG_BENCH_SOCKETS: file }
  })
  const sockets = await fs.readFile(file, "utf8").then(JSON.parse, () => undefined)
  await fs.rm(file, { force: true })
  return { ...m, sockets }
}
const node = (script, args, opts) => countingSockets([path.join(casesDir, script), ...args], opts)
const cli = (args) => countingSockets([cliBin, "--json", ...args])
const skopeo = (args) =>
  measure("skopeo", [
    "--insecure-policy",
    "copy",
    "--quiet",
    "--src-tls-verify=false",
    "--dest-tls-verify=false",
    "--preserve-digests",
    ...args
  ])
const skopeoNoCreds = (src, dst) => [
  ...(src.startsWith("docker://") ? ["--src-no-creds"] : []),
  ...(dst.startsWith("docker://") ? ["--dest-no-creds"] : []),
  src,
  dst
]

// ---------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------

const cleanups = []
const started = Date.now()
const loadBefore = os.loadavg()

const main = async () => {
  if (!which("docker-registry")) throw new Error("docker-registry is not installed (Debian package docker-registry)")
  const haveCurl = which("curl")
  const haveSkopeo = which("skopeo")
  const size = options.sizeMiB * 1024 * 1024
  const sizeLabel = sizeLabelOf(options.sizeMiB)
  log(`cases ${options.cases.join(",")}, ${options.reps} runs each, layer ${sizeLabel}, auth ${options.auth}`)
  if (!hasGnuTime) log("GNU time (/usr/bin/time, Debian package `time`) missing: RSS from the node children only")

  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "ocireg-bench-"))
  cleanups.push(() => fs.rm(tmp, { recursive: true, force: true }))
  let outDir = options.outDir
  if (outDir === undefined) {
    const shm = await fs.stat("/dev/shm").then((s) => s.isDirectory(), () => false)
    outDir = shm ? await fs.mkdtemp("/dev/shm/ocireg-bench-out-") : path.join(tmp, "out")
  } else {
    outDir = await fs.mkdtemp(path.join(path.resolve(outDir), "ocireg-bench-out-"))
  }
  await fs.mkdir(outDir, { recursive: true })
  cleanups.push(() => fs.rm(outDir, { recursive: true, force: true }))

  // --- registries (and the token server) -----------------------------------------------------
  const tokens = options.auth === "token" ? await startTokenServer() : undefined
  if (tokens) cleanups.push(() => tokens.stop())
  const withAuth = (registry) => ({
    ...registry,
    /** Headers for set-up requests (minted directly, not counted as issued tokens). */
    auth: (repository) => (tokens ? tokens.authFor(repository) : {})
  })
  const A = withAuth(await startRegistry({ name: "a", auth: tokens }))
  cleanups.push(() => A.stop())
  const needB = wants(2) || wants(3) || wants(4)
  const B = needB ? withAuth(await startRegistry({ name: "b", auth: tokens })) : undefined
  if (B) cleanups.push(() => B.stop())
  log(`registry A ${A.host}${B ? `, registry B ${B.host}` : ""}${tokens ? `, token realm ${tokens.realm}` : ""}`)
  const bearer = (registry, repository) => registry.auth(repository).authorization ?? ""
  const curlAuth = (registry, repository) =>
    Object.entries(registry.auth(repository)).flatMap(([k, v]) => ["-H", `${k}: ${v}`])

  // --- data ------------------------------------------------------------------------------------
  let big
  let bigImage
  if (wants(1) || wants(2) || wants(3)) {
    log(`generating the ${sizeLabel} layer`)
    big = await img.generateLargeBlobFile(path.join(tmp, "layer.bin"), size)
    bigImage = img.makeImage([{ mediaType: img.MediaType.layer, digest: big.digest, size: big.size }], "big")
  }
  if (wants(1) || wants(3)) {
    log("seeding A/big:latest")
    await img.uploadFile(A, "big", big)
    await img.pushImage(A, "big", "latest", bigImage)
  }
  let bigDir
  if (wants(2) && haveSkopeo) {
    bigDir = path.join(tmp, "big-dir")
    await img.writeDirLayout(bigDir, bigImage, new Map([[big.digest, big.path]]))
  }
  let small
  if (wants(4)) {
    log("seeding A/small50:latest (50 layers of 1 MiB)")
    const blobs = Array.from({ length: 50 }, () => randomBytes(1024 * 1024))
    const layers = new Array(50)
    await img.forEachConcurrently(blobs, 8, async (bytes, i) => {
      layers[i] = await img.uploadBytes(A, "small50", bytes)
    })
    small = img.makeImage(layers, "small50")
    await img.pushImage(A, "small50", "latest", small)
  }
  if (wants(5)) {
    log(`seeding A/tags with ${options.tags} tags`)
    const t0 = Date.now()
    const layer = await img.uploadBytes(A, "tags", Buffer.from("ocireg bench tags layer\n"))
    const image = img.makeImage([layer], "tags")
    await img.uploadBytes(A, "tags", image.configBytes)
    const names = Array.from({ length: options.tags }, (_, i) => `t${String(i).padStart(5, "0")}`)
    await img.forEachConcurrently(names, 16, (tag) => img.putManifest(A, "tags", tag, image.manifestBytes))
    log(`  ${options.tags} tags in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  }

  let req
  if (wants(6)) {
    log("seeding A/requests:latest (one 1 KiB layer)")
    const layer = await img.uploadBytes(A, "requests", randomBytes(1024))
    const image = img.makeImage([layer], "requests")
    await img.pushImage(A, "requests", "latest", image)
    req = { layer, image }
  }

  // --- npm clients -----------------------------------------------------------------------------
  let deps = { dir: undefined, reason: "skipped (--no-npm)" }
  if (wants(1) && options.npm) deps = await installNpmClients()

  // --- case 1: pull ------------------------------------------------------------------------------
  if (wants(1)) {
    const repo = `${A.host}/big`
    const url = `${A.url}/v2/big/blobs/${big.digest}`
    const out = (name) => path.join(outDir, `${name}.bin`)
    const removeOut = (name) => fs.rm(out(name), { recursive: true, force: true })
    const npmRow = (which, label, target) =>
      deps.dir === undefined
        ? { key: which, label, unavailable: deps.reason }
        : {
          key: which,
          label,
          run: async () => {
            const m = await node("npm-clients.mjs", [
              deps.dir,
              which,
              repo,
              big.digest,
              target === "null" ? "null" : out(which)
            ])
            await removeOut(which)
            return nodeSample(m, { bytes: big.size })
          }
        }
    addCase({
      id: "1a",
      title: `pull ${sizeLabel} layer, verified, to nowhere`,
      reference: "node-http",
      clients: [
        haveCurl && {
          key: "curl",
          label: "curl → /dev/null (transport limit, no hashing)",
          run: async () =>
            curlSample(
              await measure("curl", [
                "-sS",
                "--fail",
                ...curlAuth(A, "big"),
                "-o",
                "/dev/null",
                "-w",
                "%{time_total} %{size_download}\n",
                url
              ]),
              big.size
            )
        },
        {
          key: "node-http",
          label: "node:http + node:crypto sha256 (one-core reference)",
          run: async () => nodeSample(await node("node-http.mjs", ["pull", url, big.digest, "null", bearer(A, "big")]))
        },
        {
          key: "undici",
          label: "undici Pool.request + node:crypto sha256 (the other bare transport)",
          run: async () =>
            nodeSample(await node("node-http.mjs", ["pull-undici", url, big.digest, "null", bearer(A, "big")]))
        },
        {
          key: "ocireg",
          label: "ocireg Registry.getBlob",
          ocireg: true,
          run: async () => nodeSample(await node("ocireg.mjs", ["pull", repo, big.digest, String(big.size), "null"]))
        },
        npmRow("drc", "docker-registry-client 3.4 createBlobReadStream", "null"),
        npmRow("snyk", "@snyk/docker-registry-v2-client 4 downloadLayer → /dev/null (no digest check)", "null")
      ]
    })
    addCase({
      id: "1b",
      title: `pull ${sizeLabel} layer, verified, to a file`,
      reference: "node-http",
      clients: [
        haveCurl && {
          key: "curl",
          label: "curl -o file (no hashing)",
          run: async () => {
            const m = await measure("curl", [
              "-sS",
              "--fail",
              ...curlAuth(A, "big"),
              "-o",
              out("curl"),
              "-w",
              "%{time_total} %{size_download}\n",
              url
            ])
            await removeOut("curl")
            return curlSample(m, big.size)
          }
        },
        {
          key: "node-http",
          label: "node:http + sha256 → file (one-core reference)",
          run: async () => {
            const m = await node("node-http.mjs", ["pull", url, big.digest, out("node-http"), bearer(A, "big")])
            await removeOut("node-http")
            return nodeSample(m)
          }
        },
        {
          key: "ocireg",
          label: "ocireg NodeBlob.downloadBlob (getBlob → temp file, renamed)",
          ocireg: true,
          run: async () => {
            const m = await node("ocireg.mjs", ["pull", repo, big.digest, String(big.size), out("ocireg")])
            await removeOut("ocireg")
            return nodeSample(m)
          }
        },
        options.cli && {
          key: "ocireg-cli",
          label: "ocireg CLI `blob -o` (whole process)",
          run: async () => {
            const m = await cli(["blob", `${repo}@${big.digest}`, "-o", out("ocireg-cli")])
            await removeOut("ocireg-cli")
            return processSample(m, big.size)
          }
        },
        options.cli && {
          key: "ocireg-cli-pull",
          label: "ocireg CLI `pull` → OCI layout (whole image, fsynced, process)",
          run: async () => {
            const dir = path.join(outDir, "ocireg-layout")
            const m = await cli(["pull", `${repo}:latest`, dir])
            await fs.rm(dir, { recursive: true, force: true })
            return processSample(m, big.size)
          }
        },
        haveSkopeo
          ? {
            key: "skopeo",
            label: "skopeo copy docker:// → dir: (whole image, process)",
            run: async () => {
              const dir = path.join(outDir, "skopeo-pull")
              const m = await skopeo(skopeoNoCreds(`docker://${repo}:latest`, `dir:${dir}`))
              await fs.rm(dir, { recursive: true, force: true })
              return processSample(m, big.size)
            }
          }
          : { key: "skopeo", label: "skopeo", unavailable: "skopeo not installed" },
        npmRow("drc", "docker-registry-client 3.4 createBlobReadStream → file", "file"),
        npmRow("snyk", "@snyk/docker-registry-v2-client 4 downloadLayer → file, then sha256 of the file", "file")
      ]
    })
  }

  // --- case 2: push ------------------------------------------------------------------------------
  if (wants(2)) {
    let n = 0
    const fresh = (who) => `push-${who}-${++n}`
    const forget = (repository) => img.deleteRepositoryContent(B, repository, [big.digest, bigImage.config.digest])
    const pushOcireg = (chunk) => async () => {
      const repository = fresh(`ocireg${chunk}`)
      const m = await node("ocireg.mjs", [
        "push",
        `${B.host}/${repository}`,
        big.path,
        big.digest,
        String(big.size),
        String(chunk)
      ])
      await forget(repository)
      if (m.json.outcome !== "uploaded") throw new Error(`ocireg did not upload (${m.json.outcome})`)
      return nodeSample(m)
    }
    const pushNode = (chunk) => async () => {
      const repository = fresh(`node${chunk}`)
      const m = await node("node-http.mjs", [
        "push",
        `${B.url}/v2/${repository}/blobs/uploads/`,
        big.path,
        big.digest,
        String(chunk),
        bearer(B, repository)
      ])
      await forget(repository)
      return nodeSample(m)
    }
    addCase({
      id: "2a",
      title: `push ${sizeLabel} layer, monolithic`,
      reference: "curl",
      clients: [
        haveCurl && {
          key: "curl",
          label: "curl -T (POST + one streamed PUT)",
          run: async () => {
            const repository = fresh("curl")
            const t0 = process.hrtime.bigint()
            const location = await img.startUpload(B, repository)
            const post = Number(process.hrtime.bigint() - t0) / 1e9
            const m = await measure("curl", img.curlUploadArgs(location, big.digest, big.path, B.auth(repository)))
            await forget(repository)
            return curlSample(m, big.size, post)
          }
        },
        {
          key: "node-http",
          label: "node:http POST + PUT piping fs.createReadStream",
          run: pushNode(0)
        },
        {
          key: "ocireg",
          label: "ocireg Registry.uploadBlob + NodeBlobSource.fromFile (default: one streamed PUT)",
          ocireg: true,
          run: pushOcireg(0)
        },
        haveSkopeo
          ? {
            key: "skopeo",
            label: "skopeo copy dir: → docker:// (whole image, process)",
            run: async () => {
              const repository = fresh("skopeo")
              const m = await skopeo(skopeoNoCreds(`dir:${bigDir}`, `docker://${B.host}/${repository}:latest`))
              await img.deleteRepositoryContent(B, repository, [big.digest, bigImage.config.digest], bigImage.digest)
              return processSample(m, big.size)
            }
          }
          : { key: "skopeo", label: "skopeo", unavailable: "skopeo not installed" }
      ]
    })
    addCase({
      id: "2b",
      title: `push ${sizeLabel} layer, chunked 16 MiB`,
      reference: "2a/curl",
      clients: [
        {
          key: "node-http",
          label: "node:http PATCH × n (16 MiB, one buffer) + PUT",
          run: pushNode(16 * 1024 * 1024)
        },
        {
          key: "ocireg",
          label: "ocireg Registry.uploadBlob, chunkSize 16 MiB (PATCH × n + PUT)",
          ocireg: true,
          run: pushOcireg(16 * 1024 * 1024)
        }
      ]
    })
  }

  /**
   * skopeo, ocireg's Image.copy and the CLI copying `src` into fresh repositories of `target`
   * (`total` bytes); each run's repository is forgotten afterwards, so no run can skip or mount.
   */
  const copyClients = ({ src, target, total, forget }) => {
    let n = 0
    const fresh = (who) => `copy-${who}-${++n}`
    const into = (who) => {
      const repository = fresh(who)
      return { repository, ref: `${target.host}/${repository}:latest` }
    }
    return [
      haveSkopeo
        ? {
          key: "skopeo",
          label: "skopeo copy docker:// → docker:// (process)",
          run: async () => {
            const { ref, repository } = into("skopeo")
            const m = await skopeo(skopeoNoCreds(`docker://${src}`, `docker://${ref}`))
            await forget(repository)
            return processSample(m, total)
          }
        }
        : { key: "skopeo", label: "skopeo", unavailable: "skopeo not installed" },
      {
        key: "ocireg",
        label: "ocireg Image.copy",
        ocireg: true,
        run: async () => {
          const { ref, repository } = into("ocireg")
          const m = await node("ocireg.mjs", ["copy", src, ref])
          await forget(repository)
          return nodeSample(m, { bytes: total, blobs: m.json.blobs })
        }
      },
      options.cli && {
        key: "ocireg-cli",
        label: "ocireg CLI `copy` (process)",
        run: async () => {
          const { ref, repository } = into("cli")
          const m = await cli(["copy", src, ref])
          await forget(repository)
          return processSample(m, total)
        }
      }
    ]
  }

  // --- case 3: copy 1 GiB between registries ---------------------------------------------------
  if (wants(3)) {
    addCase({
      id: "3",
      title: `copy a ${sizeLabel} single-layer image A → B`,
      reference: "skopeo",
      clients: copyClients({
        src: `${A.host}/big:latest`,
        target: B,
        total: big.size,
        forget: (repository) =>
          img.deleteRepositoryContent(B, repository, [big.digest, bigImage.config.digest], bigImage.digest)
      })
    })
  }

  // --- case 4: copy 50 × 1 MiB -------------------------------------------------------------------
  if (wants(4)) {
    const total = small.layers.reduce((s, l) => s + l.size, 0)
    const digests = [...small.layers.map((l) => l.digest), small.config.digest]
    const variants = [
      { id: "4a", title: "copy 50 × 1 MiB layers A → B", registry: B },
      { id: "4b", title: "copy 50 × 1 MiB layers within A (mount)", registry: A }
    ]
    for (const v of variants) {
      addCase({
        id: v.id,
        title: v.title,
        reference: "skopeo",
        clients: copyClients({
          src: `${A.host}/small50:latest`,
          target: v.registry,
          total,
          forget: (repository) => img.deleteRepositoryContent(v.registry, repository, digests, small.digest)
        })
      })
    }
  }

  // --- case 5: tags ------------------------------------------------------------------------------
  if (wants(5)) {
    const repo = `${A.host}/tags`
    const url = `${A.url}/v2/tags/tags/list`
    const countCheck = (count) => {
      if (count !== options.tags) throw new Error(`listed ${count} tags of ${options.tags}`)
    }
    for (const page of ["1000", "default"]) {
      addCase({
        id: page === "1000" ? "5a" : "5b",
        title: `list ${options.tags} tags, ${page === "1000" ? "n=1000" : "default page size"}`,
        reference: "node-http",
        tags: true,
        clients: [
          {
            key: "node-http",
            label: `node:http + JSON.parse, following Link (reference)`,
            run: async () => {
              const m = await node("node-http.mjs", ["tags", url, page, bearer(A, "tags")])
              countCheck(m.json.count)
              return nodeSample(m, { bytes: 0, pages: m.json.pages })
            }
          },
          {
            key: "ocireg",
            label: "ocireg Registry.listAllTags",
            ocireg: true,
            run: async () => {
              const m = await node("ocireg.mjs", ["tags", repo, page])
              countCheck(m.json.count)
              return nodeSample(m, { bytes: 0 })
            }
          },
          options.cli && page === "default" && {
            key: "ocireg-cli",
            label: "ocireg CLI `tags` (process)",
            run: async () => {
              const m = await cli(["tags", repo])
              countCheck(JSON.parse(m.stdout).length)
              return processSample(m, 0)
            }
          },
          haveSkopeo && page === "default" && {
            key: "skopeo",
            label: "skopeo list-tags (process)",
            run: async () => {
              const m = await measure("skopeo", ["list-tags", "--tls-verify=false", "--no-creds", `docker://${repo}`])
              countCheck(JSON.parse(m.stdout).Tags.length)
              return processSample(m, 0)
            }
          }
        ]
      })
    }
  }

  // --- case 6: per-request CPU ---------------------------------------------------------------------
  if (wants(6)) {
    const repo = `${A.host}/requests`
    const row = (key, label) => ({
      key,
      label,
      ocireg: key.startsWith("ocireg") ? true : undefined,
      run: async () => {
        const m = await node("requests.mjs", [
          key,
          repo,
          "latest",
          req.image.digest,
          req.layer.digest,
          String(req.layer.size),
          String(options.requests)
        ])
        return nodeSample(m, {
          bytes: 0,
          perRequest: { head: m.json.head, get: m.json.get, blob: m.json.blob, blobStream: m.json.blobStream }
        })
      }
    })
    addCase({
      id: "6",
      title: `${options.requests} × (HEAD manifest, GET manifest, GET 1 KiB blob verified), sequential`,
      reference: "node-http",
      tags: true,
      clients: [
        row("node-http", "node:http keep-alive Agent, bare (reference)"),
        row("undici", "undici Pool.request, bare"),
        row("ocireg", "ocireg headManifest / getManifest / getBlobBytes (NodeRegistry.layer: NodeHttpClient)"),
        row("ocireg-platform", "ocireg, the same on @effect/platform-node's undici client (http: \"platform\")")
      ]
    })
  }

  // --- run ---------------------------------------------------------------------------------------
  for (const c of cases) {
    log(`case ${c.id}: ${c.title}`)
    const runnable = c.clients.filter((k) => k.run !== undefined)
    for (let rep = 0; rep < options.reps; rep++) {
      const order = runnable.map((_, i) => runnable[(i + rep) % runnable.length])
      for (const k of order) {
        const issuedBefore = tokens?.issued()
        const requestsBefore = tokens?.requests().length
        try {
          const sample = await k.run(rep)
          if (tokens) {
            sample.serverTokens = tokens.issued() - issuedBefore
            // a scope set asked for twice in one run is a token fetched once too often
            const asked = tokens.requests().slice(requestsBefore).map((r) => [...r.scopes].sort().join(" "))
            sample.repeatedTokens = asked.length - new Set(asked).size
          }
          k.samples.push(sample)
          log(
            `  ${c.id} run ${rep + 1} ${k.key.padEnd(10)} ${fmt(sample.seconds, 3)} s  ${
              fmt(mbps(sample.bytes, sample.seconds), 0)
            } MB/s  rss ${fmt(sample.rssKB / 1024, 0)} MB  cpu ${fmt(sample.cpuSeconds)} s` +
              (sample.tokens !== undefined ? `  tokens ${sample.tokens}` : "") +
              (sample.serverTokens !== undefined ? `  (server ${sample.serverTokens})` : "")
          )
        } catch (error) {
          k.errors.push(String(error?.message ?? error).split("\n")[0].slice(0, 200))
          log(`  ${c.id} run ${rep + 1} ${k.key} FAILED: ${k.errors.at(-1)}`)
        }
      }
    }
  }

  // --- report ------------------------------------------------------------------------------------
  const summary = (k) => {
    const seconds = median(k.samples.map((s) => s.seconds))
    const bytes = median(k.samples.map((s) => s.bytes))
    return {
      seconds,
      mbps: mbps(bytes, seconds),
      rssMB: median(k.samples.map((s) => (s.rssKB === undefined ? undefined : s.rssKB / 1024))),
      peakRssMB: Math.max(...k.samples.map((s) => (s.rssKB ?? 0) / 1024)),
      cpu: median(k.samples.map((s) => s.cpuSeconds)),
      opCpu: median(k.samples.map((s) => s.opCpuSeconds).filter((x) => x !== undefined)),
      sockets: socketSummary(k.samples),
      perRequest: perRequestSummary(k.samples),
      tokens: k.samples.map((s) => s.serverTokens ?? s.tokens).filter((t) => t !== undefined)
    }
  }
  const find = (c, ref) => {
    const [caseId, key] = ref.includes("/") ? ref.split("/") : [c.id, ref]
    return cases.find((x) => x.id === caseId)?.clients.find((k) => k.key === key)
  }
  const rows = []
  const figures = {}
  for (const c of cases) {
    const refClient = find(c, c.reference)
    const ref = refClient && refClient.samples.length > 0 ? summary(refClient) : undefined
    for (const k of c.clients) {
      const label = k.label
      if (k.samples.length === 0) {
        const reason = k.unavailable ?? k.errors[0] ?? "not run"
        rows.push([`${c.id} ${c.title}`, label, `n/a (${reason})`, "", "", "", "", "", "", ""])
        continue
      }
      const s = summary(k)
      figures[`${c.id}/${k.key}`] = s
      const isRef = refClient === k
      const ratio = isRef ? "1.00 (ref)" : ref?.seconds ? fmt(ref.seconds / s.seconds) : "—"
      const failed = k.errors.length > 0 ? ` (${k.errors.length} failed: ${k.errors[0]})` : ""
      const tokensCell = s.tokens.length === 0 ? "—" : [...new Set(s.tokens)].join("/")
      rows.push([
        `${c.id} ${c.title}`,
        label + failed,
        fmt(s.seconds, 3),
        c.tags ? "—" : fmt(s.mbps, 0),
        ratio,
        fmt(s.peakRssMB, 0),
        fmt(s.cpu),
        s.opCpu === undefined ? "—" : fmt(s.opCpu),
        tokensCell,
        s.sockets === undefined ? "—" : s.sockets.text
      ])
    }
  }
  const header = [
    "case",
    "client",
    "median s",
    "MB/s",
    "ratio vs reference",
    "peak RSS MB",
    "CPU s",
    "op CPU s",
    "tokens/run",
    "sockets/origin"
  ]
  const originName = (origin) =>
    origin === A.host
      ? "A"
      : B && origin === B.host
      ? "B"
      : tokens && origin === new URL(tokens.realm).host
      ? "token"
      : origin
  for (const row of rows) row[8] = row[8]?.replace(/\{([^}]+)\}/g, (_, origin) => originName(origin))
  const table = markdownTable(header, rows)
  const targets = evaluateTargets(figures, cases)
  const loadAfter = os.loadavg()
  const minutes = ((Date.now() - started) / 60000).toFixed(1)
  const notes = [
    `- ${
      new Date().toISOString()
    }, ${os.cpus().length} cores, Node ${process.version}, ${options.reps} runs per client ` +
    `(clients alternate, order rotated each run), layer ${sizeLabel}, auth ${options.auth}, ${minutes} min in all.`,
    `- Load average before/after: ${loadBefore.map((l) => l.toFixed(1)).join(" ")} / ${
      loadAfter.map((l) => l.toFixed(1)).join(" ")
    } (a loaded machine widens the spread: CPU s is the steadier figure).`,
    "- MB = 10^6 bytes. Ratio = reference median s / client median s (above 1: faster than the reference). " +
    "Case 2b's reference is curl's monolithic upload (2a).",
    "- Times: node clients (ocireg library, node:http reference, npm clients) measure their operation in-process, " +
    "from before the layer is built to the end (Node start-up and module loading excluded); curl reports its own " +
    "`time_total` (push: plus the POST); skopeo and the ocireg CLI rows are whole-process wall times.",
    `- Peak RSS and CPU s (user + system) of the measured process ${
      hasGnuTime
        ? "from GNU time (`/usr/bin/time`)"
        : "from `process.resourceUsage()` (no GNU time: CLI rows lack them)"
    }; pulls to a file write to ${outDir.startsWith("/dev/shm") ? "tmpfs (/dev/shm)" : outDir}.`,
    options.auth === "token"
      ? "- tokens/run: tokens the local token server issued during each run (ocireg counts its own in RegistryClient.stats)."
      : "- tokens/run: `RegistryClient.stats.tokensIssued` of the ocireg runs; 0 because the registries are open " +
        "(run with `--auth token` to count token fetches against a token server).",
    "- sockets/origin: TCP connections each node process (ocireg library and CLI, node:http and npm references) " +
    "opened per registry over a whole run (most over the runs), counted with the `net.client.socket` diagnostics channel; " +
    "case 6 counts the whole process (all three loops and their warm-ups).",
    "- skopeo runs with `--preserve-digests` (layers stay uncompressed, as ocireg moves them); " +
    "its pull and push rows move the whole image (config and manifest too). Every run writes to a fresh " +
    "repository whose blob links are deleted afterwards, so no client can skip or mount what an earlier run " +
    "uploaded (skopeo's blob-info cache still makes it try such mounts, which fail)."
  ].join("\n")
  const perRequestRows = cases.flatMap((c) =>
    c.clients.filter((k) => figures[`${c.id}/${k.key}`]?.perRequest).map((k) => {
      const p = figures[`${c.id}/${k.key}`].perRequest
      return [
        k.label,
        fmt(p.head.cpuMs, 3),
        fmt(p.get.cpuMs, 3),
        fmt(p.blob.cpuMs, 3),
        p.blobStream === undefined ? "—" : fmt(p.blobStream.cpuMs, 3),
        `${fmt(p.head.wallMs, 3)} / ${fmt(p.get.wallMs, 3)} / ${fmt(p.blob.wallMs, 3)}`
      ]
    })
  )
  const perRequest = perRequestRows.length === 0 ?
    "" :
    `### Per request (case 6): CPU ms of the client process, medians\n\n${
      markdownTable(
        [
          "client",
          "HEAD manifest",
          "GET manifest (verified, decoded)",
          "GET 1 KiB blob (verified)",
          "the blob as a stream (getBlob, drained)",
          "wall ms (HEAD / GET / blob)"
        ],
        perRequestRows
      )
    }\n\n`
  const markdown =
    `## Benchmark results\n\n${table}\n\n${perRequest}${notes}\n\n### Targets of issue 15\n\n${targets}\n`
  console.log(`\n${markdown}`)
  await fs.writeFile(options.results, `<!-- written by \`npm run bench\` (bench/run.mjs) -->\n${markdown}`)
  log(`written to ${path.relative(process.cwd(), options.results)}`)
}

/** The most sockets each origin saw in one run, as `{origin} n` texts (names filled in by the report). */
const socketSummary = (samples) => {
  const withSockets = samples.filter((s) => s.sockets !== undefined)
  if (withSockets.length === 0) return undefined
  const most = {}
  for (const s of withSockets) {
    for (const [origin, n] of Object.entries(s.sockets)) most[origin] = Math.max(most[origin] ?? 0, n)
  }
  const entries = Object.entries(most).sort(([a], [b]) => a.localeCompare(b))
  return {
    most,
    text: entries.length === 0 ? "0" : entries.map(([origin, n]) => `{${origin}} ${n}`).join(", ")
  }
}

/** Medians of case 6's per-request figures. */
const perRequestSummary = (samples) => {
  const all = samples.map((s) => s.perRequest).filter(Boolean)
  if (all.length === 0) return undefined
  const of = (kind) => ({
    cpuMs: median(all.map((p) => p[kind].cpuMs)),
    wallMs: median(all.map((p) => p[kind].wallMs))
  })
  const streamed = all.every((p) => p.blobStream !== undefined)
  return { head: of("head"), get: of("get"), blob: of("blob"), blobStream: streamed ? of("blobStream") : undefined }
}

/** The targets of issue 15 that this run's figures can decide. */
const evaluateTargets = (f, allCases) => {
  const lines = []
  const check = (label, ok, detail) =>
    lines.push(`- ${ok === undefined ? "n/a" : ok ? "met" : "**missed**"}: ${label}${detail ? ` (${detail})` : ""}`)
  /** How many times faster `a` is than `b` (b's time / a's time). */
  const ratio = (a, b) => (f[a] && f[b] ? f[b].seconds / f[a].seconds : undefined)
  const x = (r) => (r === undefined ? undefined : `${fmt(r)}×`)
  if (f["1a/ocireg"]) {
    const r = ratio("1a/ocireg", "1a/node-http")
    check("1a verified pull to nowhere ≥ 0.95× node:http + sha256", r === undefined ? undefined : r >= 0.95, x(r))
    for (const npm of ["drc", "snyk"]) {
      const rn = ratio("1a/ocireg", `1a/${npm}`)
      if (rn !== undefined) check(`1a faster than ${npm}`, rn > 1, x(rn))
    }
    // the operation's CPU (in-process, from before the layer is built): the process figure adds
    // ocireg's module loading (Effect, its Schema and fast-check: ~0.6 s), which the bare
    // reference has none of; both are printed
    const ours = f["1a/ocireg"]
    const theirs = f["1a/node-http"]
    const cpu = theirs?.opCpu ? ours.opCpu / theirs.opCpu : undefined
    check(
      "1a CPU ≤ 1.3× the reference's (the operation's CPU; whole process in brackets)",
      cpu === undefined ? undefined : cpu <= 1.3,
      cpu &&
        `${fmt(ours.opCpu)} s / ${fmt(theirs.opCpu)} s = ${fmt(cpu)}× (process ${fmt(ours.cpu)} s / ${
          fmt(theirs.cpu)
        } s = ${fmt(ours.cpu / theirs.cpu)}×)`
    )
  }
  if (f["1b/ocireg"]) {
    const r = ratio("1b/ocireg", "1b/node-http")
    check("1b getBlob to a file ≥ 1.3× node:http → file", r === undefined ? undefined : r >= 1.3, x(r))
    const rs = ratio("1b/ocireg", "1b/skopeo")
    check("1b getBlob to a file ≥ 2× skopeo", rs === undefined ? undefined : rs >= 2, x(rs))
  }
  if (f["1b/ocireg-cli-pull"]) {
    const r = ratio("1b/ocireg-cli-pull", "1b/skopeo")
    check("1b CLI pull to a layout ≥ 1.5× skopeo", r === undefined ? undefined : r >= 1.5, x(r))
  }
  for (const key of ["ocireg", "ocireg-cli"]) {
    if (!f[`4a/${key}`]) continue
    const r = ratio(`4a/${key}`, "4a/skopeo")
    check(`4a copy 50 × 1 MiB (${key}) in half of skopeo's time`, r === undefined ? undefined : r >= 2, x(r))
  }
  for (const key of ["ocireg", "ocireg-cli"]) {
    if (!f[`4b/${key}`]) continue
    const r = ratio(`4b/${key}`, "4b/skopeo")
    check(
      `4b mount copy (${key}) ≤ 0.7× skopeo's time`,
      r === undefined ? undefined : 1 / r <= 0.7,
      r && `${fmt(1 / r)}× skopeo's time`
    )
  }
  const tagsCase = f["5b/ocireg"] ? "5b" : f["5a/ocireg"] ? "5a" : undefined
  if (tagsCase) {
    const r = ratio(`${tagsCase}/ocireg`, `${tagsCase}/node-http`)
    check("5 list 10,000 tags ≥ 0.8× node:http (library)", r === undefined ? undefined : r >= 0.8, x(r))
  }
  if (f["5b/ocireg-cli"]) {
    const r = ratio("5b/ocireg-cli", "5b/skopeo")
    check(
      "5 CLI tags within 2× of skopeo's time",
      r === undefined ? undefined : r >= 0.5,
      r && `${fmt(1 / r)}× skopeo's time`
    )
  }
  for (const key of ["ocireg", "ocireg-cli"]) {
    const s = f[`4a/${key}`]?.sockets
    if (s === undefined) continue
    const most = Math.max(0, ...Object.values(s.most))
    check(
      `4a one socket per origin and concurrency slot over a whole copy (${key}; 8 slots per registry)`,
      most <= 8,
      `most sockets to one registry in a run: ${most}`
    )
  }
  const big = Object.entries(f).filter(([key]) => /^(1a|1b|2a|2b|3)\/ocireg/.test(key))
  if (big.length > 0) {
    const worst = big.reduce((w, e) => (e[1].peakRssMB > w[1].peakRssMB ? e : w))
    check(
      "peak RSS under 150 MB in every large-layer case (ocireg library and CLI rows)",
      worst[1].peakRssMB < 150,
      `highest ${fmt(worst[1].peakRssMB, 0)} MB, ${worst[0]}`
    )
  }
  const perRequest = f["6/ocireg"]?.perRequest
  if (perRequest) {
    for (
      const [kind, label] of [["head", "manifest HEAD"], ["get", "manifest GET"], ["blob", "verified 1 KiB blob GET"]]
    ) {
      const ms = perRequest[kind].cpuMs
      const bare = f["6/node-http"]?.perRequest?.[kind].cpuMs
      check(
        `6 ≤ 0.3 ms CPU per ${label}`,
        ms <= 0.3,
        `${fmt(ms, 3)} ms${bare === undefined ? "" : `; bare node:http ${fmt(bare, 3)} ms in the same run`}`
      )
    }
  }
  const tokenRows = allCases.flatMap((c) =>
    c.clients.filter((k) => k.ocireg && k.samples.length > 0 && k.samples[0].tokens !== undefined)
      .map((k) => [c.id, k.samples])
  )
  if (tokenRows.length > 0 && options.auth === "token") {
    const detail = tokenRows.map(([id, samples]) => `${id}: ${[...new Set(samples.map((s) => s.tokens))].join("/")}`)
      .join(", ")
    const repeated = tokenRows.reduce((n, [, samples]) => n + samples.reduce((m, s) => m + s.repeatedTokens, 0), 0)
    check(
      "tokens: one per (registry, scope set) per run",
      repeated === 0,
      `tokens per run ${detail}; ${repeated} fetched again for a scope set already held`
    )
  }
  return lines.join("\n")
}

/** Install the npm clients for this benchmark only, into bench/.deps (git-ignored). */
const installNpmClients = async () => {
  const dir = path.join(benchDir, ".deps")
  const packages = ["docker-registry-client@3.4.0", "@snyk/docker-registry-v2-client@4.0.5"]
  const present = async () =>
    (await Promise.all(
      ["docker-registry-client", "@snyk/docker-registry-v2-client"].map((p) =>
        fs.stat(path.join(dir, "node_modules", p, "package.json")).then(() => true, () => false)
      )
    )).every(Boolean)
  try {
    if (!(await present())) {
      log(`installing ${packages.join(", ")} into bench/.deps`)
      await fs.mkdir(dir, { recursive: true })
      await fs.writeFile(
        path.join(dir, "package.json"),
        JSON.stringify({ name: "ocireg-bench-deps", private: true, description: "installed by bench/run.mjs" }) + "\n"
      )
      await run("npm", [
        "install",
        "--prefix",
        dir,
        "--no-save",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        ...packages
      ], {
        cwd: dir,
        timeout: 180_000
      })
    }
    if (!(await present())) return { dir: undefined, reason: "npm install did not install them" }
    return { dir, reason: undefined }
  } catch (error) {
    return { dir: undefined, reason: `npm install failed: ${String(error.message).split("\n")[0].slice(0, 120)}` }
  }
}

const cleanup = async () => {
  for (const fn of cleanups.reverse()) {
    try {
      await fn()
    } catch {
      // best effort
    }
  }
}

main().then(
  async () => {
    await cleanup()
    process.exit(0)
  },
  async (error) => {
    console.error(error?.stack ?? error)
    await cleanup()
    process.exit(1)
  }
)
