/**
 * The typed errors of ocireg. Every failure of a registry operation is one of these classes,
 * all tagged (`_tag`) so callers can `Effect.catchTag` them, and all sharing one `TypeId` so
 * `isRegistryError` recognises any of them.
 *
 * No error ever carries a secret: no credentials, tokens, `Authorization` headers or signed
 * query strings (URLs are stored without their query and user info).
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * The symbol every ocireg error carries, so `isRegistryError` can recognise any of them.
 *
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@ocireg/core/RegistryError")

/**
 * The type of `TypeId`.
 *
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Whether a value is one of ocireg's registry errors.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isRegistryError = (u: unknown): u is RegistryError => Predicate.hasProperty(u, TypeId)

/**
 * One entry of the OCI error body `{"errors":[{"code","message","detail"}]}`.
 *
 * @since 0.1.0
 * @category models
 */
export class ErrorDetail extends Schema.Class<ErrorDetail>("@ocireg/core/ErrorDetail")({
  code: Schema.String,
  message: Schema.optionalWith(Schema.String, { default: () => "" }),
  detail: Schema.optional(Schema.Unknown)
}) {}

const suffix = (detail: string | undefined) => (detail ? `: ${detail}` : "")

/**
 * The registry refused who we are: credentials missing or rejected (401), or the token exchange
 * failed. `reason` says which:
 *
 * - `MissingCredentials`: none are configured and the registry wants some (for a repository that
 *   may also simply not exist: registries answer both the same way to anonymous clients).
 * - `RejectedCredentials`: the registry (Basic) or its token realm refused the credentials
 *   themselves. Only this reason makes the client forget its cached credential lookup.
 * - `TokenRejected`: the realm accepted the credentials and issued a token, but the registry
 *   refused that token even after a fresh one (a realm and registry that disagree); the
 *   credentials are kept.
 * - `TokenExchangeFailed`, `UnsupportedChallenge`, `InsecureTransport`, `CredentialLookupFailed`.
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthenticationError extends Schema.TaggedError<AuthenticationError>()("AuthenticationError", {
  registry: Schema.String,
  reason: Schema.Literal(
    "MissingCredentials",
    "RejectedCredentials",
    "TokenRejected",
    "TokenExchangeFailed",
    "UnsupportedChallenge",
    "InsecureTransport",
    "CredentialLookupFailed"
  ),
  detail: Schema.optional(Schema.String)
}) {
  /**
   * Marks the error as an ocireg error, for `isRegistryError`.
   *
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return `Authentication with ${this.registry} failed (${this.reason})${suffix(this.detail)}`
  }
}

/**
 * The registry knows who we are but refuses the operation. `reason`:
 *
 * - `Denied`: a 403 or a `DENIED` error code.
 * - `NotFoundOrDenied`: a token accepted by the registry's realm lacks the access a repository
 *   needs (401 `insufficient_scope`, or `DENIED` / "requested access to the resource is
 *   denied"). Docker Hub, GHCR and Harbor answer this way both for a repository that does not
 *   exist and for one the account may not see, so the two cannot be told apart: the message says
 *   "repository … not found or access denied on …". The credentials are not at fault and are kept.
 * - `InsufficientScope`: the same refusal for a scope that names no repository (the catalog's
 *   `registry:catalog:*`).
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthorizationError extends Schema.TaggedError<AuthorizationError>()("AuthorizationError", {
  registry: Schema.String,
  reason: Schema.Literal("Denied", "InsufficientScope", "NotFoundOrDenied"),
  repository: Schema.optional(Schema.String),
  scope: Schema.optional(Schema.String),
  detail: Schema.optional(Schema.String)
}) {
  /**
   * Marks the error as an ocireg error, for `isRegistryError`.
   *
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    if (this.reason === "NotFoundOrDenied") {
      const what = this.repository ? `repository ${this.repository}` : "repository"
      const scope = this.scope ? ` (needs ${this.scope})` : ""
      return `${what} not found or access denied on ${this.registry}${scope}${suffix(this.detail)}`
    }
    const scope = this.scope ? ` for ${this.scope}` : ""
    const where = this.repository ? `${this.repository} on ${this.registry}` : this.registry
    return `Access to ${where} refused${scope} (${this.reason})${suffix(this.detail)}`
  }
}

/**
 * What a `NotFound` was looking for.
 *
 * @since 0.1.0
 * @category models
 */
export const NotFoundKind = Schema.Literal("manifest", "blob", "repository", "upload", "tag", "referrers")

/**
 * What a `NotFound` was looking for: `"manifest"`, `"blob"`, `"repository"`, `"upload"`, `"tag"` or `"referrers"`.
 *
 * @since 0.1.0
 * @category models
 */
export type NotFoundKind = typeof NotFoundKind.Type

/**
 * The registry has no such manifest, blob, repository or upload session.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  kind: NotFoundKind,
  registry: Schema.String,
  repository: Schema.optional(Schema.String),
  reference: Schema.optional(Schema.String),
  codes: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
}) {
  /**
   * Marks the error as an ocireg error, for `isRegistryError`.
   *
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    const where = [this.repository, this.reference].filter(Boolean).join(this.reference?.includes(":") ? "@" : ":")
    return `${this.kind} not found in ${this.registry}${where ? `/${where}` : ""}`
  }
}

/**
 * Bytes that did not hash to the digest (or size) they were fetched or pushed by.
 *
 * @since 0.1.0
 * @category errors
 */
