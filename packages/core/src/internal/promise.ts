/**
 * The machinery behind the Promise facade: running Effects on a `ManagedRuntime` with an
 * `AbortSignal`, turning an `Exit` into a plain rejection (the tagged error itself, never a
 * `FiberFailure`), exposing an Effect `Stream` as a web `ReadableStream`, and reading a web
 * `ReadableStream` or an `AsyncIterable` as an Effect `Stream`.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { InvalidResponse } from "../RegistryError.js"

/** The reason an operation rejects with when its signal aborted without a reason of its own. */
export const abortError = (message = "The operation was aborted"): Error => makeDomError(message, "AbortError")

const makeDomError = (message: string, name: string): Error => {
  if (typeof DOMException === "function") return new DOMException(message, name)
  const error = new Error(message)
  error.name = name
  return error
}

const reasonOf = (signal: AbortSignal): unknown => signal.reason ?? abortError()

/** The rejection of an operation interrupted because its client was disposed. */
const disposedAbort = (): Error => abortError("The ocireg client was disposed while the operation ran")

/** The rejection of a call made after `dispose()`. */
const disposedError = (): Error => {
  const error = new Error("The ocireg client has been disposed")
  error.name = "ClientDisposedError"
  return error
}

/**
 * What a failed `Exit` rejects with: the error of the first failure (an ocireg tagged error,
 * itself an `Error`), the abort reason when the operation was interrupted because it was asked
 * to stop, else the defect.
 */
const toRejection = (cause: Cause.Cause<unknown>, local: AbortSignal): unknown => {
  if (local.aborted && Cause.isInterrupted(cause)) return reasonOf(local)
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) return failure.value
  if (Cause.isInterruptedOnly(cause)) {
    return local.aborted
      ? reasonOf(local)
      : abortError("The operation was interrupted")
  }
  return Cause.squash(cause)
}

/** One operation's abort controller, fed by the caller's signal and by `dispose`. */
interface Call {
  readonly controller: AbortController
  readonly release: () => void
}

/**
 * Runs Effects and streams for the facade, tracks what is in flight, and disposes.
 */
export interface Runner<R> {
  readonly run: <A, E>(effect: Effect.Effect<A, E, R>, signal?: AbortSignal | undefined) => Promise<A>
  readonly openStream: <A, E>(
    stream: Stream.Stream<A, E, R>,
    signal?: AbortSignal | undefined
  ) => Promise<ReadableStream<A>>
  readonly dispose: () => Promise<void>
}

