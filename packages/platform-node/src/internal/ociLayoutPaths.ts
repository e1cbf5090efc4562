/**
 * Where things live in an OCI image layout directory, and the one gate between a digest string
 * and a file path: a digest becomes `blobs/<algorithm>/<hex>` only after `Digest.parse` accepted
 * it (lower-case hex of the algorithm's length, so no `/`, `.` or `..` can reach the path), and
 * the joined path is checked to stay under `blobs/`.
 *
 * @internal
 */
import * as Digest from "@ocireg/core/Digest"
import * as Either from "effect/Either"
import * as Crypto from "node:crypto"
import * as Path from "node:path"

/** @internal */
export const layoutFile = (root: string): string => Path.join(root, "oci-layout")

/** @internal */
export const indexFile = (root: string): string => Path.join(root, "index.json")

/** @internal */
export const blobsDir = (root: string): string => Path.join(root, "blobs")

/**
 * A blob's place in the layout: its validated digest, its directory (`blobs/<algorithm>`) and
 * its file.
 *
 * @internal
 */
export interface BlobLocation {
  readonly digest: Digest.Digest
  readonly dir: string
  readonly file: string
}

/**
 * Validate a digest and give its file path, or the reason it is refused (never a path for an
 * invalid digest).
 *
 * @internal
 */
export const blobLocation = (root: string, digest: string): Either.Either<BlobLocation, string> => {
  const reason = Digest.validate(digest)
  if (reason !== undefined) return Either.left(reason)
  const valid = digest as Digest.Digest
  const base = blobsDir(root)
  const dir = Path.join(base, Digest.algorithm(valid))
  const file = Path.join(dir, Digest.encoded(valid))
  const relative = Path.relative(base, file)
  if (relative.startsWith("..") || Path.isAbsolute(relative) || Path.dirname(Path.dirname(relative)) !== ".") {
    return Either.left("does not name a file under blobs/")
  }
  return Either.right({ digest: valid, dir, file })
}

/**
 * A fresh temporary file name in `dir` (`.tmp-<random>` or `.<prefix>.tmp-<random>`): same
 * directory as the final file, so the closing `rename` is atomic.
 *
 * @internal
 */
export const temporaryFile = (dir: string, prefix?: string): string =>
  Path.join(dir, `${prefix === undefined ? "" : `.${prefix}`}.tmp-${Crypto.randomBytes(8).toString("hex")}`)
