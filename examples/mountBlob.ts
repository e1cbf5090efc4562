/**
 * `POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<repository>`: link a blob another
 * repository of the same registry has, without moving its bytes (`Registry.mountBlob`). A
 * registry may refuse (it opens an upload session instead): upload into that session, or cancel it.
 *
 * Run: npx tsx examples/mountBlob.ts [repository]     WRITES: uploads a random blob, mounts it into <repository>-mounted
 * Without an argument it works in an embedded registry.
 */
import * as BlobSource from "@ocireg/core/BlobSource"
import * as Registry from "@ocireg/core/Registry"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Crypto from "node:crypto"
import { isMain, runMain, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      const blob = yield* BlobSource.fromBytes(Crypto.randomBytes(64 * 1024))
      yield* Registry.uploadBlob(target.repository, blob)
      yield* Console.log(`${target.repository} has ${blob.digest}`)

      const mounted = `${target.repository}-mounted`
      const result = yield* Registry.mountBlob(mounted, blob.digest, target.path)
      if (result._tag === "Mounted") {
        yield* Console.log(`mounted it into ${mounted}`)
      } else {
        // the registry opened a session instead: send the bytes there (here: just close it)
        yield* Console.log(`${target.host} refused the mount and opened an upload session`)
        yield* Registry.cancelUpload(result.session)
      }
    }))

if (isMain(import.meta.url)) runMain(main)
