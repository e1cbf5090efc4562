/**
 * Free TCP ports on the loopback interface, for test servers that must be told their port up front
 * (`docker-registry` reads it from its config file).
 */
import * as net from "node:net"

/**
 * Asks the kernel for a free port on 127.0.0.1: listen on port 0, read the port, close.
 *
 * There is a short window in which another process could take the port; callers that spawn a
 * server on it should retry on "address already in use" (`startRegistry` does).
 */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      if (address === null || typeof address === "string") {
        server.close()
        reject(new Error("freePort: could not read the listening address"))
        return
      }
      const port = address.port
      server.close((err) => (err ? reject(err) : resolve(port)))
    })
  })
