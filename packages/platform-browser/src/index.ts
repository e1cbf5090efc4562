/**
 * @ocireg/platform-browser: browser layers for ocireg.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as BrowserCors from "./BrowserCors.js"

/**
 * @since 0.1.0
 */
export * as BrowserCredentialStore from "./BrowserCredentialStore.js"

/**
 * @since 0.1.0
 */
export * as BrowserHasher from "./BrowserHasher.js"

/**
 * @since 0.1.0
 */
export * as BrowserRegistry from "./BrowserRegistry.js"
