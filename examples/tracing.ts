/**
 * Tracing: every ocireg operation runs in a span (`Registry.getManifest`, `Image.inspect`,
 * `RegistryClient.execute` for each HTTP request, …) with the registry, repository, reference and
 * digest as attributes, never credentials. Any Effect `Tracer` receives them: here a minimal one
 * made with `Tracer.make` that prints each span as it ends, indented under its parent. In an
 * application use `@effect/opentelemetry` instead, the same way (`Layer.setTracer` or its layers).
 *
 * Run: npx tsx examples/tracing.ts [reference]     e.g. alpine:3
 * Without an argument it inspects the demo image of an embedded registry.
 */
import * as Image from "@ocireg/core/Image"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import { isMain, runMain, withRegistry } from "./support.js"

let nextId = 0
const id = () => (++nextId).toString(16).padStart(16, "0")

/** A span that prints itself when it ends. */
class ConsoleSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId = id()
  readonly traceId: string
  readonly sampled = true
  readonly attributes = new Map<string, unknown>()
  readonly links: Array<Tracer.SpanLink>
  status: Tracer.SpanStatus
  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Tracer.Span["context"],
    links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind,
    attributes: Record<string, unknown>
  ) {
    this.traceId = Option.isSome(parent) ? parent.value.traceId : id()
    this.links = [...links]
    this.status = { _tag: "Started", startTime }
    for (const [key, value] of Object.entries(attributes)) this.attributes.set(key, value)
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>) {
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
    const ms = Number(endTime - this.status.startTime) / 1e6
    const attributes = [...this.attributes].map(([key, value]) => `${key}=${String(value)}`).join(" ")
    const outcome = exit._tag === "Success" ? "" : " FAILED"
    console.log(`${"  ".repeat(depth(this))}${this.name} ${ms.toFixed(1)} ms${outcome}  ${attributes}`)
  }
  attribute(key: string, value: unknown) {
    this.attributes.set(key, value)
  }
  event() {}
  addLinks(links: ReadonlyArray<Tracer.SpanLink>) {
    this.links.push(...links)
  }
}

const depth = (span: Tracer.AnySpan): number =>
  span._tag === "Span" && Option.isSome(span.parent) ? 1 + depth(span.parent.value) : 0

/** The tracer: makes `ConsoleSpan`s. */
export const consoleTracer = Tracer.make({
  span: (name, parent, context, links, startTime, kind, options) =>
    new ConsoleSpan(name, parent, context, links, startTime, kind, options?.attributes ?? {}),
  context: (f) => f()
})

export const main = (args: ReadonlyArray<string>) =>
  withRegistry(args[0], (target) =>
    Effect.gen(function*() {
      yield* Console.log("spans, each printed when it ends (children before their parent):")
      const info = yield* Image.inspect(target.reference).pipe(
        // a span of your own around ocireg's: they become its children
        Effect.withSpan("example.inspect", { attributes: { "example.reference": target.reference } }),
        Effect.provide(Layer.setTracer(consoleTracer))
      )
      yield* Console.log(`${info.reference} is ${info.digest}`)
    }))

if (isMain(import.meta.url)) runMain(main)
