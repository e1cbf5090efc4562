/**
 * ocireg's `HttpClient` for Node, made with `HttpClient.make` on `node:http` / `node:https`
 * keep-alive agents: connections are reused after every method (`HEAD` included), response
 * bodies reach Effect in pieces of 256 KiB to 1 MiB instead of one per 64 KiB socket read, a slow
 * consumer pauses the socket, and file bodies are piped by Node itself. It follows no redirects
 * (`RegistryClient` does, keeping credentials on their origin), and it enforces `RegistryClient`'s
 * `requestTimeout` itself (`RegistryClient.ResponseTimeoutTypeId`) rather than beside a timer
 * fiber. `NodeRegistry.layer` uses it; any other `HttpClient` still works with
 * `NodeRegistry.layerWithoutHttp`.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/nodeHttp/client.js"

/**
 * Options of the client. Every field has a default.
 *
 * @since 0.1.0
 * @category models
 */
export type Options = internal.Options

/**
 * TLS settings for HTTPS origins (`ca`, `cert`, `key`, `rejectUnauthorized`, …, as in `node:tls`).
 *
 * @since 0.1.0
 * @category models
 */
export type TlsOptions = internal.TlsOptions

/**
 * The client on keep-alive agents that live as long as the scope (closing it closes every socket).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<HttpClient.HttpClient, never, Scope.Scope> =>
  Effect.map(internal.scopedAgents(options), (agents) => internal.make(agents, options))

/**
 * The client as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<HttpClient.HttpClient> =>
  Layer.scoped(HttpClient.HttpClient, make(options))
