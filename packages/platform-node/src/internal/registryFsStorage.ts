/**
 * The test registry's content on disk, for `ocireg registry serve --storage DIR`: a restart keeps
 * blobs, manifests, tags and open upload sessions.
 *
 * The layout is distribution's filesystem driver under `DIR/docker/registry/v2` (what `registry:2`
 * writes with `rootdirectory: DIR`), so a directory can move between `ocireg registry serve` and
 * `docker-registry` either way, and the tools that inspect one (`registry garbage-collect`) work:
 *
 * ```
 * blobs/sha256/ab/abcd…/data                                   the bytes, once per digest
 * repositories/<name>/_layers/sha256/<hex>/link                a blob linked into the repository
 * repositories/<name>/_manifests/revisions/sha256/<hex>/link   a manifest of the repository
 * repositories/<name>/_manifests/tags/<tag>/current/link       a tag (and …/index/sha256/<hex>/link)
 * repositories/<name>/_uploads/<id>/data                       an upload session's bytes so far
 * ```
 *
 * Only ocireg's own facts go beside them: `ocireg.json` next to a revision link (the media type,
 * subject, artifact type and annotations the referrers API reports; read from the manifest when
 * absent) and `ocireg-session.json` in an upload directory (offset, `_state`s).
 *
 * Safety: upload bytes are appended to the session's own file and reach `blobs/` only by a
 * `rename` after their digest was verified, so a process killed mid-upload leaves no blob (only a
 * session, which resumes or is cancelled); every small file is written under a temporary name and
 * renamed, so concurrent writers of the same blob or link each leave a whole file. Blobs are read
 * lazily in 1 MiB pieces: no blob is ever held whole in memory.
 *
 * @internal
 */
import * as Digest from "@ocireg/core/Digest"
import * as MediaType from "@ocireg/core/MediaType"
import type * as RegistryTest from "@ocireg/core/RegistryTest"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as FsPromises from "node:fs/promises"
import * as Path from "node:path"

type Storage = RegistryTest.Storage
type StoredManifest = RegistryTest.StoredManifest
type UploadSession = RegistryTest.UploadSession

/** The size of the pieces blobs are read in. */
const pieceSize = 1024 * 1024

const component = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
const namePattern = new RegExp(`^${component}(?:/${component})*$`)
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/
const idPattern = /^[A-Za-z0-9-]{1,64}$/

const validName = (name: string): boolean => name.length <= 255 && namePattern.test(name)

/** `sha256:abc` → `["sha256", "abc"]`, only for a valid digest (so it is safe in a path). */
const split = (digest: string): readonly [string, string] | undefined => {
  if (!Digest.isDigest(digest)) return undefined
  const colon = digest.indexOf(":")
  return [digest.slice(0, colon), digest.slice(colon + 1)]
}

const exists = (path: string): boolean => Fs.existsSync(path)

const readText = (path: string): string | undefined => {
  try {
    return Fs.readFileSync(path, "utf8")
  } catch {
    return undefined
  }
}

const list = (dir: string): ReadonlyArray<Fs.Dirent> => {
  try {
    return Fs.readdirSync(dir, { withFileTypes: true })
  } catch {
    return []
  }
}

