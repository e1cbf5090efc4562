// Blob download with the npm registry clients, installed for the benchmark only (bench/.deps).
//
//   node bench/cases/npm-clients.mjs <depsDir> drc  <host/repo> <digest> <file|null>
//     docker-registry-client 3.x: createBlobReadStream (it checks Docker-Content-Digest and the
//     length itself), piped to the file or drained.
//   node bench/cases/npm-clients.mjs <depsDir> snyk <host/repo> <digest> <file|null>
//     @snyk/docker-registry-v2-client 4.x: downloadLayer (needle, streamed to a file; the library
//     checks no digest, so this one hashes the bytes as they pass on its own, as a user would).
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { cpuClock } from "../lib/stats.mjs"

const [depsDir, which, repository, digest, out] = process.argv.slice(2)
const require = createRequire(path.join(path.resolve(depsDir), "package.json"))
const slash = repository.indexOf("/")
const host = repository.slice(0, slash)
const repo = repository.slice(slash + 1)

const drc = () =>
  new Promise((resolve, reject) => {
    const lib = require("docker-registry-client")
    const client = lib.createClientV2({ name: repository, scheme: "http", insecure: true })
    client.createBlobReadStream({ digest }, (err, stream) => {
      if (err) return reject(err)
      let bytes = 0
      stream.on("data", (chunk) => (bytes += chunk.length))
      stream.on("error", reject)
      const finish = () => {
        client.close()
        resolve({ bytes })
      }
      if (out === "null") {
        stream.on("end", finish)
        stream.resume()
      } else {
        const file = fs.createWriteStream(out)
        file.on("finish", finish)
        file.on("error", reject)
        stream.pipe(file)
        stream.resume()
      }
    })
  })

const snyk = async () => {
  const lib = require("@snyk/docker-registry-v2-client")
  // downloadLayer writes to a path; a named pipe would add a process, so the bytes are verified
  // by hashing the file afterwards for "to a file", and "to nowhere" writes to /dev/null unverified.
  const target = out === "null" ? "/dev/null" : out
  await lib.downloadLayer(target, host, repo, digest, undefined, undefined, { protocol: "http:" })
  if (out === "null") return { bytes: 0, verified: false }
  const hash = crypto.createHash("sha256")
  let bytes = 0
  for await (const chunk of fs.createReadStream(out, { highWaterMark: 1024 * 1024 })) {
    bytes += chunk.length
    hash.update(chunk)
  }
  if (`sha256:${hash.digest("hex")}` !== digest) throw new Error("digest mismatch")
  return { bytes, verified: true }
}

const started = process.hrtime.bigint()
const opCpu = cpuClock()
;(which === "drc" ? drc() : snyk()).then(
  (result) => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    process.stdout.write(
      JSON.stringify({ seconds, opCpuSeconds: opCpu(), ...result, maxRssKB: process.resourceUsage().maxRSS }) + "\n"
    )
    process.exit(0)
  },
  (error) => {
    process.stderr.write(`${error?.stack ?? error}\n`)
    process.exit(1)
  }
)
