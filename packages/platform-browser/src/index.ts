/**
 * `@ocireg/platform-browser`: browser layers for ocireg.
 *
 * @since 0.1.0
 */

/**
 * CORS requirements for registries used from a browser, and clear errors when they are not met.
 *
 * @since 0.1.0
 * @category modules
 */
export * as BrowserCors from "./BrowserCors.js"

/**
 * Credential stores for browser programs: in memory or in `sessionStorage`.
 *
 * @since 0.1.0
 * @category modules
 */
export * as BrowserCredentialStore from "./BrowserCredentialStore.js"

/**
 * The `Hasher` for browsers: an incremental sha256 in WebAssembly or JavaScript.
 *
 * @since 0.1.0
 * @category modules
 */
export * as BrowserHasher from "./BrowserHasher.js"

/**
 * The layers a browser program needs: fetch HTTP, an incremental hasher, and the `RegistryClient`.
 *
 * @since 0.1.0
 * @category modules
 */
export * as BrowserRegistry from "./BrowserRegistry.js"
