/**
 * Progress of `ocireg sync` on a terminal: one line per repository (`source → target`, tags done
 * of tags to do, and the last tag's outcome), drawn with `cli-progress` on standard error. When
 * disabled (stdout not a terminal, `--json`) nothing is drawn and per-tag lines go to standard
 * error as plain text.
 *
 * @internal
 */
import type * as Sync from "@ocireg/core/Sync"
import cliProgress from "cli-progress"
import * as Effect from "effect/Effect"

/** What `sync` tells the display. */
export interface SyncProgress {
  readonly onRepository: (start: Sync.RepositoryStart) => Effect.Effect<void>
  readonly onTag: (outcome: Sync.TagOutcome) => Effect.Effect<void>
  /** A line printed above the bars (or plainly on standard error when there are none). */
  readonly above: (line: string) => Effect.Effect<void>
  readonly stop: Effect.Effect<void>
}

const plain: SyncProgress = {
  onRepository: () => Effect.void,
  onTag: () => Effect.void,
  above: (line) => Effect.sync(() => void process.stderr.write(`${line}\n`)),
  stop: Effect.void
}

/** The repository part of a tag outcome's source (`host/repo:tag` → `host/repo`). */
const repositoryOf = (outcome: Sync.TagOutcome) =>
  outcome.source.endsWith(`:${outcome.tag}`) ? outcome.source.slice(0, -(outcome.tag.length + 1)) : outcome.source

/** Bars when `enabled` and standard error is a terminal too; otherwise plain lines. */
export const make = (enabled: boolean): SyncProgress => {
  if (!enabled || !process.stderr.isTTY) return plain
  const multibar = new cliProgress.MultiBar({
    stream: process.stderr,
    clearOnComplete: false,
    hideCursor: true,
    barsize: 20,
    format: " {repository} |{bar}| {value}/{total} tags {last}"
  }, cliProgress.Presets.shades_classic)
  const bars = new Map<string, cliProgress.SingleBar>()
  return {
    onRepository: (start) =>
      Effect.sync(() => {
        const bar = multibar.create(start.tags, 0, { repository: `${start.source} -> ${start.target}`, last: "" })
        bars.set(start.source, bar)
        if (start.tags === 0) bar.stop()
      }),
    onTag: (outcome) =>
      Effect.sync(() => {
        const bar = bars.get(repositoryOf(outcome))
        if (bar === undefined) return
        bar.increment(1, { last: `${outcome.tag} ${outcome.action}` })
        if (bar.getProgress() >= 1) bar.stop()
      }),
    above: (line) => Effect.sync(() => void multibar.log(`${line}\n`)),
    stop: Effect.sync(() => multibar.stop())
  }
}
