// Start a docker-registry with one small image and print the arguments of `bench/cases/requests.mjs`
// for it, then keep the registry up until killed: a fixture for profiling the per-request path
// (`node --cpu-prof bench/cases/requests.mjs ocireg <printed args>`).
import { randomBytes } from "node:crypto"
import * as img from "./lib/images.mjs"
import { startRegistry } from "./lib/registry.mjs"

const registry = { ...(await startRegistry({ name: "profile" })), auth: () => ({}) }
const layer = await img.uploadBytes(registry, "requests", randomBytes(1024))
const image = img.makeImage([layer], "requests")
await img.pushImage(registry, "requests", "latest", image)
process.stdout.write(
  [`${registry.host}/requests`, "latest", image.digest, layer.digest, String(layer.size)].join(" ") + "\n"
)
setInterval(() => {}, 1 << 30)
