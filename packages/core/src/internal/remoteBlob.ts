/**
 * A blob of a registry as a re-readable upload source, for copies between repositories.
 *
 * @internal
 */
import * as BlobSource from "../BlobSource.js"
import type * as Manifest from "../Manifest.js"
import type * as Reference from "../Reference.js"
import * as Registry from "../Registry.js"
import { dropBytes } from "./download.js"

/** The blob `descriptor` of `source`'s repository, read again from the start and skipping what was sent when an upload resumes. */
export const remoteBlob = (source: Reference.Reference, descriptor: Manifest.Descriptor) =>
  BlobSource.make({
    digest: descriptor.digest,
    size: descriptor.size,
    open: (offset) => {
      const blob = Registry.getBlob(source, descriptor)
      return offset === 0 ? blob : dropBytes(blob, offset)
    }
  })
