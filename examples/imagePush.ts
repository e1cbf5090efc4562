/**
 * Push an image (`Image.push`): its blobs concurrently (skipping those the repository has), then
 * its manifest under the reference's tag. `onEvent` reports each blob. An index is pushed the same
 * way with `{ images, index }` (see `seedDemoImage` in support.ts).
 *
 * Run: npx tsx examples/imagePush.ts [repository]     WRITES: pushes <repository>:pushed
 * Without an argument it pushes to an embedded registry.
 */
import * as BlobSource from "@ocireg/core/BlobSource"
import * as Image from "@ocireg/core/Image"
import * as MediaType from "@ocireg/core/MediaType"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { descriptorOf, isMain, jsonBytes, runMain, tarLayer, withRegistry } from "./support.js"

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      // an image from scratch: a layer (a tar with one file), its config, the manifest naming both
      const layer = yield* BlobSource.fromBytes(tarLayer("greeting.txt", "hello from imagePush\n"))
      const config = yield* BlobSource.fromBytes(jsonBytes({
        architecture: "amd64",
        os: "linux",
        created: new Date().toISOString(),
        config: { Cmd: ["cat", "/greeting.txt"] },
        rootfs: { type: "layers", diff_ids: [layer.digest] }
      }))
      const manifest = jsonBytes({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: descriptorOf(config, MediaType.ociConfig),
        layers: [descriptorOf(layer, MediaType.ociLayerTar)]
      })

      const pushed = yield* Image.push(
        `${target.repository}:pushed`,
        { blobs: [config, layer], manifest: { bytes: manifest, mediaType: MediaType.ociManifest } },
        {
          onEvent: (event) =>
            event._tag === "BlobFinished"
              ? Console.log(`  blob ${event.digest.slice(0, 19)}… ${event.outcome}`)
              : Effect.void
        }
      )
      yield* Console.log(`pushed ${pushed.reference} ${pushed.digest}`)
    }))

if (isMain(import.meta.url)) runMain(main)
