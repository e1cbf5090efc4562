/**
 * Response bodies read straight from `node:http`'s `IncomingMessage` and handed to Effect in large
 * pieces: socket reads (64 KiB each) are collected until `min` bytes are there or the I/O turn that
 * delivered them is over, so a fast transfer reaches the consumer in pieces of `min` to `max`
 * bytes (one Effect pull, one `Chunk` of the socket's buffers: no copy), a slow one without delay.
 * Concatenating them into one array instead cost more (a copy of every byte, and garbage) than the
 * per-pull work it saved. While nobody pulls and `max` bytes wait,
 * the message is paused, which stops reading the socket (backpressure, flat memory).
 *
 * @internal
 */
import type * as Http from "node:http"

/** What a pull is answered with: bytes, the end of the body, or the error that broke it. */
export type Pulled =
  | { readonly _tag: "Bytes"; readonly pieces: ReadonlyArray<Uint8Array> }
  | { readonly _tag: "End" }
  | { readonly _tag: "Error"; readonly cause: unknown }

const end: Pulled = { _tag: "End" }

/** Where a body stands: reading, ended (every byte received) or failed. */
type State = "reading" | "ended" | "failed"

/**
 * Reads one response body. It starts reading at once (so a body nobody asks for, such as a
 * `HEAD`'s or a discarded error page's, still ends and frees its keep-alive connection) and keeps
 * at most about `max` bytes waiting for the consumer.
 */
export class BodyReader {
  private pieces: Array<Buffer> = []
  private size = 0
  private state: State = "reading"
  private cause: unknown = undefined
  private waiting: ((pulled: Pulled) => void) | undefined = undefined
  private flushScheduled = false
  private paused = false
  /** Bytes received in all (for tests and diagnostics). */
  received = 0

  constructor(
    private readonly message: Http.IncomingMessage,
    private readonly min: number,
    private readonly max: number
  ) {
    message.on("data", (bytes: Buffer) => this.onData(bytes))
    message.once("end", () => {
      if (this.state === "reading") this.state = "ended"
      this.wake()
    })
    message.once("error", (cause) => this.fail(cause))
    message.once("close", () => {
      // a connection that closes before the body's end is a broken body, not a short one
      if (this.state === "reading" && !message.complete) this.fail(new Error("the connection closed mid-body"))
    })
  }

  /** Whether every byte has been received and handed over. */
  get done(): boolean {
    return this.state === "ended" && this.size === 0
  }

  /** Fail the body (a request error after the response, a destroyed request). */
  fail(cause: unknown): void {
    // bytes after a complete body (a server that sends more than its Content-Length) break the
    // connection, not the body: every declared byte is there, as undici and curl read it
    if (this.state !== "reading" || this.message.complete) return
    this.state = "failed"
    this.cause = cause
    this.wake()
  }

  private onData(bytes: Buffer): void {
    this.pieces.push(bytes)
    this.size += bytes.length
    this.received += bytes.length
    if (this.waiting !== undefined) {
      if (this.size >= this.min) this.deliver()
      else this.scheduleFlush()
    } else if (this.size >= this.max && !this.paused) {
      this.paused = true
      this.message.pause()
    }
  }

  /** Hand what was collected in this I/O turn to a waiting pull once the turn is over. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    setImmediate(() => {
      this.flushScheduled = false
      if (this.waiting !== undefined && this.size > 0) this.deliver()
    })
  }

  private take(): ReadonlyArray<Uint8Array> {
    const pieces = this.pieces
    this.pieces = []
    this.size = 0
    if (this.paused && this.state === "reading") {
      this.paused = false
      this.message.resume()
    }
    return pieces
  }

  private deliver(): void {
    const waiting = this.waiting!
    this.waiting = undefined
    waiting({ _tag: "Bytes", pieces: this.take() })
  }

  private wake(): void {
    const waiting = this.waiting
    if (waiting === undefined) return
    this.waiting = undefined
    this.pull(waiting)
  }

  /**
   * Ask for the next piece: answered at once when enough is there (or the body is over),
   * otherwise when bytes, the end or an error arrive. One pull at a time.
   */
  pull(callback: (pulled: Pulled) => void): void {
    if (this.size > 0 && (this.size >= this.min || this.state !== "reading")) {
      callback({ _tag: "Bytes", pieces: this.take() })
      return
    }
    if (this.state === "failed") return callback({ _tag: "Error", cause: this.cause })
    if (this.state === "ended") return callback(end)
    this.waiting = callback
    if (this.size > 0) this.scheduleFlush()
    if (this.paused) {
      this.paused = false
      this.message.resume()
    }
  }

  /** Forget a pending pull (the consumer was interrupted). */
  cancelPull(): void {
    this.waiting = undefined
  }
}
