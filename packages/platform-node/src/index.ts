/**
 * `@ocireg/platform-node`: Node layers for ocireg.
 *
 * @since 0.1.0
 */

/**
 * Credentials from Docker's `config.json`, credential helpers and containers `auth.json`.
 *
 * @since 0.1.0
 * @category modules
 */
export * as DockerCredentialStore from "./DockerCredentialStore.js"

/**
 * Blobs to files: `downloadBlob`, verified and atomic, with typed errors.
 *
 * @since 0.2.0
 * @category modules
 */
export * as NodeBlob from "./NodeBlob.js"

/**
 * Blob sources backed by files, re-readable from any offset.
 *
 * @since 0.1.0
 * @category modules
 */
export * as NodeBlobSource from "./NodeBlobSource.js"

/**
 * The `Hasher` for Node, on `node:crypto`.
 *
 * @since 0.1.0
 * @category modules
 */
export * as NodeHasher from "./NodeHasher.js"

/**
 * ocireg's `HttpClient` on `node:http` keep-alive agents (large response pieces, backpressure).
 *
 * @since 0.1.0
 * @category modules
 */
export * as NodeHttpClient from "./NodeHttpClient.js"

/**
 * The layers a Node program needs: `NodeHttpClient`, the `node:crypto` hasher, and the `RegistryClient`.
 *
 * @since 0.1.0
 * @category modules
 */
export * as NodeRegistry from "./NodeRegistry.js"

/**
 * The Promise facade on Node layers, with Docker credentials by default.
 *
 * @since 0.1.0
 * @category modules
 */
export * as NodePromise from "./NodePromise.js"

/**
 * Read and write OCI image layout directories on disk.
 *
 * @since 0.1.0
 * @category modules
 */
export * as OciLayout from "./OciLayout.js"

/**
 * Serve the in-memory test registry over HTTP on a loopback port.
 *
 * @since 0.1.0
 * @category modules
 */
export * as RegistryServer from "./RegistryServer.js"

/**
 * Write and read image archives: docker-archive (`docker save` / `docker load`) and oci-archive.
 *
 * @since 0.1.0
 * @category modules
 */
export * as ImageArchive from "./ImageArchive.js"
