/**
 * `@ocireg/core`: a platform-free client for the OCI / Docker Registry HTTP API v2, built on Effect.
 *
 * @since 0.1.0
 */

/**
 * Where credentials for a registry come from: the `CredentialStore` service and its layers.
 *
 * @since 0.1.0
 * @category modules
 */
export * as CredentialStore from "./CredentialStore.js"

/**
 * Whole-image work: pull, push, copy, tag and inspect.
 *
 * @since 0.1.0
 * @category modules
 */
export * as Image from "./Image.js"

/**
 * Where the bytes of a blob to upload come from, re-readable from an offset when possible.
 *
 * @since 0.1.0
 * @category modules
 */
export * as BlobSource from "./BlobSource.js"

/**
 * Content digests, the `Hasher` service, and verification of streamed bytes.
 *
 * @since 0.1.0
 * @category modules
 */
export * as Digest from "./Digest.js"

/**
 * Manifest, index, descriptor and image configuration schemas, decoding, and platform selection.
 *
 * @since 0.1.0
 * @category modules
 */
export * as Manifest from "./Manifest.js"

/**
 * OCI and Docker media types, `Accept` values, and `Content-Type` predicates.
 *
 * @since 0.1.0
 * @category modules
 */
export * as MediaType from "./MediaType.js"

/**
 * A Promise facade for programs that do not use Effect.
 *
 * @since 0.1.0
 * @category modules
 */
export * as Promise from "./Promise.js"

/**
 * Image references: parsing, Docker Hub normalisation, and formatting.
 *
 * @since 0.1.0
 * @category modules
 */
export * as Reference from "./Reference.js"

/**
 * The registry operations, one function per endpoint of the OCI Distribution API.
 *
 * @since 0.1.0
 * @category modules
 */
export * as Registry from "./Registry.js"

/**
 * The service that speaks HTTP to registries: endpoints, authentication, redirects, retries.
 *
 * @since 0.1.0
 * @category modules
 */
export * as RegistryClient from "./RegistryClient.js"

/**
 * The typed errors of every registry operation.
 *
 * @since 0.1.0
 * @category modules
 */
export * as RegistryError from "./RegistryError.js"

/**
 * An in-memory OCI registry for tests, given as an `HttpClient` layer.
 *
 * @since 0.1.0
 * @category modules
 */
export * as RegistryTest from "./RegistryTest.js"

/**
 * Filter tags by regular expressions and order them by semver, name or creation time.
 *
 * @since 0.1.0
 * @category modules
 */
export * as Tags from "./Tags.js"

/**
 * Build and edit multi-platform indexes from per-platform images.
 *
 * @since 0.1.0
 * @category modules
 */
export * as ImageIndex from "./ImageIndex.js"

/**
 * OCI artifacts (oras style): push, attach to an image, fetch, and the tree of referrers.
 *
 * @since 0.1.0
 * @category modules
 */
export * as Artifact from "./Artifact.js"

/**
 * Mirror repositories between registries, incrementally (skip by digest), with tag filters.
 *
 * @since 0.1.0
 * @category modules
 */
export * as Sync from "./Sync.js"

/**
 * Change images without rebuilding them (crane append / mutate): add layers, set labels,
 * annotations, env, entrypoint, cmd, user, working directory and creation time.
 *
 * @since 0.1.0
 * @category modules
 */
export * as ImageMutate from "./ImageMutate.js"
