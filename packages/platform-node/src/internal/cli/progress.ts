/**
 * Progress bars for long transfers, one per blob, drawn with `cli-progress` on standard error
 * when it is a terminal, and nothing at all otherwise (scripts, CI, `--json`).
 *
 * @internal
 */
import type * as Image from "@ocireg/core/Image"
import cliProgress from "cli-progress"
import * as Effect from "effect/Effect"
import { bytes } from "./output.js"

/** A progress display: an `onEvent` for transfers, and `stop` to clear it. */
export interface Progress {
  readonly onEvent: ((event: Image.TransferEvent) => Effect.Effect<void>) | undefined
  readonly stop: Effect.Effect<void>
}

const quiet: Progress = { onEvent: undefined, stop: Effect.void }

/** Bars on a terminal, or nothing. */
export const make = (enabled: boolean): Progress => {
  if (!enabled || !process.stderr.isTTY) return quiet
  const multibar = new cliProgress.MultiBar({
    stream: process.stderr,
    clearOnComplete: false,
    hideCursor: true,
    barsize: 24,
    format: " {digest} |{bar}| {done} / {total} {speed}",
    formatValue: (value, _options, type) => (type === "value" || type === "total" ? bytes(value) : String(value))
  }, cliProgress.Presets.shades_classic)
  const bars = new Map<string, { bar: cliProgress.SingleBar; started: number }>()
  const payload = (digest: string, sent: number, size: number, started: number) => {
    const seconds = (Date.now() - started) / 1000
    return {
      digest: digest.slice(7, 19),
      done: bytes(sent),
      total: bytes(size),
      speed: seconds > 0 ? `${bytes(sent / seconds)}/s` : ""
    }
  }
  const onEvent = (event: Image.TransferEvent) =>
    Effect.sync(() => {
      switch (event._tag) {
        case "BlobStarted": {
          const started = Date.now()
          bars.set(event.digest, {
            bar: multibar.create(event.size, 0, payload(event.digest, 0, event.size, started)),
            started
          })
          return
        }
        case "BlobProgress": {
          const entry = bars.get(event.digest)
          entry?.bar.update(event.sent, payload(event.digest, event.sent, event.size, entry.started))
          return
        }
        case "BlobFinished": {
          const entry = bars.get(event.digest)
          if (entry) {
            entry.bar.update(event.size, {
              ...payload(event.digest, event.size, event.size, entry.started),
              speed: event.outcome
            })
            entry.bar.stop()
          }
        }
      }
    })
  return { onEvent, stop: Effect.sync(() => multibar.stop()) }
}
