/**
 * `POST /v2/<name>/blobs/uploads/`: open an upload session (`Registry.startUpload`). The session
 * carries the `Location` to send bytes to, the offset the registry holds, and its
 * `OCI-Chunk-Min-Length` when it has one. The next steps: uploadChunk.ts, getUploadStatus.ts,
 * completeUpload.ts, cancelUpload.ts; or let `Registry.uploadBlob` do them all (uploadBlob.ts).
 *
 * Run: npx tsx examples/startUpload.ts [repository]     WRITES: opens a session (and cancels it)
 * Without an argument it works in an embedded registry.
 */
import * as Registry from "@ocireg/core/Registry"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { isMain, runMain, sessionPath, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      const session = yield* Registry.startUpload(target.repository)
      yield* Console.log(`session opened in ${session.repository} at ${sessionPath(session)}`)
      yield* Console.log(`  offset ${session.offset}, minimum chunk ${session.minChunkLength ?? "none"}`)
      // nothing to upload here: release what the registry holds for the session
      yield* Registry.cancelUpload(session)
      yield* Console.log("session cancelled")
    }))

if (isMain(import.meta.url)) runMain(main)
