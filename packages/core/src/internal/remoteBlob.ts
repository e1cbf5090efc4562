/**
 * A blob of a registry as a re-readable upload source, for copies between repositories.
 *
 * @internal
 */
import * as BlobSource from "../BlobSource.js"
import type * as Manifest from "../Manifest.js"
import type * as Reference from "../Reference.js"
import * as Registry from "../Registry.js"
import type { RegistryClient } from "../RegistryClient.js"
import type { RegistryError } from "../RegistryError.js"
import { dropBytes, wholeReadLimit } from "./download.js"

/**
 * The blob `descriptor` of `source`'s repository, read again from the start and skipping what was
 * sent when an upload resumes. A small one (up to the size `getBlobBytes` reads in one piece) is
 * read whole when it must be sent: a 1 MiB layer copied that way measured 15–25% less CPU than
 * streamed from one request into the other.
 */
export const remoteBlob = (
  source: Reference.Reference,
  descriptor: Manifest.Descriptor
): BlobSource.BlobSource<RegistryError, RegistryClient> => ({
  ...BlobSource.make({
    digest: descriptor.digest,
    size: descriptor.size,
    open: (offset) => {
      const blob = Registry.getBlob(source, descriptor)
      return offset === 0 ? blob : dropBytes(blob, offset)
    }
  }),
  whole: descriptor.size <= wholeReadLimit ? Registry.getBlobBytes(source, descriptor) : undefined
})
