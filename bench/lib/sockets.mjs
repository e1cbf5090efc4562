// Count the TCP connections a process opens, per origin (host:port), through the
// `net.client.socket` diagnostics channel: node:http, undici and anything else on `net` report there.
import * as diagnostics from "node:diagnostics_channel"

/** Start counting; the returned function gives `{ "127.0.0.1:5000": n, ... }` so far. */
export const countSockets = () => {
  const counts = {}
  diagnostics.subscribe("net.client.socket", ({ socket }) => {
    socket.once("connect", () => {
      const key = `${socket.remoteAddress}:${socket.remotePort}`
      counts[key] = (counts[key] ?? 0) + 1
    })
  })
  return () => ({ ...counts })
}
