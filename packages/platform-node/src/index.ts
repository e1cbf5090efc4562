/**
 * @ocireg/platform-node: Node layers for ocireg.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as DockerCredentialStore from "./DockerCredentialStore.js"

/**
 * @since 0.1.0
 */
export * as NodeBlobSource from "./NodeBlobSource.js"

/**
 * @since 0.1.0
 */
export * as NodeHasher from "./NodeHasher.js"

/**
 * @since 0.1.0
 */
export * as NodeRegistry from "./NodeRegistry.js"

/**
 * @since 0.1.0
 */
export * as NodePromise from "./NodePromise.js"

/**
 * @since 0.1.0
 */
export * as OciLayout from "./OciLayout.js"

/**
 * @since 0.1.0
 */
export * as RegistryServer from "./RegistryServer.js"
