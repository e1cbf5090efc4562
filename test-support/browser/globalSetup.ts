/**
 * Global setup of the browser tests (runs in Node, once per run): real `docker-registry`
 * processes with CORS headers in open, Basic and token mode, nginx in front of the two with
 * authentication (it answers preflights), a token server with CORS, images seeded with skopeo,
 * one blob corrupted on disk, and a few misconfigured registries for the CORS error tests. The
 * URLs go to the tests with `provide` (`inject("ocireg.browserFixtures")`).
 */
import type { TestProject } from "vitest/node"
import { preflightHeaders, responseHeaders } from "../../packages/platform-browser/src/BrowserCors.js"
import { type RunningRegistry, startRegistry } from "../registry.js"
import { type SeededImage, seedImage } from "../skopeo.js"
import { startTokenServer, type TokenServer } from "../tokenServer.js"
import { integrationRequired, missingBinaries } from "./chromium.js"
import type { BrowserFixtures, BrowserRegistryFixture, SeededInfo } from "./fixtures.js"
import "./fixtures.js"
import { nginxBinary, type RunningProxy, startCorsProxy } from "./nginx.js"

const users = { alice: "alice-password" }

const asHttpHeaders = (record: Record<string, string>) =>
  Object.fromEntries(Object.entries(record).map(([name, value]) => [name, [value]]))

/** What the registry sends on every answer: the full CORS set (its preflight answers too, when open). */
const corsHeaders = asHttpHeaders({ ...preflightHeaders("*"), ...responseHeaders("*") })

/** Allows origin, methods and headers, exposes nothing. */
const { "Access-Control-Expose-Headers": _exposed, ...unexposed } = {
  ...preflightHeaders("*"),
  ...responseHeaders("*")
}

const platformName = (p: { os: string; architecture: string; variant?: string } | undefined) =>
  p === undefined ? "" : [p.os, p.architecture, p.variant].filter(Boolean).join("/")

const info = (image: SeededImage, host: string): SeededInfo => {
  const first = image.manifests[0]!
  return {
    reference: `${host}/${image.repository}:${image.tag}`,
    repository: image.repository,
    tag: image.tag,
    rootDigest: image.root.digest,
    rootMediaType: image.root.mediaType,
    platforms: image.index === undefined ? [] : image.manifests.map((m) => platformName(m.platform)),
    layers: first.layers.map((l) => ({
      digest: l.descriptor.digest,
      size: l.descriptor.size,
      mediaType: l.descriptor.mediaType
    })),
    config: {
      digest: first.config.descriptor.digest,
      size: first.config.descriptor.size,
      mediaType: first.config.descriptor.mediaType
    }
  }
}

const skipped = (gate: BrowserFixtures["gate"]): BrowserFixtures => ({
  gate,
  users,
  registries: [],
  misconfigured: { noCors: "", noExpose: "", basicNoExpose: "", tokenNoCors: "" }
})

export default async function setup(project: TestProject) {
  const missing = [
    ...missingBinaries("docker-registry", "skopeo", "openssl"),
    ...(nginxBinary() === undefined ? ["nginx"] : [])
  ]
  const required = integrationRequired()
  const gate = {
    skip: missing.length > 0 && !required,
    fail: missing.length > 0 && required,
    message: missing.length === 0
      ? "all integration binaries present"
      : `browser integration tests need ${missing.join(", ")} (apt-get install ${missing.join(" ")})` +
        (required ? "; OCIREG_REQUIRE_INTEGRATION=1 makes this a failure" : "; suites skipped")
  }
  if (gate.skip || gate.fail) {
    project.provide("ocireg.browserFixtures", skipped(gate))
    return
  }

  const registries: Array<RunningRegistry> = []
  let tokens: TokenServer | undefined
  let tokensNoCors: TokenServer | undefined
  let proxy: RunningProxy | undefined
  const teardown = async () => {
    await proxy?.stop()
    await Promise.all(registries.map((r) => r.stop()))
    await tokens?.stop()
    await tokensNoCors?.stop()
  }
  const start = async (options: Parameters<typeof startRegistry>[0]) => {
    const registry = await startRegistry(options)
    registries.push(registry)
    return registry
  }

  try {
    ;[tokens, tokensNoCors] = await Promise.all([
      startTokenServer({ users, cors: true }),
      startTokenServer({ users })
    ])
    const [open, basic, token, noCors, noExpose, basicNoExpose, tokenNoCors] = await Promise.all([
      start({ auth: "none", headers: corsHeaders }),
      start({ auth: "basic", users, headers: corsHeaders }),
      start({ auth: "token", tokenServer: tokens, headers: corsHeaders }),
      start({ auth: "none" }),
      start({ auth: "none", headers: asHttpHeaders(unexposed) }),
      start({ auth: "basic", users, headers: asHttpHeaders(unexposed) }),
      start({ auth: "token", tokenServer: tokensNoCors, headers: corsHeaders })
    ])
    proxy = await startCorsProxy([basic!, token!, basicNoExpose!, tokenNoCors!].map((r) => ({
      upstream: r.url,
      preflightHeaders: preflightHeaders("*")
    })))
    const [basicFront, tokenFront, basicNoExposeFront, tokenNoCorsFront] = proxy.sites

    const modes = [
      { name: "open" as const, registry: open!, front: { url: open!.url, host: open!.host } },
      { name: "basic" as const, registry: basic!, front: basicFront! },
      { name: "token" as const, registry: token!, front: tokenFront! }
    ]
    const fixtures: Array<BrowserRegistryFixture> = await Promise.all(modes.map(async ({ front, name, registry }) => {
      const creds = name === "open" ? undefined : { username: "alice", password: users.alice }
      const multi = await seedImage(registry, "team/multi", "v1", {
        platforms: ["linux/amd64", "linux/arm64/v8"],
        layers: 2,
        layerSize: 256 * 1024
      }, creds)
      const single = await seedImage(registry, "team/single", "v1", { layers: 1, layerSize: 1024 * 1024 }, creds)
      const corrupt = await seedImage(registry, "team/corrupt", "v1", { layers: 1, layerSize: 64 * 1024 }, creds)
      await registry.corruptBlob(corrupt.manifests[0]!.layers[0]!.descriptor.digest)
      return {
        name,
        host: front.host,
        url: front.url,
        directHost: registry.host,
        multi: info(multi, front.host),
        single: info(single, front.host),
        corrupt: info(corrupt, front.host)
      }
    }))
    project.provide("ocireg.browserFixtures", {
      gate,
      users,
      registries: fixtures,
      misconfigured: {
        noCors: noCors!.host,
        noExpose: noExpose!.host,
        basicNoExpose: basicNoExposeFront!.host,
        tokenNoCors: tokenNoCorsFront!.host
      }
    })
  } catch (error) {
    await teardown()
    throw error
  }
  return teardown
}
