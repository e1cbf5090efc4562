/**
 * Manifests: `PUT` validates the JSON (kind from `Content-Type` or the `mediaType` field, which
 * must agree; descriptors well formed), checks that every referenced blob or child manifest is in
 * the repository (`MANIFEST_BLOB_UNKNOWN`), stores the exact bytes under their digest and answers
 * with `Location`, `Docker-Content-Digest` and `OCI-Subject`; `GET`/`HEAD` serve what is stored
 * whatever the `Accept`; `DELETE` removes a manifest with its tags, or one tag.
 *
 * @internal
 */
import * as Digest from "../../Digest.js"
import * as MediaType from "../../MediaType.js"
import { bodyFailure, readBody } from "./body.js"
import { digestOf, type ServerContext } from "./context.js"
import * as Responses from "./responses.js"
import { isTag } from "./routing.js"
import type { StoredManifest } from "./storage.js"

/** A content reference of a manifest: a blob (config, layer) or a child manifest. */
interface Reference {
  readonly digest: string
  /** Foreign and non-distributable layers with `urls` need not be in the registry. */
  readonly external: boolean
}

/** What the registry needs to know of a manifest it accepts. */
export interface Parsed {
  readonly mediaType: string
  readonly references: ReadonlyArray<Reference>
  readonly subject: string | undefined
  /** `artifactType`, or for an image manifest without one, its config's media type. */
  readonly artifactType: string | undefined
  readonly annotations: Readonly<Record<string, string>> | undefined
}

const manifestTypes: ReadonlyArray<string> = [
  MediaType.ociManifest,
  MediaType.ociIndex,
  MediaType.dockerManifest,
  MediaType.dockerManifestList
]

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

type Checked<A> = { readonly value: A } | { readonly error: string }

interface Descriptor {
  readonly mediaType: string
  readonly digest: string
  readonly urls: ReadonlyArray<unknown> | undefined
}

const descriptor = (value: unknown, where: string): Checked<Descriptor> => {
  if (!isObject(value)) return { error: `${where} is not a descriptor object` }
  const { digest, mediaType, size, urls } = value
  if (typeof mediaType !== "string" || mediaType === "") return { error: `${where}.mediaType is missing` }
  if (typeof digest !== "string" || !Digest.isDigest(digest)) return { error: `${where}.digest is not a valid digest` }
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    return { error: `${where}.size is not a non-negative integer` }
  }
  if (urls !== undefined && !Array.isArray(urls)) return { error: `${where}.urls is not an array` }
  return { value: { mediaType, digest, urls } }
}

const descriptors = (value: unknown, where: string): Checked<ReadonlyArray<Descriptor>> => {
  if (!Array.isArray(value)) return { error: `${where} is not an array` }
  const out: Array<Descriptor> = []
  for (let i = 0; i < value.length; i++) {
    const checked = descriptor(value[i], `${where}[${i}]`)
    if ("error" in checked) return checked
    out.push(checked.value)
  }
  return { value: out }
}

const annotationsOf = (value: unknown): Checked<Readonly<Record<string, string>> | undefined> => {
  if (value === undefined) return { value: undefined }
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== "string")) {
    return { error: "annotations is not a map of strings" }
  }
  return { value: value as Record<string, string> }
}

/**
 * Validates a manifest body against its `Content-Type`, the way distribution does for the four
 * schema 2 kinds (schema 1 and unknown media types are refused).
 */
export const parse = (bytes: Uint8Array, contentType: string | null): Checked<Parsed> => {
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes))
  } catch {
    return { error: "body is not JSON" }
  }
  if (!isObject(json)) return { error: "body is not a JSON object" }
  if (json.schemaVersion !== 2) return { error: "schemaVersion must be 2 (schema 1 is not supported)" }
  const headerType = contentType === null ? undefined : MediaType.normalize(contentType) || undefined
  const bodyType = typeof json.mediaType === "string" ? json.mediaType : undefined
  if (json.mediaType !== undefined && bodyType === undefined) return { error: "mediaType is not a string" }
  if (headerType !== undefined && bodyType !== undefined && headerType !== bodyType) {
    return { error: `mediaType ${bodyType} does not match Content-Type ${headerType}` }
  }
  const mediaType = headerType ?? bodyType ??
    (json.manifests !== undefined ? MediaType.ociIndex : MediaType.ociManifest)
  if (!manifestTypes.includes(mediaType)) return { error: `unsupported manifest media type ${mediaType}` }
  const annotations = annotationsOf(json.annotations)
  if ("error" in annotations) return annotations
  if (json.artifactType !== undefined && typeof json.artifactType !== "string") {
    return { error: "artifactType is not a string" }
  }
  let subject: string | undefined
  if (json.subject !== undefined) {
    const checked = descriptor(json.subject, "subject")
    if ("error" in checked) return checked
    subject = checked.value.digest
  }
  const references: Array<Reference> = []
  let artifactType = json.artifactType as string | undefined
  if (MediaType.isIndex(mediaType)) {
    const children = descriptors(json.manifests, "manifests")
    if ("error" in children) return children
    for (const child of children.value) references.push({ digest: child.digest, external: false })
  } else {
    const config = descriptor(json.config, "config")
    if ("error" in config) return config
    const layers = descriptors(json.layers, "layers")
    if ("error" in layers) return layers
    references.push({ digest: config.value.digest, external: false })
    for (const layer of layers.value) {
      const external = MediaType.isNondistributable(layer.mediaType) && (layer.urls?.length ?? 0) > 0
      references.push({ digest: layer.digest, external })
    }
    artifactType ??= config.value.mediaType
  }
  return { value: { mediaType, references, subject, artifactType, annotations: annotations.value } }
}

