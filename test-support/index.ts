/**
 * The integration-test harness: real `docker-registry` processes, a Docker token server,
 * generated OCI layouts and `skopeo` helpers. Import by relative path from any package's tests,
 * e.g. `import { startRegistry } from "../../../test-support/index.js"`.
 */
export * from "./binaries.js"
export * from "./exec.js"
export * from "./faultProxy.js"
export * from "./faultScenarios.js"
export * from "./images.js"
export * from "./ports.js"
export * from "./registry.js"
export * from "./skopeo.js"
export * from "./tokenServer.js"
