/**
 * Content digests (`algorithm:encoded`), the `Hasher` service (a pure-JavaScript default here;
 * platforms provide faster ones), and the stream combinator that verifies bytes against a digest
 * and size while they pass.
 *
 * @since 0.1.0
 */
import { sha256, sha512 } from "@noble/hashes/sha2"
import { bytesToHex } from "@noble/hashes/utils"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { DigestMismatch, InvalidReference } from "./RegistryError.js"

/**
 * The algorithms ocireg computes and verifies.
 *
 * @since 0.1.0
 * @category models
 */
export type Algorithm = "sha256" | "sha512"

const encodedLength: Record<Algorithm, number> = { sha256: 64, sha512: 128 }

// The OCI digest grammar: algorithm-component ([a-z0-9]+) joined by [+._-], then ':' and
// [a-zA-Z0-9=_-]+. Registered algorithms (sha256, sha512) must be lower-case hex of fixed length.
const digestPattern = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/

/**
 * Why a string is not a digest we accept, or `undefined` when it is one.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (input: string): string | undefined => {
  if (input.length > 1024) return "longer than 1024 characters"
  if (!digestPattern.test(input)) return "not of the form algorithm:hex"
  const [algorithm, encoded] = input.split(":") as [string, string]
  const expected = encodedLength[algorithm as Algorithm]
  if (expected === undefined) return `unsupported algorithm ${algorithm}`
  if (encoded.length !== expected || !/^[a-f0-9]+$/.test(encoded)) {
    return `${algorithm} needs ${expected} lower-case hex characters`
  }
  return undefined
}

/**
 * A validated `sha256:…` or `sha512:…` digest.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Digest = Schema.String.pipe(
  Schema.filter((s) => validate(s) ?? true, { identifier: "Digest" }),
  Schema.brand("@ocireg/core/Digest")
)

/**
 * A validated, branded `sha256:…` or `sha512:…` digest string.
 *
 * @since 0.1.0
 * @category models
 */
export type Digest = typeof Digest.Type

/**
 * Parse a string as a digest.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse = (input: string): Either.Either<Digest, InvalidReference> => {
  const reason = validate(input)
  return reason === undefined
    ? Either.right(input as Digest)
    : Either.left(new InvalidReference({ input, reason: `invalid digest: ${reason}` }))
}

/**
 * Whether a string is a valid digest.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isDigest = (input: string): input is Digest => validate(input) === undefined

/**
 * The algorithm part of a digest.
 *
 * @since 0.1.0
 * @category getters
 */
export const algorithm = (digest: Digest): Algorithm => digest.slice(0, digest.indexOf(":")) as Algorithm

/**
 * The hex part of a digest.
 *
 * @since 0.1.0
 * @category getters
 */
export const encoded = (digest: Digest): string => digest.slice(digest.indexOf(":") + 1)

/**
 * A running hash: feed it bytes, then read the hex digest once.
 *
 * @since 0.1.0
 * @category models
 */
export interface HashState {
  readonly update: (chunk: Uint8Array) => void
  readonly hex: () => string
}

/**
 * The incremental hash functions of the platform (`node:crypto` on Node, a WebAssembly
 * implementation in browsers). Nothing requires it: where none is provided, `jsHasher` (pure
 * JavaScript) is used. `RegistryClient` picks up one provided to its layer.
 *
 * @since 0.1.0
 * @category services
 */
export class Hasher extends Context.Tag("@ocireg/core/Hasher")<Hasher, {
  readonly create: (algorithm: Algorithm) => HashState
}>() {}

/**
 * sha256 and sha512 in pure JavaScript (`@noble/hashes`): runs everywhere, about 75 MB/s for
 * sha256 in Chromium; the default where no faster platform `Hasher` is provided.
 *
 * @since 0.2.0
 * @category hashing
 */
export const jsHasher: Hasher["Type"] = {
  create: (algorithm) => {
    const hash = algorithm === "sha512" ? sha512.create() : sha256.create()
    return {
      update: (chunk) => {
        hash.update(chunk)
      },
      hex: () => bytesToHex(hash.digest())
    }
  }
}

/**
 * `jsHasher` as a layer.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerJs: Layer.Layer<Hasher> = Layer.succeed(Hasher, jsHasher)

/**
 * The `Hasher` in the context, or `jsHasher` when there is none.
 *
 * @since 0.2.0
 * @category hashing
 */
export const currentHasher: Effect.Effect<Hasher["Type"]> = Effect.map(
  Effect.serviceOption(Hasher),
  Option.getOrElse(() => jsHasher)
)

/**
 * Hash a whole byte array (with the context's `Hasher`, or `jsHasher`).
 *
 * @since 0.1.0
 * @category hashing
 */
export const ofBytes = (bytes: Uint8Array, algorithm: Algorithm = "sha256"): Effect.Effect<Digest> =>
  Effect.map(currentHasher, (hasher) => {
    const state = hasher.create(algorithm)
    state.update(bytes)
    return `${algorithm}:${state.hex()}` as Digest
  })

/**
 * What `verify` checks the bytes against.
 *
 * @since 0.1.0
 * @category models
 */
export interface Expected {
  readonly digest: Digest
  readonly size?: number | undefined
  readonly subject?: "blob" | "manifest"
}

/**
 * Pass a byte stream through unchanged while hashing it (with the context's `Hasher`, or
 * `jsHasher`); fail with `DigestMismatch` when it
 * ends with another digest, or as soon as it exceeds the expected size, or ends short of it.
 * Nothing is buffered: each chunk is hashed and emitted as it arrives.
 *
 * @since 0.1.0
 * @category hashing
 */
export const verify =
  (expected: Expected) =>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E | DigestMismatch, R> =>
    Stream.unwrap(Effect.map(currentHasher, (hasher) => {
      const alg = algorithm(expected.digest)
      const state = hasher.create(alg)
      const subject = expected.subject ?? "blob"
      let size = 0
      const mismatch = (actual?: string) =>
        new DigestMismatch({
          subject,
          expected: expected.digest,
          actual,
          expectedSize: expected.size,
          actualSize: size
        })
      const checked = Stream.mapChunksEffect(self, (chunk) => {
        for (const bytes of chunk) {
          size += bytes.length
          state.update(bytes)
        }
        return expected.size !== undefined && size > expected.size ? Effect.fail(mismatch()) : Effect.succeed(chunk)
      })
      const finish = Effect.suspend(() => {
        const actual = `${alg}:${state.hex()}`
        return actual === expected.digest && (expected.size === undefined || size === expected.size)
          ? Effect.void
          : Effect.fail(mismatch(actual))
      })
      return Stream.concat(checked, Stream.drain(Stream.fromEffect(finish)))
    }))
