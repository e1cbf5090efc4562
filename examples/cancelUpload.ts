/**
 * `DELETE /v2/<name>/blobs/uploads/<uuid>`: abandon an upload session (`Registry.cancelUpload`),
 * releasing what the registry holds for it; the session is then unknown (`NotFound`, kind
 * `upload`).
 *
 * Run: npx tsx examples/cancelUpload.ts [repository]     WRITES: opens a session and cancels it
 * Without an argument it works in an embedded registry.
 */
import * as Registry from "@ocireg/core/Registry"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Crypto from "node:crypto"
import { isMain, runMain, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      const started = yield* Registry.startUpload(target.repository)
      const session = yield* Registry.uploadChunk(
        started,
        Crypto.randomBytes(Math.max(4096, started.minChunkLength ?? 0))
      )
      yield* Console.log(`the registry holds ${session.offset} bytes of an upload`)

      yield* Registry.cancelUpload(session)
      yield* Console.log("cancelled")
      yield* Registry.getUploadStatus(session).pipe(
        Effect.zipRight(Console.log("  the session is still there?!")),
        Effect.catchTag("NotFound", (e) => Console.log(`  the session is gone: NotFound (${e.kind})`))
      )
    }))

if (isMain(import.meta.url)) runMain(main)