/** A runner over a managed runtime (which it disposes). */
export const makeRunner = <R, ER>(runtime: ManagedRuntime.ManagedRuntime<R, ER>): Runner<R> => {
  const inflight = new Set<AbortController>()
  let disposing: Promise<void> | undefined

  const begin = (signal: AbortSignal | undefined): Call => {
    if (disposing !== undefined) throw disposedError()
    if (signal?.aborted) throw reasonOf(signal)
    const controller = new AbortController()
    inflight.add(controller)
    const onAbort = () => controller.abort(reasonOf(signal!))
    signal?.addEventListener("abort", onAbort, { once: true })
    return {
      controller,
      release: () => {
        inflight.delete(controller)
        signal?.removeEventListener("abort", onAbort)
      }
    }
  }

  const exec = <A, E>(effect: Effect.Effect<A, E, R>, local: AbortSignal) =>
    runtime.runPromiseExit(effect, { signal: local })

  const run = async <A, E>(effect: Effect.Effect<A, E, R>, signal?: AbortSignal): Promise<A> => {
    const call = begin(signal)
    try {
      const exit = await exec(effect, call.controller.signal)
      if (Exit.isSuccess(exit)) return exit.value
      throw toRejection(exit.cause, call.controller.signal)
    } finally {
      call.release()
    }
  }

  const openStream = async <A, E>(
    stream: Stream.Stream<A, E, R>,
    signal?: AbortSignal
  ): Promise<ReadableStream<A>> => {
    const call = begin(signal)
    const local = call.controller.signal
    const scope = Effect.runSync(Scope.make())
    let finished = false
    let controller: ReadableStreamDefaultController<A> | undefined
    /** Ends the stream's life: no more pulls, the in-flight pull interrupted, the response released. */
    const finish = () => {
      if (finished) return
      finished = true
      call.release()
      local.removeEventListener("abort", onAbort)
      call.controller.abort(abortError("The stream was closed"))
      void Effect.runPromise(Scope.close(scope, Exit.void))
    }
    function onAbort() {
      if (finished) return
      const reason = reasonOf(local)
      finish()
      controller?.error(reason)
    }
    local.addEventListener("abort", onAbort, { once: true })

    /** One pull: `Some(chunk)`, `None` at the end, or a rejection. */
    const pullOnce = async (
      pull: Effect.Effect<Chunk.Chunk<A>, Option.Option<E>, R>
    ): Promise<Option.Option<Chunk.Chunk<A>>> => {
      const exit = await exec(pull, local)
      if (Exit.isSuccess(exit)) return Option.some(exit.value)
      if (!local.aborted) {
        const failure = Cause.failureOption(exit.cause)
        if (Option.isSome(failure)) {
          const error = failure.value
          // `None` ends the stream; `Some(e)` is the stream's error (anything else: the layer's).
          if (!Option.isOption(error)) throw error
          if (Option.isNone(error)) return Option.none()
          throw error.value
        }
      }
      throw toRejection(exit.cause, local)
    }

    let pull: Effect.Effect<Chunk.Chunk<A>, Option.Option<E>, R>
    let first: Option.Option<Chunk.Chunk<A>>
    try {
      const opened = await exec(Scope.extend(Stream.toPull(stream), scope), local)
      if (Exit.isFailure(opened)) throw toRejection(opened.cause, local)
      pull = opened.value
      // The first pull sends the request: a missing blob or a refused credential rejects here,
      // before the caller holds a stream.
      first = await pullOnce(pull)
    } catch (error) {
      finish()
      throw error
    }

    return new ReadableStream<A>({
      start(c) {
        controller = c
        if (Option.isNone(first)) {
          finish()
          c.close()
          return
        }
        for (const item of first.value) c.enqueue(item)
      },
      async pull(c) {
        while (!finished) {
          let next: Option.Option<Chunk.Chunk<A>>
          try {
            next = await pullOnce(pull)
          } catch (error) {
            if (finished) return
            finish()
            c.error(error)
            return
          }
          if (finished) return
          if (Option.isNone(next)) {
            finish()
            c.close()
            return
          }
          if (next.value.length === 0) continue
          for (const item of next.value) c.enqueue(item)
          return
        }
      },
      cancel() {
        finish()
      }
    }, { highWaterMark: 0 })
  }

  const dispose = () => {
    if (disposing === undefined) {
      for (const controller of inflight) controller.abort(disposedAbort())
      inflight.clear()
      disposing = runtime.dispose()
    }
    return disposing
  }

  return { run, openStream, dispose }
}

const sourceError = (cause: unknown) =>
  new InvalidResponse({
    method: "READ",
    url: "blob source stream",
    reason: cause instanceof Error ? cause.message : "the source stream failed"
  })

/** A web `ReadableStream` or an `AsyncIterable` of bytes as an Effect `Stream`. */
export const fromBytesSource = (
  source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>
): Stream.Stream<Uint8Array, InvalidResponse> =>
  "getReader" in source && typeof source.getReader === "function"
    ? Stream.fromReadableStream({ evaluate: () => source as ReadableStream<Uint8Array>, onError: sourceError })
    : Stream.fromAsyncIterable(source as AsyncIterable<Uint8Array>, sourceError)

/** Bytes collected from chunks. */
export const concatBytes = (chunks: Iterable<Uint8Array>): Uint8Array => {
  const all = Array.from(chunks)
  if (all.length === 1) return all[0]!
  const out = new Uint8Array(all.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const chunk of all) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}
