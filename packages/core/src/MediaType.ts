/**
 * The media types of the OCI image specification and of Docker's image formats, the `Accept`
 * header values a client sends to get manifests, and predicates over `Content-Type` values.
 *
 * Every predicate normalises its input first (parameters such as `; charset=utf-8` removed,
 * lower-cased), so a raw `Content-Type` header can be passed as it is.
 *
 * @since 0.1.0
 */

// OCI ------------------------------------------------------------------------------------------

/**
 * OCI image manifest.
 *
 * @since 0.1.0
 * @category oci
 */
export const ociManifest = "application/vnd.oci.image.manifest.v1+json" as const

/**
 * OCI image index (a multi-platform image, or any list of manifests).
 *
 * @since 0.1.0
 * @category oci
 */
export const ociIndex = "application/vnd.oci.image.index.v1+json" as const

/**
 * OCI image configuration.
 *
 * @since 0.1.0
 * @category oci
 */
export const ociConfig = "application/vnd.oci.image.config.v1+json" as const

/**
 * OCI layer, uncompressed tar.
 *
 * @since 0.1.0
 * @category oci
 */
export const ociLayerTar = "application/vnd.oci.image.layer.v1.tar" as const

/**
 * OCI layer, gzip-compressed tar.
 *
 * @since 0.1.0
 * @category oci
 */
export const ociLayerTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip" as const

/**
 * OCI layer, zstd-compressed tar.
 *
 * @since 0.1.0
 * @category oci
 */
export const ociLayerTarZstd = "application/vnd.oci.image.layer.v1.tar+zstd" as const

/**
 * OCI non-distributable layer, uncompressed tar (deprecated by the spec, still found in the wild).
 *
 * @since 0.1.0
 * @category oci
 */
export const ociLayerNondistributableTar = "application/vnd.oci.image.layer.nondistributable.v1.tar" as const

/**
 * OCI non-distributable layer, gzip-compressed tar.
 *
 * @since 0.1.0
 * @category oci
 */
export const ociLayerNondistributableTarGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" as const

/**
 * OCI non-distributable layer, zstd-compressed tar.
 *
 * @since 0.1.0
 * @category oci
 */
export const ociLayerNondistributableTarZstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" as const

/**
 * The OCI empty descriptor's media type: the two-byte blob `{}`, used as the config of artifacts.
 *
 * @since 0.1.0
 * @category oci
 */
export const ociEmpty = "application/vnd.oci.empty.v1+json" as const

// Docker ---------------------------------------------------------------------------------------

/**
 * Docker image manifest, version 2 schema 2.
 *
 * @since 0.1.0
 * @category docker
 */
export const dockerManifest = "application/vnd.docker.distribution.manifest.v2+json" as const

/**
 * Docker manifest list (multi-platform image), version 2 schema 2.
 *
 * @since 0.1.0
 * @category docker
 */
export const dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json" as const

/**
 * Docker container image configuration.
 *
 * @since 0.1.0
 * @category docker
 */
export const dockerConfig = "application/vnd.docker.container.image.v1+json" as const

/**
 * Docker layer, gzip-compressed tar.
 *
 * @since 0.1.0
 * @category docker
 */
export const dockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip" as const

/**
 * Docker foreign layer (fetched from its `urls`, typically Windows base layers).
 *
 * @since 0.1.0
 * @category docker
 */
export const dockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" as const

/**
 * Docker image manifest, version 2 schema 1 (unsigned). Deprecated and not supported by ocireg.
 *
 * @since 0.1.0
 * @category docker
 */
export const dockerSchema1Manifest = "application/vnd.docker.distribution.manifest.v1+json" as const

/**
 * Docker image manifest, version 2 schema 1 (signed). Deprecated and not supported by ocireg.
 *
 * @since 0.1.0
 * @category docker
 */
export const dockerSchema1SignedManifest = "application/vnd.docker.distribution.manifest.v1+prettyjws" as const

// Sets -----------------------------------------------------------------------------------------

/**
 * The manifest media types ocireg reads.
 *
 * @since 0.1.0
 * @category models
 */
export type ManifestMediaType =
  | typeof ociManifest
  | typeof ociIndex
  | typeof dockerManifest
  | typeof dockerManifestList

/**
 * The manifest media types ocireg reads, OCI first.
 *
 * @since 0.1.0
 * @category accept
 */
export const manifestTypes: ReadonlyArray<ManifestMediaType> = [
  ociManifest,
  ociIndex,
  dockerManifest,
  dockerManifestList
]

/**
 * `Accept` header value for fetching any manifest: image or index, OCI or Docker (OCI first).
 *
 * @since 0.1.0
 * @category accept
 */
export const manifestAccept: string = manifestTypes.join(", ")

/**
 * `Accept` header value for fetching an index (OCI image index or Docker manifest list).
 *
 * @since 0.1.0
 * @category accept
 */
export const indexAccept: string = [ociIndex, dockerManifestList].join(", ")

/**
 * `Accept` header value for fetching a single-platform image manifest (OCI or Docker).
 *
 * @since 0.1.0
 * @category accept
 */
export const imageAccept: string = [ociManifest, dockerManifest].join(", ")

// Predicates -----------------------------------------------------------------------------------

/**
 * The bare media type of a `Content-Type` value: parameters (`; charset=utf-8`) and surrounding
 * white space removed, lower-cased.
 *
 * @since 0.1.0
 * @category utils
 */
export const normalize = (contentType: string): string => {
  const semicolon = contentType.indexOf(";")
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase()
}

/**
 * Whether a media type is an index: an OCI image index or a Docker manifest list.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isIndex = (mediaType: string): boolean => {
  const type = normalize(mediaType)
  return type === ociIndex || type === dockerManifestList
}

/**
 * Whether a media type is a single-platform image manifest: OCI image manifest or Docker v2
 * schema 2 (schema 1 is not: see `isSchema1`).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isImageManifest = (mediaType: string): boolean => {
  const type = normalize(mediaType)
  return type === ociManifest || type === dockerManifest
}

/**
 * Whether a media type is a Docker schema 1 manifest (signed or not), which ocireg refuses.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isSchema1 = (mediaType: string): boolean => {
  const type = normalize(mediaType)
  return type === dockerSchema1Manifest || type === dockerSchema1SignedManifest
}

/**
 * Whether a media type is one of the four manifest kinds ocireg reads (schema 1 excluded).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isManifest = (mediaType: string): boolean => isIndex(mediaType) || isImageManifest(mediaType)

/**
 * Whether a media type is a layer that registries may refuse to store or serve: OCI
 * non-distributable layers and Docker foreign layers. Copies usually skip their blobs.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isNondistributable = (mediaType: string): boolean => {
  const type = normalize(mediaType)
  return type === dockerForeignLayer || type.startsWith("application/vnd.oci.image.layer.nondistributable.")
}