/** Writes a file whole under a temporary name in its directory, then renames it into place. */
const writeAtomic = (path: string, data: string | Uint8Array): void => {
  Fs.mkdirSync(Path.dirname(path), { recursive: true })
  const temporary = `${path}.tmp-${Crypto.randomBytes(6).toString("hex")}`
  try {
    Fs.writeFileSync(temporary, data)
    Fs.renameSync(temporary, path)
  } catch (cause) {
    Fs.rmSync(temporary, { force: true })
    throw cause
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** The fields ocireg keeps beside a revision link. */
interface ManifestFacts {
  readonly mediaType: string
  readonly subject?: string | undefined
  readonly artifactType?: string | undefined
  readonly annotations?: Readonly<Record<string, string>> | undefined
}

/** The facts of a manifest that another program stored: read from its JSON. */
const factsOf = (bytes: Uint8Array): ManifestFacts => {
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    json = undefined
  }
  const value = isObject(json) ? json : {}
  const index = Array.isArray(value.manifests)
  const mediaType = typeof value.mediaType === "string"
    ? value.mediaType
    : index
    ? MediaType.ociIndex
    : MediaType.ociManifest
  const subject = isObject(value.subject) && typeof value.subject.digest === "string" ? value.subject.digest : undefined
  const configType = !index && isObject(value.config) && typeof value.config.mediaType === "string"
    ? value.config.mediaType
    : undefined
  const artifactType = typeof value.artifactType === "string" ? value.artifactType : configType
  const annotations =
    isObject(value.annotations) && Object.values(value.annotations).every((v) => typeof v === "string")
      ? value.annotations as Record<string, string>
      : undefined
  return { mediaType, subject, artifactType, annotations }
}

/** A lazily opened stream of the bytes `[start, end)` of a file, read in pieces. */
const fileStream = (path: string, start: number, end: number): ReadableStream<Uint8Array> => {
  let handle: FsPromises.FileHandle | undefined
  let position = start
  const close = async () => {
    const open = handle
    handle = undefined
    await open?.close().catch(() => undefined)
  }
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        handle ??= await FsPromises.open(path, "r")
        const length = Math.min(pieceSize, end - position)
        if (length <= 0) {
          await close()
          return controller.close()
        }
        const buffer = new Uint8Array(length)
        const { bytesRead } = await handle.read(buffer, 0, length, position)
        if (bytesRead === 0) throw new Error(`${path} ended at ${position} of ${end} bytes`)
        position += bytesRead
        controller.enqueue(bytesRead === length ? buffer : buffer.subarray(0, bytesRead))
      } catch (cause) {
        await close()
        controller.error(cause)
      }
    },
    cancel: close
  }, { highWaterMark: 0 })
}

interface SessionFile {
  readonly id: string
  readonly name: string
  readonly size: number
  readonly state: string
  readonly pastStates: ReadonlyArray<string>
  readonly shortChunk: boolean
}

/**
 * A `Storage` in a directory (created when missing). Upload sessions found there are taken up
 * again, their bytes cut back to the last offset they acknowledged.
 */
