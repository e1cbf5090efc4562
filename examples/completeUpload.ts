/**
 * `PUT /v2/<name>/blobs/uploads/<uuid>?digest=<digest>`: close an upload session
 * (`Registry.completeUpload`), optionally with the last (or only) bytes. The registry checks the
 * digest of everything it received and refuses a blob that does not match.
 *
 * Run: npx tsx examples/completeUpload.ts [repository]     WRITES: uploads a random blob
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
      const blob = Crypto.randomBytes(8 * 1024)
      const digest = yield* Digest.ofBytes(blob)

      // the shortest upload: POST opens the session, one PUT carries all the bytes and the digest
      const session = yield* Registry.startUpload(target.repository)
      const stored = yield* Registry.completeUpload(session, digest, blob)
      const head = yield* Registry.headBlob(target.repository, stored)
      yield* Console.log(`stored ${stored} (${head.size} bytes)`)

      // a digest the bytes do not hash to: the registry refuses the blob
      const wrong = yield* Digest.ofBytes(new TextEncoder().encode("something else"))
      const other = yield* Registry.startUpload(target.repository)
      const refused = yield* Effect.flip(Registry.completeUpload(other, wrong, blob))
      yield* Console.log(`with a wrong digest: ${refused._tag}: ${refused.message}`)
      yield* Effect.ignore(Registry.cancelUpload(other))
    }))

if (isMain(import.meta.url)) runMain(main)
