// Preloaded with `node --import` into a measured process (the ocireg library runs and the CLI):
// counts the TCP connections it opens per origin and writes them as JSON to the file named by
// OCIREG_BENCH_SOCKETS when it exits.
import * as fs from "node:fs"
import { countSockets } from "./sockets.mjs"

const file = process.env.OCIREG_BENCH_SOCKETS
if (file) {
  const counts = countSockets()
  process.on("exit", () => {
    try {
      fs.writeFileSync(file, JSON.stringify(counts()))
    } catch {
      // no figure
    }
  })
}
