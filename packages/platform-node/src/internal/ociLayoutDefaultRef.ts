/**
 * Which image of an OCI layout a command means when it names none: the layout's only image, as
 * skopeo's `oci:DIR` (no `:ref`) and crane do (containers/image `oci/layout`: "more than one image
 * in oci, choose an image" when `index.json` has several entries). Entries that name the same
 * digest are one image.
 *
 * @internal
 */
import type * as Manifest from "@ocireg/core/Manifest"
import { refNameOf } from "./ociLayoutIndex.js"

/** An `index.json` entry as a person reads it: its ref name (if any) and digest. */
export interface EntrySummary {
  readonly name: string | undefined
  readonly digest: string
}

/** @internal */
export type DefaultEntry =
  | { readonly _tag: "Sole"; readonly descriptor: Manifest.Descriptor }
  | { readonly _tag: "Empty" }
  | { readonly _tag: "Several"; readonly entries: ReadonlyArray<EntrySummary> }

/**
 * The layout's only image (its first entry); `Several` lists every entry when the layout holds
 * more than one image.
 *
 * @internal
 */
export const defaultEntry = (index: Manifest.ImageIndex): DefaultEntry => {
  const entries = index.manifests
  if (entries.length === 0) return { _tag: "Empty" }
  const digests = new Set(entries.map((d) => d.digest))
  if (digests.size > 1) {
    return { _tag: "Several", entries: entries.map((d) => ({ name: refNameOf(d), digest: d.digest })) }
  }
  return { _tag: "Sole", descriptor: entries[0]! }
}

/** `v1 (sha256:…), sha256:… (no ref name)`: the entries, for an error message. */
export const describeEntries = (entries: ReadonlyArray<EntrySummary>): string =>
  entries.map((e) => e.name === undefined ? `${e.digest} (no ref name)` : `${e.name} (${e.digest})`).join(", ")
