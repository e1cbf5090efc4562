/**
 * The content of the test registry: blobs stored once by digest and linked per repository (a blob
 * pushed to one repository is not visible in another until mounted or pushed there), manifests
 * with their tags per repository, and the open upload sessions.
 *
 * `Storage` is the interface the handlers use; `MemoryStorage` keeps everything in maps (the
 * default, as fast as plain maps), and `@ocireg/platform-node`'s `RegistryServer` has a
 * filesystem implementation for `ocireg registry serve --storage DIR`. Everything small
 * (manifests, tags, links, session state) is synchronous; blob bytes move as streams, so a store
 * on disk never holds a whole blob in memory.
 *
 * @internal
 */
import type { Algorithm, HashState } from "../../Digest.js"

/** A manifest as stored: its exact bytes and the fields the referrers API reports. */
export interface StoredManifest {
  readonly digest: string
  readonly mediaType: string
  readonly bytes: Uint8Array
  readonly subject: string | undefined
  readonly artifactType: string | undefined
  readonly annotations: Readonly<Record<string, string>> | undefined
}

/**
 * An upload session. `state` is the `_state` query of its current `Location`; `size` the bytes
 * received. A storage keeps the bytes itself (`appendUpload`) and the fields with `saveUpload`.
 */
export interface UploadSession {
  readonly id: string
  readonly name: string
  size: number
  state: string
  readonly pastStates: Set<string>
  /** Whether the last chunk was shorter than `OCI-Chunk-Min-Length` (then it must be the last). */
  shortChunk: boolean
}

/** The bytes of a blob, or of a range of it: at hand, or streamed. */
export type BlobBody = Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>

/** The outcome of closing an upload: the blob stored, or the digest its bytes really have. */
export type Committed =
  | { readonly _tag: "Stored"; readonly size: number }
  | { readonly _tag: "Mismatch"; readonly actual: string; readonly size: number }

/** Where a test registry keeps its content. */
export interface Storage {
  /** The names of the repositories that hold anything, sorted. */
  readonly repositories: () => ReadonlyArray<string>
  readonly hasRepository: (name: string) => boolean
  /** The tags of a repository to digests; `undefined` when the repository does not exist. */
  readonly tags: (name: string) => ReadonlyMap<string, string> | undefined
  /** Every manifest of a repository. */
  readonly manifests: (name: string) => ReadonlyArray<StoredManifest>
  /** A manifest of the repository by tag or digest. */
  readonly manifest: (name: string, reference: string) => StoredManifest | undefined
  readonly putManifest: (name: string, manifest: StoredManifest, tag: string | undefined) => void
  /** Removes a manifest and every tag that points to it. */
  readonly deleteManifest: (name: string, digest: string) => boolean
  readonly deleteTag: (name: string, tag: string) => boolean
  /** The digests of the blobs linked into a repository, sorted. */
  readonly repositoryBlobs: (name: string) => ReadonlyArray<string>
  /** The size of a blob linked into the repository, `undefined` if it is not. */
  readonly blobSize: (name: string, digest: string) => number | undefined
  /** The size of a stored blob, linked anywhere or nowhere. */
  readonly storedBlobSize: (digest: string) => number | undefined
  /** The bytes `[start, end)` of a stored blob. */
  readonly readBlob: (digest: string, start: number, end: number) => BlobBody
  /** Every stored blob, read whole (for inspection in tests). */
  readonly allBlobs: () => ReadonlyMap<string, Uint8Array>
  /** Stores the bytes (once per digest) and links them into the repository. */
  readonly putBlob: (name: string, digest: string, bytes: Uint8Array) => void
  /** Links a stored blob into another repository. */
  readonly linkBlob: (name: string, digest: string) => void
  /** Removes the link of a blob from a repository (the bytes stay, as until a garbage collection). */
  readonly unlinkBlob: (name: string, digest: string) => boolean
  /** Keeps a new, empty session. */
  readonly openUpload: (session: UploadSession) => void
  readonly upload: (id: string) => UploadSession | undefined
  readonly uploadSessions: () => ReadonlyArray<UploadSession>
  /** Keeps the changed fields of a session. */
  readonly saveUpload: (session: UploadSession) => void
  /**
   * Appends a body to a session's bytes (not to `size`, which the caller moves); returns how many
   * bytes it appended. On a failure, what was appended may remain: the caller truncates.
   */
  readonly appendUpload: (session: UploadSession, body: ReadableStream<Uint8Array> | null) => Promise<number>
  /** Cuts a session's bytes back to `size`. */
  readonly truncateUpload: (session: UploadSession, size: number) => Promise<void>
  /**
   * Closes a session: hashes its bytes, and when they match the digest stores the blob and links it
   * into the session's repository. The session is gone either way.
   */
  readonly commitUpload: (
    session: UploadSession,
    digest: string,
    createHash: (algorithm: Algorithm) => HashState
  ) => Promise<Committed>
  /** Forgets a session and its bytes. */
  readonly deleteUpload: (id: string) => void
  /** Empties everything. */
  readonly clear: () => void
}