export const make = (directory: string): Storage => {
  const root = Path.join(Path.resolve(directory), "docker", "registry", "v2")
  Fs.mkdirSync(root, { recursive: true })
  const blobsDir = Path.join(root, "blobs")
  const reposDir = Path.join(root, "repositories")

  const blobPath = (digest: string): string | undefined => {
    const parts = split(digest)
    return parts === undefined ? undefined : Path.join(blobsDir, parts[0], parts[1].slice(0, 2), parts[1], "data")
  }
  const repoDir = (name: string): string | undefined => validName(name) ? Path.join(reposDir, name) : undefined
  const linkPath = (name: string, kind: "_layers" | "revisions", digest: string): string | undefined => {
    const dir = repoDir(name)
    const parts = split(digest)
    if (dir === undefined || parts === undefined) return undefined
    return kind === "_layers"
      ? Path.join(dir, "_layers", parts[0], parts[1], "link")
      : Path.join(dir, "_manifests", "revisions", parts[0], parts[1], "link")
  }
  const tagDir = (name: string, tag: string): string | undefined => {
    const dir = repoDir(name)
    return dir === undefined || !tagPattern.test(tag) ? undefined : Path.join(dir, "_manifests", "tags", tag)
  }
  const uploadDir = (name: string, id: string): string | undefined => {
    const dir = repoDir(name)
    return dir === undefined || !idPattern.test(id) ? undefined : Path.join(dir, "_uploads", id)
  }
  const need = <A>(value: A | undefined, what: string): A => {
    if (value === undefined) throw new Error(`invalid ${what}`)
    return value
  }

  /** Every `<alg>:<hex>` with a `link` under `dir/<alg>/<hex>/`. */
  const linkedDigests = (dir: string): Array<string> => {
    const out: Array<string> = []
    for (const algorithm of list(dir)) {
      if (!algorithm.isDirectory()) continue
      for (const encoded of list(Path.join(dir, algorithm.name))) {
        const digest = `${algorithm.name}:${encoded.name}`
        if (Digest.isDigest(digest) && exists(Path.join(dir, algorithm.name, encoded.name, "link"))) out.push(digest)
      }
    }
    return out.sort()
  }

  const writeBlob = (digest: string, bytes: Uint8Array): void => {
    const path = need(blobPath(digest), "digest")
    if (!exists(path)) writeAtomic(path, bytes)
  }

  // manifests are content-addressed: what was read once stays true until deleted
  const manifestCache = new Map<string, StoredManifest>()
  const cacheKey = (name: string, digest: string) => `${name}@${digest}`

  const loadManifest = (name: string, digest: string): StoredManifest | undefined => {
    const key = cacheKey(name, digest)
    const cached = manifestCache.get(key)
    if (cached !== undefined) return cached
    const link = linkPath(name, "revisions", digest)
    const path = blobPath(digest)
    if (link === undefined || path === undefined || !exists(link)) return undefined
    let bytes: Uint8Array
    try {
      bytes = new Uint8Array(Fs.readFileSync(path))
    } catch {
      return undefined
    }
    const sidecar = readText(Path.join(Path.dirname(link), "ocireg.json"))
    let facts: ManifestFacts | undefined
    try {
      const parsed: unknown = sidecar === undefined ? undefined : JSON.parse(sidecar)
      if (isObject(parsed) && typeof parsed.mediaType === "string") facts = parsed as unknown as ManifestFacts
    } catch {
      facts = undefined
    }
    facts ??= factsOf(bytes)
    const manifest: StoredManifest = {
      digest,
      mediaType: facts.mediaType,
      bytes,
      subject: facts.subject,
      artifactType: facts.artifactType,
      annotations: facts.annotations
    }
    manifestCache.set(key, manifest)
    return manifest
  }

  const tagTarget = (name: string, tag: string): string | undefined => {
    const dir = tagDir(name, tag)
    const text = dir === undefined ? undefined : readText(Path.join(dir, "current", "link"))?.trim()
    return text !== undefined && Digest.isDigest(text) ? text : undefined
  }

  const tagsOf = (name: string): Map<string, string> => {
    const dir = repoDir(name)
    const out = new Map<string, string>()
    if (dir === undefined) return out
    for (const entry of list(Path.join(dir, "_manifests", "tags"))) {
      const target = tagTarget(name, entry.name)
      if (target !== undefined) out.set(entry.name, target)
    }
    return out
  }

  const hasRepository = (name: string): boolean => {
    const dir = repoDir(name)
    return dir !== undefined && (exists(Path.join(dir, "_manifests")) || exists(Path.join(dir, "_layers")))
  }

  const repositories = (): ReadonlyArray<string> => {
    const out: Array<string> = []
    const walk = (dir: string, prefix: string) => {
      const entries = list(dir)
      if (prefix !== "" && entries.some((e) => e.name === "_manifests" || e.name === "_layers")) out.push(prefix)
      for (const entry of entries) {
        if (entry.isDirectory() && !entry.name.startsWith("_")) {
          walk(Path.join(dir, entry.name), prefix === "" ? entry.name : `${prefix}/${entry.name}`)
        }
      }
    }
    walk(reposDir, "")
    return out.sort()
  }

  const storedBlobSize = (digest: string): number | undefined => {
    const path = blobPath(digest)
    if (path === undefined) return undefined
    try {
      return Fs.statSync(path).size
    } catch {
      return undefined
    }
  }

  const linkBlob = (name: string, digest: string): void => {
    writeAtomic(need(linkPath(name, "_layers", digest), "repository or digest"), digest)
  }

  // upload sessions: state on disk, mirrored in memory; taken up again at start
  const sessions = new Map<string, UploadSession>()
  const sessionPaths = (session: UploadSession) => {
    const dir = need(uploadDir(session.name, session.id), "upload")
    return { dir, data: Path.join(dir, "data"), state: Path.join(dir, "ocireg-session.json") }
  }
  const saveUpload = (session: UploadSession): void => {
    const file: SessionFile = {
      id: session.id,
      name: session.name,
      size: session.size,
      state: session.state,
      pastStates: Array.from(session.pastStates),
      shortChunk: session.shortChunk
    }
    writeAtomic(sessionPaths(session).state, JSON.stringify(file))
  }
  const resume = () => {
    for (const name of repositories().concat(uploadOnlyRepositories())) {
      for (const entry of list(Path.join(reposDir, name, "_uploads"))) {
        const text = readText(Path.join(reposDir, name, "_uploads", entry.name, "ocireg-session.json"))
        if (text === undefined) continue
        try {
          const file = JSON.parse(text) as SessionFile
          if (file.id !== entry.name || file.name !== name || !Number.isSafeInteger(file.size)) continue
          const session: UploadSession = {
            id: file.id,
            name: file.name,
            size: file.size,
            state: file.state,
            pastStates: new Set(file.pastStates),
            shortChunk: file.shortChunk
          }
          // a process killed mid-chunk may have left bytes past the acknowledged offset
          const data = sessionPaths(session).data
          if ((Fs.statSync(data, { throwIfNoEntry: false })?.size ?? -1) !== session.size) {
            if (!exists(data)) continue
            Fs.truncateSync(data, session.size)
          }
          sessions.set(session.id, session)
        } catch {
          continue
        }
      }
    }
  }
  /** Repositories that hold nothing but upload sessions (a first push killed mid-upload). */
  const uploadOnlyRepositories = (): Array<string> => {
    const out: Array<string> = []
    const walk = (dir: string, prefix: string) => {
      const entries = list(dir)
      const names = entries.map((e) => e.name)
      if (prefix !== "" && names.includes("_uploads") && !names.includes("_manifests") && !names.includes("_layers")) {
        out.push(prefix)
      }
      for (const entry of entries) {
        if (entry.isDirectory() && !entry.name.startsWith("_")) {
          walk(Path.join(dir, entry.name), prefix === "" ? entry.name : `${prefix}/${entry.name}`)
        }
      }
    }
    walk(reposDir, "")
    return out
  }
  resume()

  const removeUpload = (id: string): void => {
    const session = sessions.get(id)
    sessions.delete(id)
    if (session !== undefined) Fs.rmSync(sessionPaths(session).dir, { recursive: true, force: true })
  }

  return {
    repositories,
    hasRepository,
    tags: (name) => hasRepository(name) ? tagsOf(name) : undefined,
    manifests: (name) => {
      const dir = repoDir(name)
      if (dir === undefined) return []
      return linkedDigests(Path.join(dir, "_manifests", "revisions")).flatMap((digest) => {
        const manifest = loadManifest(name, digest)
        return manifest === undefined ? [] : [manifest]
      })
    },
    manifest: (name, reference) => {
      const digest = reference.includes(":") ? reference : tagTarget(name, reference)
      return digest === undefined ? undefined : loadManifest(name, digest)
    },
    putManifest: (name, manifest, tag) => {
      const link = need(linkPath(name, "revisions", manifest.digest), "repository or digest")
      writeBlob(manifest.digest, manifest.bytes)
      const facts: ManifestFacts = {
        mediaType: manifest.mediaType,
        subject: manifest.subject,
        artifactType: manifest.artifactType,
        annotations: manifest.annotations
      }
      writeAtomic(Path.join(Path.dirname(link), "ocireg.json"), JSON.stringify(facts))
      writeAtomic(link, manifest.digest)
      manifestCache.set(cacheKey(name, manifest.digest), manifest)
      if (tag !== undefined) {
        const dir = need(tagDir(name, tag), "tag")
        const [algorithm, encoded] = need(split(manifest.digest), "digest")
        writeAtomic(Path.join(dir, "index", algorithm, encoded, "link"), manifest.digest)
        writeAtomic(Path.join(dir, "current", "link"), manifest.digest)
      }
    },
    deleteManifest: (name, digest) => {
      const link = linkPath(name, "revisions", digest)
      if (link === undefined || !exists(link)) return false
      for (const [tag, target] of tagsOf(name)) {
        if (target === digest) Fs.rmSync(need(tagDir(name, tag), "tag"), { recursive: true, force: true })
      }
      Fs.rmSync(Path.dirname(link), { recursive: true, force: true })
      manifestCache.delete(cacheKey(name, digest))
      return true
    },
    deleteTag: (name, tag) => {
      const dir = tagDir(name, tag)
      if (dir === undefined || !exists(dir)) return false
      Fs.rmSync(dir, { recursive: true, force: true })
      return true
    },
    repositoryBlobs: (name) => {
      const dir = repoDir(name)
      return dir === undefined ? [] : linkedDigests(Path.join(dir, "_layers"))
    },
    blobSize: (name, digest) => {
      const link = linkPath(name, "_layers", digest)
      return link !== undefined && exists(link) ? storedBlobSize(digest) : undefined
    },
    storedBlobSize,
    readBlob: (digest, start, end) =>
      end <= start ? new Uint8Array(0) : fileStream(need(blobPath(digest), "digest"), start, end),
    allBlobs: () => {
      const out = new Map<string, Uint8Array>()
      for (const algorithm of list(blobsDir)) {
        for (const prefix of list(Path.join(blobsDir, algorithm.name))) {
          for (const encoded of list(Path.join(blobsDir, algorithm.name, prefix.name))) {
            const digest = `${algorithm.name}:${encoded.name}`
            const path = blobPath(digest)
            if (path !== undefined && exists(path)) out.set(digest, new Uint8Array(Fs.readFileSync(path)))
          }
        }
      }
      return out
    },
    putBlob: (name, digest, bytes) => {
      writeBlob(digest, bytes)
      linkBlob(name, digest)
    },
    linkBlob,
    unlinkBlob: (name, digest) => {
      const link = linkPath(name, "_layers", digest)
      if (link === undefined || !exists(link)) return false
      Fs.rmSync(Path.dirname(link), { recursive: true, force: true })
      return true
    },
    openUpload: (session) => {
      const paths = sessionPaths(session)
      Fs.mkdirSync(paths.dir, { recursive: true })
      Fs.writeFileSync(paths.data, new Uint8Array(0))
      Fs.writeFileSync(Path.join(paths.dir, "startedat"), new Date().toISOString())
      saveUpload(session)
      sessions.set(session.id, session)
    },
    upload: (id) => sessions.get(id),
    uploadSessions: () => Array.from(sessions.values()),
    saveUpload,
    appendUpload: async (session, body) => {
      if (body === null) return 0
      const handle = await FsPromises.open(sessionPaths(session).data, "a")
      let size = 0
      try {
        const reader = body.getReader()
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          await handle.write(value)
          size += value.length
        }
      } finally {
        await handle.close()
      }
      return size
    },
    truncateUpload: (session, size) => FsPromises.truncate(sessionPaths(session).data, size),
    commitUpload: async (session, digest, createHash) => {
      const paths = sessionPaths(session)
      const target = blobPath(digest)
      const [algorithm] = need(split(digest), "digest")
      const state = createHash(algorithm as Digest.Algorithm)
      let size = 0
      const handle = await FsPromises.open(paths.data, "r")
      try {
        const buffer = new Uint8Array(pieceSize)
        for (;;) {
          const { bytesRead } = await handle.read(buffer, 0, pieceSize, size)
          if (bytesRead === 0) break
          state.update(buffer.subarray(0, bytesRead))
          size += bytesRead
        }
        // the bytes reach the disk before the name does
        if (target !== undefined && !exists(target)) await handle.sync()
      } finally {
        await handle.close()
      }
      const actual = `${algorithm}:${state.hex()}`
      if (actual !== digest || target === undefined) {
        removeUpload(session.id)
        return { _tag: "Mismatch", actual, size }
      }
      if (!exists(target)) {
        Fs.mkdirSync(Path.dirname(target), { recursive: true })
        Fs.renameSync(paths.data, target)
      }
      linkBlob(session.name, digest)
      removeUpload(session.id)
      return { _tag: "Stored", size }
    },
    deleteUpload: removeUpload,
    clear: () => {
      sessions.clear()
      manifestCache.clear()
      Fs.rmSync(blobsDir, { recursive: true, force: true })
      Fs.rmSync(reposDir, { recursive: true, force: true })
    }
  }
}
