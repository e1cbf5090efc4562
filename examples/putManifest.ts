/**
 * `PUT /v2/<name>/manifests/<tag|digest>`: store a manifest (`Registry.putManifest`). The blobs it
 * names must be in the repository first; the bytes are stored exactly as given, and their sha256
 * is the manifest's digest. (`Image.push` does all of this for you; see imagePush.ts.)
 *
 * Run: npx tsx examples/putManifest.ts [repository]     WRITES: pushes `put-example` to it
 * Without an argument it writes to an embedded registry.
 */
import * as BlobSource from "@ocireg/core/BlobSource"
import * as MediaType from "@ocireg/core/MediaType"
import * as Registry from "@ocireg/core/Registry"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { descriptorOf, isMain, jsonBytes, runMain, tarLayer, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      // 1. the blobs: one layer and the image config
      const layer = yield* BlobSource.fromBytes(tarLayer("hello.txt", "hello from putManifest\n"))
      const config = yield* BlobSource.fromBytes(jsonBytes({
        architecture: "amd64",
        os: "linux",
        created: new Date().toISOString(),
        rootfs: { type: "layers", diff_ids: [layer.digest] }
      }))
      yield* Registry.uploadBlob(target.repository, layer)
      yield* Registry.uploadBlob(target.repository, config)

      // 2. the manifest, under a tag
      const bytes = jsonBytes({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: descriptorOf(config, MediaType.ociConfig),
        layers: [descriptorOf(layer, MediaType.ociLayerTar)]
      })
      const put = yield* Registry.putManifest(`${target.repository}:put-example`, {
        bytes,
        mediaType: MediaType.ociManifest
      })
      yield* Console.log(`stored ${put.mediaType} (${put.size} bytes) as ${target.repository}:put-example`)
      yield* Console.log(`  digest ${put.digest}`)

      // 3. by digest: ocireg checks that the bytes hash to it before sending them
      const again = yield* Registry.putManifest(`${target.repository}@${put.digest}`, { bytes })
      yield* Console.log(`  and by digest: ${again.digest === put.digest ? "same digest" : "different digest?!"}`)
    }))

if (isMain(import.meta.url)) runMain(main)
