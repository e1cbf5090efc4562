/**
 * All the upload steps in one call: `Registry.uploadBlob` puts a blob into a repository the
 * cheapest way: nothing when a `HEAD` finds it, a cross-repository mount when `mountFrom` has it,
 * otherwise an upload (one streamed `PUT`, or chunks above `chunkSize`) that resumes at the
 * registry's offset when a chunk fails. Sources: `BlobSource.fromBytes`, `NodeBlobSource.fromFile`,
 * `BlobSource.fromStream`.
 *
 * Run: npx tsx examples/uploadBlob.ts [repository]     WRITES: uploads random blobs to it and to <repository>-mirror
 * Without an argument it works in an embedded registry.
 */
import * as BlobSource from "@ocireg/core/BlobSource"
import * as Registry from "@ocireg/core/Registry"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Crypto from "node:crypto"
import { formatBytes, isMain, runMain, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      const source = yield* BlobSource.fromBytes(Crypto.randomBytes(256 * 1024))
      const report = (what: string, result: Registry.UploadResult) =>
        Console.log(`${what.padEnd(36)} ${result.outcome} (${formatBytes(result.size)})`)

      // in 64 KiB chunks (POST, PATCH × 4, PUT); by default a blob goes as one streamed PUT
      yield* report("upload", yield* Registry.uploadBlob(target.repository, source, { chunkSize: 64 * 1024 }))
      // again: the HEAD finds it, nothing is sent
      yield* report("upload again", yield* Registry.uploadBlob(target.repository, source))
      // into another repository of the same registry: mounted, no bytes move
      yield* report(
        "upload to the mirror, mountFrom",
        yield* Registry.uploadBlob(`${target.repository}-mirror`, source, { mountFrom: target.path })
      )
    }))

if (isMain(import.meta.url)) runMain(main)
