/**
 * `PATCH /v2/<name>/blobs/uploads/<uuid>`: send a blob chunk by chunk (`Registry.uploadChunk`).
 * Each chunk goes at the session's offset with `Content-Range`; the returned session carries the
 * registry's new `Location` and offset. `completeUpload` then closes the session with the digest.
 *
 * Run: npx tsx examples/uploadChunk.ts [repository]     WRITES: uploads a random blob
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
      let session = yield* Registry.startUpload(target.repository)
      // chunks of 16 KiB, or larger when the registry asks for larger (OCI-Chunk-Min-Length)
      const chunkSize = Math.max(16 * 1024, session.minChunkLength ?? 0)
      const blob = Crypto.randomBytes(chunkSize * 2 + 100)
      const digest = yield* Digest.ofBytes(blob)

      for (let offset = 0; offset < blob.length; offset += chunkSize) {
        session = yield* Registry.uploadChunk(session, blob.subarray(offset, offset + chunkSize))
        yield* Console.log(`sent a chunk: the registry holds ${session.offset} of ${blob.length} bytes`)
      }
      const stored = yield* Registry.completeUpload(session, digest)
      yield* Console.log(`completed: ${stored}`)
    }))

if (isMain(import.meta.url)) runMain(main)