const invalid = (detail: string): Response => Responses.fail(400, "MANIFEST_INVALID", detail)

/** Stores a manifest without any check (for seeding tests), parsing what it can of it. */
export const store = (
  context: ServerContext,
  name: string,
  reference: string,
  bytes: Uint8Array,
  mediaType: string | undefined
): string => {
  const digest = reference.includes(":") ? reference : digestOf(context, bytes)
  const parsed = parse(bytes, mediaType ?? null)
  const fields = "value" in parsed ? parsed.value : undefined
  const manifest: StoredManifest = {
    digest,
    mediaType: mediaType ?? fields?.mediaType ?? MediaType.ociManifest,
    bytes,
    subject: fields?.subject,
    artifactType: fields?.artifactType,
    annotations: fields?.annotations
  }
  context.storage.putManifest(name, manifest, reference.includes(":") ? undefined : reference)
  return digest
}

/** `PUT /v2/<name>/manifests/<reference>`. */
export const putManifest = async (
  context: ServerContext,
  name: string,
  reference: string,
  request: Request
): Promise<Response> => {
  const byDigest = reference.includes(":")
  if (byDigest && !Digest.isDigest(reference)) return Responses.fail(400, "DIGEST_INVALID", Digest.validate(reference))
  if (!byDigest && !isTag(reference)) return invalid(`invalid tag ${reference}`)
  const body = await readBody(request, context.settings.maxManifestSize)
  if (body._tag !== "Bytes") return bodyFailure(body, "MANIFEST_INVALID")
  const parsed = parse(body.bytes, request.headers.get("content-type"))
  if ("error" in parsed) return invalid(parsed.error)
  const digest = digestOf(context, body.bytes, byDigest ? Digest.algorithm(reference as Digest.Digest) : "sha256")
  if (byDigest && digest !== reference) {
    return Responses.fail(400, "DIGEST_INVALID", { expected: reference, actual: digest })
  }
  const missing = parsed.value.references.filter((r) =>
    !r.external && context.storage.blobSize(name, r.digest) === undefined &&
    context.storage.manifest(name, r.digest) === undefined
  )
  if (missing.length > 0) {
    const unique = Array.from(new Set(missing.map((r) => r.digest)))
    return Responses.error(400, unique.map((d) => Responses.entry("MANIFEST_BLOB_UNKNOWN", d)))
  }
  const { subject, artifactType, annotations, mediaType } = parsed.value
  context.storage.putManifest(
    name,
    { digest, mediaType, bytes: body.bytes, subject, artifactType, annotations },
    byDigest ? undefined : reference
  )
  const headers: Record<string, string> = {
    location: `/v2/${name}/manifests/${digest}`,
    "docker-content-digest": digest,
    "content-length": "0"
  }
  if (subject !== undefined && context.settings.referrersApi) headers["oci-subject"] = subject
  return new Response(null, { status: 201, headers })
}

/** `GET` or `HEAD /v2/<name>/manifests/<reference>`: the stored bytes, whatever the `Accept`. */
export const getManifest = (context: ServerContext, name: string, reference: string): Response => {
  const byDigest = reference.includes(":")
  if (byDigest && !Digest.isDigest(reference)) return Responses.fail(400, "DIGEST_INVALID", Digest.validate(reference))
  const manifest = byDigest || isTag(reference) ? context.storage.manifest(name, reference) : undefined
  if (manifest === undefined) {
    return Responses.fail(404, "MANIFEST_UNKNOWN", byDigest ? { Digest: reference } : { Tag: reference })
  }
  return new Response(manifest.bytes.slice(), {
    status: 200,
    headers: {
      "content-type": manifest.mediaType,
      "content-length": String(manifest.bytes.length),
      "docker-content-digest": manifest.digest,
      etag: `"${manifest.digest}"`
    }
  })
}

/**
 * `DELETE /v2/<name>/manifests/<reference>`: by digest, the manifest and its tags (202); by tag,
 * only the tag when tag deletes are on, else 400 `UNSUPPORTED`. 405 `UNSUPPORTED` when deletes
 * are disabled, as distribution without `storage.delete.enabled`.
 */
export const deleteManifest = (context: ServerContext, name: string, reference: string): Response => {
  if (!context.settings.deleteEnabled) return Responses.fail(405, "UNSUPPORTED")
  if (reference.includes(":")) {
    if (!Digest.isDigest(reference)) return Responses.fail(400, "DIGEST_INVALID", Digest.validate(reference))
    return context.storage.deleteManifest(name, reference)
      ? Responses.empty(202)
      : Responses.fail(404, "MANIFEST_UNKNOWN", { Digest: reference })
  }
  if (!context.settings.tagDelete) return Responses.fail(400, "UNSUPPORTED", "deleting a tag is not supported")
  return context.storage.deleteTag(name, reference)
    ? Responses.empty(202)
    : Responses.fail(404, "MANIFEST_UNKNOWN", { Tag: reference })
}