export class DigestMismatch extends Schema.TaggedError<DigestMismatch>()("DigestMismatch", {
  subject: Schema.Literal("blob", "manifest"),
  expected: Schema.String,
  actual: Schema.optional(Schema.String),
  expectedSize: Schema.optional(Schema.Number),
  actualSize: Schema.optional(Schema.Number)
}) {
  /**
   * Marks the error as an ocireg error, for `isRegistryError`.
   *
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    const sizes = this.expectedSize !== undefined && this.actualSize !== undefined &&
        this.expectedSize !== this.actualSize
      ? ` (expected ${this.expectedSize} bytes, got ${this.actualSize})`
      : ""
    const actual = this.actual ? `, got ${this.actual}` : ""
    return `${this.subject} digest mismatch: expected ${this.expected}${actual}${sizes}`
  }
}

/**
 * The registry asked us to slow down: 429, or any status whose error code is `TOOMANYREQUESTS`
 * (some registries send it with 403, Docker Hub with 429). `retryAfterMillis` comes from
 * `Retry-After`; `limit`/`remaining` from Docker Hub's `RateLimit-*` headers.
 *
 * @since 0.1.0
 * @category errors
 */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  registry: Schema.String,
  retryAfterMillis: Schema.optional(Schema.Number),
  limit: Schema.optional(Schema.Number),
  remaining: Schema.optional(Schema.Number)
}) {
  /**
   * Marks the error as an ocireg error, for `isRegistryError`.
   *
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    const after = this.retryAfterMillis !== undefined ? `, retry after ${Math.ceil(this.retryAfterMillis / 1000)}s` : ""
    return `Rate limited by ${this.registry}${after}`
  }
}

/**
 * Any other unexpected status, with the OCI error codes the body carried.
 *
 * @since 0.1.0
 * @category errors
 */
export class RegistryResponseError extends Schema.TaggedError<RegistryResponseError>()("RegistryResponseError", {
  method: Schema.String,
  url: Schema.String,
  status: Schema.Number,
  errors: Schema.optionalWith(Schema.Array(ErrorDetail), { default: () => [] }),
  /** `Retry-After` of a 503 (or any other status that sent one), in milliseconds. */
  retryAfterMillis: Schema.optional(Schema.Number)
}) {
  /**
   * Marks the error as an ocireg error, for `isRegistryError`.
   *
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    // bounded: a hostile registry can send long error bodies; `errors` keeps the parsed entries
    const shown = this.errors.slice(0, 3).map((e) => e.message ? `${e.code}: ${e.message}` : e.code).join("; ")
    const more = this.errors.length > 3 ? ` and ${this.errors.length - 3} more` : ""
    const codes = shown.length > 600 ? `${shown.slice(0, 600)}…` : shown
    return `${this.method} ${this.url} answered ${this.status}${codes ? ` (${codes}${more})` : ""}`
  }
}

/**
 * The registry answered with something we cannot use: malformed headers or JSON, a body larger
 * than its limit, a redirect we refuse to follow, a missing `Location`.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidResponse extends Schema.TaggedError<InvalidResponse>()("InvalidResponse", {
  method: Schema.String,
  url: Schema.String,
  reason: Schema.String
}) {
  /**
   * Marks the error as an ocireg error, for `isRegistryError`.
   *
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return `${this.method} ${this.url}: ${this.reason}`
  }
}

/**
 * The request never got an answer: connection refused or reset, timeout, body stream broken.
 *
 * @since 0.1.0
 * @category errors
 */
export class TransportError extends Schema.TaggedError<TransportError>()("TransportError", {
  method: Schema.String,
  url: Schema.String,
  reason: Schema.Literal("RequestFailed", "Timeout", "BodyFailed", "Refused"),
  detail: Schema.optional(Schema.String)
}) {
  /**
   * Marks the error as an ocireg error, for `isRegistryError`.
   *
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return `${this.method} ${this.url} failed (${this.reason})${suffix(this.detail)}`
  }
}

/**
 * A string that is not a valid image reference, repository name, tag or digest.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidReference extends Schema.TaggedError<InvalidReference>()("InvalidReference", {
  input: Schema.String,
  reason: Schema.String
}) {
  /**
   * Marks the error as an ocireg error, for `isRegistryError`.
   *
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return `Invalid reference ${
      JSON.stringify(this.input.length > 300 ? this.input.slice(0, 300) + "…" : this.input)
    }: ${this.reason}`
  }
}

/**
 * Manifest bytes that are not a manifest we can use: bad JSON, a shape that fails its schema, an
 * unsupported media type (schema 1), or more bytes than the size limit.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidManifest extends Schema.TaggedError<InvalidManifest>()("InvalidManifest", {
  reason: Schema.Literal("MalformedJson", "SchemaViolation", "UnsupportedMediaType", "TooLarge", "MediaTypeMismatch"),
  mediaType: Schema.optional(Schema.String),
  detail: Schema.optional(Schema.String)
}) {
  /**
   * Marks the error as an ocireg error, for `isRegistryError`.
   *
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    const media = this.mediaType ? ` (${this.mediaType})` : ""
    return `Invalid manifest${media}: ${this.reason}${suffix(this.detail)}`
  }
}

/**
 * Any error of ocireg.
 *
 * @since 0.1.0
 * @category models
 */
export type RegistryError =
  | AuthenticationError
  | AuthorizationError
  | NotFound
  | DigestMismatch
  | RateLimited
  | RegistryResponseError
  | InvalidResponse
  | TransportError
  | InvalidReference
  | InvalidManifest
