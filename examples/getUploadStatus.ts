/**
 * `GET /v2/<name>/blobs/uploads/<uuid>`: ask the registry how many bytes of an upload it holds
 * (`Registry.getUploadStatus`, from its `Range` header). That is how an interrupted upload resumes:
 * continue from the registry's offset, not from what you think you sent. (`Registry.uploadBlob`
 * does this by itself.)
 *
 * Run: npx tsx examples/getUploadStatus.ts [repository]     WRITES: uploads a random blob
 * Without an argument it works in an embedded registry.
 */
import * as Digest from "@ocireg/core/Digest"
import * as Registry from "@ocireg/core/Registry"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Crypto from "node:crypto"
import { isMain, runMain, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      const started = yield* Registry.startUpload(target.repository)
      const chunkSize = Math.max(16 * 1024, started.minChunkLength ?? 0)
      const blob = Crypto.randomBytes(chunkSize * 2)
      const digest = yield* Digest.ofBytes(blob)
      const session = yield* Registry.uploadChunk(started, blob.subarray(0, chunkSize))

      // later, in another process, or after a PATCH whose answer never came: ask the registry
      const status = yield* Registry.getUploadStatus(session)
      yield* Console.log(`the registry holds ${status.offset} of ${blob.length} bytes`)

      // resume at its offset, close with the last bytes
      const stored = yield* Registry.completeUpload(status, digest, blob.subarray(status.offset))
      yield* Console.log(`resumed and completed: ${stored}`)
    }))

if (isMain(import.meta.url)) runMain(main)
