/**
 * `DELETE /v2/<name>/blobs/<digest>`: unlink a blob from a repository (`Registry.deleteBlob`).
 * Registries must have deletion enabled; those that do not answer with `UNSUPPORTED`.
 *
 * Run: npx tsx examples/deleteBlob.ts [repository]     WRITES: uploads a throwaway blob and deletes it
 * Without an argument it works in an embedded registry. It never deletes what it did not upload.
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
      const blob = yield* BlobSource.fromBytes(Crypto.randomBytes(4096))
      yield* Registry.uploadBlob(target.repository, blob)
      yield* Console.log(`uploaded ${blob.digest}`)

      yield* Registry.deleteBlob(target.repository, blob.digest).pipe(
        Effect.zipRight(Console.log("deleted it")),
        Effect.catchTag(
          "RegistryResponseError",
          (e) => Console.log(`this registry does not delete blobs: ${e.message}`)
        )
      )
      yield* Registry.headBlob(target.repository, blob.digest).pipe(
        Effect.zipRight(Console.log("  the repository still has it")),
        Effect.catchTag("NotFound", () => Console.log("  the repository no longer has it"))
      )
    }))

if (isMain(import.meta.url)) runMain(main)
