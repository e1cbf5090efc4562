/**
 * @ocireg/core: a platform-free client for the OCI / Docker Registry HTTP API v2, built on Effect.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as CredentialStore from "./CredentialStore.js"

/**
 * @since 0.1.0
 */
export * as Image from "./Image.js"

/**
 * @since 0.1.0
 */
export * as BlobSource from "./BlobSource.js"

/**
 * @since 0.1.0
 */
export * as Digest from "./Digest.js"

/**
 * @since 0.1.0
 */
export * as Manifest from "./Manifest.js"

/**
 * @since 0.1.0
 */
export * as MediaType from "./MediaType.js"

/**
 * @since 0.1.0
 */
export * as Promise from "./Promise.js"

/**
 * @since 0.1.0
 */
export * as Reference from "./Reference.js"

/**
 * @since 0.1.0
 */
export * as Registry from "./Registry.js"

/**
 * @since 0.1.0
 */
export * as RegistryClient from "./RegistryClient.js"

/**
 * @since 0.1.0
 */
export * as RegistryError from "./RegistryError.js"

/**
 * @since 0.1.0
 */
export * as RegistryTest from "./RegistryTest.js"
