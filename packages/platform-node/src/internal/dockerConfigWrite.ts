/**
 * Updating a Docker `config.json` (or `auth.json`) in place: read the whole JSON object, let the
 * caller change it, and write it back atomically (temporary file in the same directory, mode
 * 0600, then `rename`), keeping every key the caller did not touch. A symlinked file is updated
 * at its target, so dotfile managers keep their link.
 *
 * @internal
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { ConfigFileError, parseJson, readText } from "./dockerConfigFile.js"

/**
 * Writing the file failed; `detail` is the system error code.
 *
 * @internal
 */
export class WriteError extends Data.TaggedError("WriteError")<{
  readonly path: string
  readonly detail?: string | undefined
}> {
  override get message(): string {
    return `cannot write ${this.path}${this.detail ? ` (${this.detail})` : ""}`
  }
}

/** @internal */
export type JsonObject = Record<string, unknown>

/** @internal */
export const isJsonObject = (u: unknown): u is JsonObject => typeof u === "object" && u !== null && !Array.isArray(u)

const code = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined

const resolveTarget = (path: string): Effect.Effect<string> =>
  Effect.tryPromise(() => Fs.realpath(path)).pipe(Effect.orElseSucceed(() => path))

/**
 * Write `json` to `path` atomically with mode 0600, creating the directory (0700) if needed.
 *
 * @internal
 */
export const writeAtomic = (path: string, json: JsonObject): Effect.Effect<void, WriteError> =>
  Effect.flatMap(resolveTarget(path), (target) => {
    const temporary = Path.join(
      Path.dirname(target),
      `.${Path.basename(target)}.${process.pid}.${Crypto.randomBytes(6).toString("hex")}.tmp`
    )
    return Effect.tryPromise({
      try: async () => {
        await Fs.mkdir(Path.dirname(target), { recursive: true, mode: 0o700 })
        try {
          await Fs.writeFile(temporary, JSON.stringify(json, null, "\t") + "\n", { mode: 0o600, flag: "wx" })
          await Fs.chmod(temporary, 0o600)
          await Fs.rename(temporary, target)
        } catch (error) {
          await Fs.rm(temporary, { force: true }).catch(() => undefined)
          throw error
        }
      },
      catch: (error) => new WriteError({ path, detail: code(error) })
    })
  })

/**
 * Read `path` as a JSON object (empty when the file does not exist), apply `edit`, and write the
 * result back when `edit` reports a change. Returns what `edit` returned.
 *
 * @internal
 */
export const update = <A>(
  path: string,
  edit: (json: JsonObject) => { readonly changed: boolean; readonly result: A }
): Effect.Effect<A, ConfigFileError | WriteError> =>
  Effect.gen(function*() {
    const text = yield* readText(path)
    let json: JsonObject = {}
    if (Option.isSome(text)) {
      const parsed = parseJson(path, text.value)
      if (Either.isLeft(parsed)) return yield* parsed.left
      if (!isJsonObject(parsed.right)) {
        return yield* new ConfigFileError({ path, reason: "Malformed" })
      }
      json = parsed.right
    }
    const { changed, result } = edit(json)
    if (changed) yield* writeAtomic(path, json)
    return result
  })
