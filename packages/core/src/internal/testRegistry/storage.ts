/**
 * The content of the test registry: blobs stored once by digest and linked per repository (a blob
 * pushed to one repository is not visible in another until mounted or pushed there), manifests
 * with their tags per repository, and the open upload sessions.
 *
 * @internal
 */

/** A manifest as stored: its exact bytes and the fields the referrers API reports. */
export interface StoredManifest {
  readonly digest: string
  readonly mediaType: string
  readonly bytes: Uint8Array
  readonly subject: string | undefined
  readonly artifactType: string | undefined
  readonly annotations: Readonly<Record<string, string>> | undefined
}

/** What one repository holds. */
export interface Repository {
  readonly blobs: Set<string>
  readonly manifests: Map<string, StoredManifest>
  readonly tags: Map<string, string>
}

/** An upload session. `state` is the `_state` query of its current `Location`. */
export interface UploadSession {
  readonly id: string
  readonly name: string
  readonly parts: Array<Uint8Array>
  size: number
  state: string
  readonly pastStates: Set<string>
  /** Whether the last chunk was shorter than `OCI-Chunk-Min-Length` (then it must be the last). */
  shortChunk: boolean
}

/** The mutable content of one test registry. */
export class Storage {
  readonly blobs = new Map<string, Uint8Array>()
  readonly repositories = new Map<string, Repository>()
  readonly uploads = new Map<string, UploadSession>()

  repository(name: string): Repository | undefined {
    return this.repositories.get(name)
  }

  ensureRepository(name: string): Repository {
    let repository = this.repositories.get(name)
    if (repository === undefined) {
      repository = { blobs: new Set(), manifests: new Map(), tags: new Map() }
      this.repositories.set(name, repository)
    }
    return repository
  }

  /** The bytes of a blob linked into the repository. */
  blob(name: string, digest: string): Uint8Array | undefined {
    return this.repositories.get(name)?.blobs.has(digest) === true ? this.blobs.get(digest) : undefined
  }

  /** Stores the bytes (once per digest) and links them into the repository. */
  putBlob(name: string, digest: string, bytes: Uint8Array): void {
    if (!this.blobs.has(digest)) this.blobs.set(digest, bytes)
    this.ensureRepository(name).blobs.add(digest)
  }

  /** Links a stored blob into another repository. */
  linkBlob(name: string, digest: string): void {
    this.ensureRepository(name).blobs.add(digest)
  }

  /** Removes the link of a blob from a repository (the bytes stay, as until a garbage collection). */
  unlinkBlob(name: string, digest: string): boolean {
    return this.repositories.get(name)?.blobs.delete(digest) === true
  }

  /** A manifest of the repository by tag or digest. */
  manifest(name: string, reference: string): StoredManifest | undefined {
    const repository = this.repositories.get(name)
    if (repository === undefined) return undefined
    const digest = repository.tags.get(reference) ?? reference
    return repository.manifests.get(digest)
  }

  putManifest(name: string, manifest: StoredManifest, tag: string | undefined): void {
    const repository = this.ensureRepository(name)
    repository.manifests.set(manifest.digest, manifest)
    if (tag !== undefined) repository.tags.set(tag, manifest.digest)
  }

  /** Removes a manifest and every tag that points to it. */
  deleteManifest(name: string, digest: string): boolean {
    const repository = this.repositories.get(name)
    if (repository === undefined || !repository.manifests.delete(digest)) return false
    for (const [tag, target] of repository.tags) {
      if (target === digest) repository.tags.delete(tag)
    }
    return true
  }

  deleteTag(name: string, tag: string): boolean {
    return this.repositories.get(name)?.tags.delete(tag) === true
  }

  clear(): void {
    this.blobs.clear()
    this.repositories.clear()
    this.uploads.clear()
  }
}

/** The bytes of several parts as one array. */
export const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (parts.length === 1) return parts[0]
  let size = 0
  for (const part of parts) size += part.length
  const out = new Uint8Array(size)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}
