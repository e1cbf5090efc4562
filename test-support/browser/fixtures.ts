/**
 * What the browser tests' global setup hands to the tests with `provide` (plain JSON: the tests
 * run in Chromium). Import only types from here in browser code.
 */
import type { BrowserGate } from "./chromium.js"

/** A blob the tests can fetch. */
export interface BlobInfo {
  readonly digest: string
  readonly size: number
  readonly mediaType: string
}

/** An image seeded with skopeo. */
export interface SeededInfo {
  /** `HOST/repository:tag`, HOST being what the browser talks to (the proxy, when there is one). */
  readonly reference: string
  readonly repository: string
  readonly tag: string
  readonly rootDigest: string
  readonly rootMediaType: string
  /** `os/arch[/variant]` of each manifest under an index; empty for a single manifest. */
  readonly platforms: ReadonlyArray<string>
  /** The layers of the first image manifest. */
  readonly layers: ReadonlyArray<BlobInfo>
  readonly config: BlobInfo
}

/** One registry set up for the browser, in one auth mode. */
export interface BrowserRegistryFixture {
  readonly name: "open" | "basic" | "token"
  /** The host the browser uses (`127.0.0.1:PORT`): nginx for `basic` and `token`. */
  readonly host: string
  readonly url: string
  /** The registry itself, without the proxy (its preflight answers are 401 when auth is on). */
  readonly directHost: string
  readonly multi: SeededInfo
  readonly single: SeededInfo
  /** An image whose first layer the registry serves with one byte flipped. */
  readonly corrupt: SeededInfo
}

/** Everything the browser integration tests get. */
export interface BrowserFixtures {
  /** Whether the integration suites run, skip, or must fail (binaries missing in CI). */
  readonly gate: { readonly skip: boolean; readonly fail: boolean; readonly message: string }
  /** username → password, valid in `basic` and `token` mode. */
  readonly users: Readonly<Record<string, string>>
  readonly registries: ReadonlyArray<BrowserRegistryFixture>
  /** Misconfigured registries for the CORS error tests. */
  readonly misconfigured: {
    /** An open registry that sends no CORS header at all. */
    readonly noCors: string
    /** An open registry that allows the origin, methods and headers but exposes no header. */
    readonly noExpose: string
    /** A basic-auth registry behind nginx whose answers expose no header (`WWW-Authenticate` hidden). */
    readonly basicNoExpose: string
    /** A token-auth registry behind nginx whose token server sends no CORS header. */
    readonly tokenNoCors: string
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    "ocireg.browserGate": BrowserGate
    "ocireg.browserFixtures": BrowserFixtures
  }
}
