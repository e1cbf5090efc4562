/**
 * The Promise facade, for code that does not use Effect (`NodePromise.createClient`): `async`
 * methods, errors you can test with `client.isRegistryError(e, "NotFound")`, `{ signal }` on every
 * call to abort it, `client.dispose()` when done.
 *
 * Run: npx tsx examples/promise.ts [reference]     e.g. alpine:3 (credentials from Docker's config)
 * Without an argument it reads the demo image from an embedded registry.
 */
import * as NodePromise from "@ocireg/platform-node/NodePromise"
import { isMain, startDemoRegistry } from "./support.js"

export const main = async (args: ReadonlyArray<string>): Promise<void> => {
  const embedded = args[0] === undefined ? await startDemoRegistry() : undefined
  const reference = args[0] ?? embedded!.demo.reference
  // the embedded registry needs no credentials ({}: anonymous); otherwise Docker's config is read
  const client = NodePromise.createClient(embedded !== undefined ? { credentials: {} } : {})
  try {
    console.log(`tags: ${(await client.listTags(reference)).join(", ")}`)

    const manifest = await client.getManifest(reference, { signal: AbortSignal.timeout(30_000) })
    console.log(`${reference} is ${manifest.digest} (${manifest.kind})`)

    const info = await client.inspect(reference)
    console.log(`platforms: ${info.platforms.map((p) => p.platform).join(", ") || "(a single image)"}`)

    // typed errors: a rejection is the ocireg error itself
    try {
      await client.headBlob(reference, `sha256:${"0".repeat(64)}`)
    } catch (error) {
      if (client.isRegistryError(error, "NotFound")) console.log(`sha256:000…: NotFound (${error.kind})`)
      else throw error
    }

    // cancellation: aborting the signal interrupts the request
    const controller = new AbortController()
    const pending = client.getManifest(reference, { signal: controller.signal })
    controller.abort()
    await pending.then(
      () => console.log("finished before the abort"),
      (error) => console.log(NodePromise.isAbortError(error) ? "aborted" : `failed: ${error}`)
    )
  } finally {
    await client.dispose()
    await embedded?.close()
  }
}

if (isMain(import.meta.url)) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  })
}