/** What one repository holds in memory. */
interface Repository {
  readonly blobs: Set<string>
  readonly manifests: Map<string, StoredManifest>
  readonly tags: Map<string, string>
}

const algorithmOf = (digest: string): Algorithm => digest.slice(0, digest.indexOf(":")) as Algorithm

/** The content of a test registry in memory. */
export class MemoryStorage implements Storage {
  readonly blobs = new Map<string, Uint8Array>()
  readonly repos = new Map<string, Repository>()
  readonly sessions = new Map<string, { readonly session: UploadSession; readonly parts: Array<Uint8Array> }>()

  private ensure(name: string): Repository {
    let repository = this.repos.get(name)
    if (repository === undefined) {
      repository = { blobs: new Set(), manifests: new Map(), tags: new Map() }
      this.repos.set(name, repository)
    }
    return repository
  }

  repositories = (): ReadonlyArray<string> => Array.from(this.repos.keys()).sort()
  hasRepository = (name: string): boolean => this.repos.has(name)
  tags = (name: string): ReadonlyMap<string, string> | undefined => this.repos.get(name)?.tags
  manifests = (name: string): ReadonlyArray<StoredManifest> =>
    Array.from(this.repos.get(name)?.manifests.values() ?? [])

  manifest = (name: string, reference: string): StoredManifest | undefined => {
    const repository = this.repos.get(name)
    if (repository === undefined) return undefined
    return repository.manifests.get(repository.tags.get(reference) ?? reference)
  }

  putManifest = (name: string, manifest: StoredManifest, tag: string | undefined): void => {
    const repository = this.ensure(name)
    repository.manifests.set(manifest.digest, manifest)
    if (tag !== undefined) repository.tags.set(tag, manifest.digest)
  }

  deleteManifest = (name: string, digest: string): boolean => {
    const repository = this.repos.get(name)
    if (repository === undefined || !repository.manifests.delete(digest)) return false
    for (const [tag, target] of repository.tags) {
      if (target === digest) repository.tags.delete(tag)
    }
    return true
  }

  deleteTag = (name: string, tag: string): boolean => this.repos.get(name)?.tags.delete(tag) === true
  repositoryBlobs = (name: string): ReadonlyArray<string> => Array.from(this.repos.get(name)?.blobs ?? []).sort()

  blobSize = (name: string, digest: string): number | undefined =>
    this.repos.get(name)?.blobs.has(digest) === true ? this.blobs.get(digest)?.length : undefined

  storedBlobSize = (digest: string): number | undefined => this.blobs.get(digest)?.length
  readBlob = (digest: string, start: number, end: number): BlobBody =>
    (this.blobs.get(digest) ?? new Uint8Array(0)).slice(start, end) as Uint8Array<ArrayBuffer>
  allBlobs = (): ReadonlyMap<string, Uint8Array> => new Map(this.blobs)

  putBlob = (name: string, digest: string, bytes: Uint8Array): void => {
    if (!this.blobs.has(digest)) this.blobs.set(digest, bytes)
    this.ensure(name).blobs.add(digest)
  }

  linkBlob = (name: string, digest: string): void => {
    this.ensure(name).blobs.add(digest)
  }

  unlinkBlob = (name: string, digest: string): boolean => this.repos.get(name)?.blobs.delete(digest) === true

  openUpload = (session: UploadSession): void => {
    this.sessions.set(session.id, { session, parts: [] })
  }

  upload = (id: string): UploadSession | undefined => this.sessions.get(id)?.session
  uploadSessions = (): ReadonlyArray<UploadSession> => Array.from(this.sessions.values(), (s) => s.session)
  saveUpload = (): void => {}

  appendUpload = async (session: UploadSession, body: ReadableStream<Uint8Array> | null): Promise<number> => {
    const entry = this.sessions.get(session.id)
    if (entry === undefined || body === null) return 0
    let size = 0
    const reader = body.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      entry.parts.push(value)
      size += value.length
    }
    return size
  }

  truncateUpload = async (session: UploadSession, size: number): Promise<void> => {
    const entry = this.sessions.get(session.id)
    if (entry === undefined) return
    const bytes = concat(entry.parts).subarray(0, size)
    entry.parts.length = 0
    if (bytes.length > 0) entry.parts.push(bytes)
  }

  commitUpload = async (
    session: UploadSession,
    digest: string,
    createHash: (algorithm: Algorithm) => HashState
  ): Promise<Committed> => {
    const bytes = concat(this.sessions.get(session.id)?.parts ?? [])
    this.sessions.delete(session.id)
    const state = createHash(algorithmOf(digest))
    state.update(bytes)
    const actual = `${algorithmOf(digest)}:${state.hex()}`
    if (actual !== digest) return { _tag: "Mismatch", actual, size: bytes.length }
    this.putBlob(session.name, digest, bytes)
    return { _tag: "Stored", size: bytes.length }
  }

  deleteUpload = (id: string): void => {
    this.sessions.delete(id)
  }

  clear = (): void => {
    this.blobs.clear()
    this.repos.clear()
    this.sessions.clear()
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
