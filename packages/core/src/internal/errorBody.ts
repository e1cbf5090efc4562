/**
 * Decoding of the OCI error body `{"errors":[{"code":"...","message":"...","detail":...}]}` that
 * registries send with 4xx/5xx answers.
 *
 * Lenient and bounded: unknown fields are ignored, entries that are not `{ code: string, ... }` are
 * skipped, anything that is not such a body gives no entries, and a hostile server cannot blow up
 * logs or error messages (at most `maxErrorEntries` entries, `message` cut to `maxMessageLength`).
 *
 * @internal
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { ErrorDetail } from "../RegistryError.js"

/** At most this many `errors[]` entries are kept. */
export const maxErrorEntries = 20

/** `message` (and `code`) are cut to this many characters. */
export const maxMessageLength = 500

const Body = Schema.parseJson(Schema.Struct({ errors: Schema.Array(Schema.Unknown) }))

const Entry = Schema.Struct({
  code: Schema.String,
  message: Schema.optional(Schema.Unknown),
  detail: Schema.optional(Schema.Unknown)
})

const decodeBody = Schema.decodeUnknownOption(Body)
const decodeEntry = Schema.decodeUnknownOption(Entry)

/** Cuts to `maxMessageLength` characters in all, ending with "…", without splitting a surrogate pair. */
const truncate = (s: string): string => {
  if (s.length <= maxMessageLength) return s
  let end = maxMessageLength - 1
  const last = s.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end--
  return s.slice(0, end) + "…"
}

const toDetail = (entry: typeof Entry.Type): ErrorDetail =>
  new ErrorDetail({
    code: truncate(entry.code),
    message: typeof entry.message === "string" ? truncate(entry.message) : "",
    ...("detail" in entry ? { detail: entry.detail } : {})
  })

/**
 * The entries of an OCI error body, in order: the first `maxErrorEntries`, each `message` truncated
 * to `maxMessageLength` characters, `detail` kept as it came. Non-JSON, non-UTF-8 garbage or a body
 * of another shape gives an empty array; entries without a string `code` are skipped.
 */
export const parseErrorBody = (bytes: Uint8Array): ReadonlyArray<ErrorDetail> => {
  if (bytes.length === 0) return []
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes)
  return Option.match(decodeBody(text), {
    onNone: () => [],
    onSome: (body) => {
      const out: Array<ErrorDetail> = []
      for (const raw of body.errors.slice(0, maxErrorEntries)) {
        const entry = decodeEntry(raw)
        if (Option.isSome(entry)) out.push(toDetail(entry.value))
      }
      return out
    }
  })
}

/** The `code`s of error entries (`MANIFEST_UNKNOWN`, `DENIED`, ...), in order. */
export const errorCodes = (details: ReadonlyArray<ErrorDetail>): Array<string> => details.map((detail) => detail.code)
