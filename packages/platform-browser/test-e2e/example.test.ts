/**
 * The example page end to end: Vite builds `examples/`, `vite preview` serves it on 127.0.0.1,
 * a real `docker-registry` allows exactly that origin with CORS, and Playwright drives the page in
 * headless Chromium: tags, the index and its platforms, a platform's blobs, a verified pull with
 * its progress bar, and a corrupted blob that the page reports as a digest mismatch. The page is
 * kept as `test-results/example-page.png`.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type Browser, chromium, type Page } from "playwright"
import { build, preview, type PreviewServer } from "vite"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { integration } from "../../../test-support/binaries.js"
import { browserGate, chromiumLaunchOptions } from "../../../test-support/browser/chromium.js"
import {
  freePort,
  type RunningRegistry,
  type SeededImage,
  seedImage,
  startRegistry
} from "../../../test-support/index.js"
import { preflightHeaders, responseHeaders } from "../src/BrowserCors.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const examples = path.join(here, "..", "examples")
const results = path.join(here, "..", "test-results")

const browser = browserGate()
const binaries = integration("docker-registry", "skopeo", "openssl")
const missing = [...(browser.enabled ? [] : [browser.message]), ...binaries.missing]
const required = browser.required

if (missing.length > 0 && required) {
  describe("example page", () => {
    it("has what it needs", () => {
      throw new Error(`example page e2e needs: ${missing.join(", ")}`)
    })
  })
}

describe.skipIf(missing.length > 0)("example page in headless Chromium", () => {
  let registry: RunningRegistry
  let multi: SeededImage
  let corrupt: SeededImage
  let server: PreviewServer
  let chrome: Browser
  let page: Page
  let pageUrl: string
  let outDir: string
  const pageErrors: Array<string> = []

  beforeAll(async () => {
    const port = await freePort()
    pageUrl = `http://127.0.0.1:${port}`
    const origin = pageUrl
    const headers = Object.fromEntries(
      Object.entries({ ...preflightHeaders(origin), ...responseHeaders(origin) }).map(([k, v]) => [k, [v]])
    )
    registry = await startRegistry({ auth: "none", headers })
    multi = await seedImage(registry, "team/multi", "v1", {
      platforms: ["linux/amd64", "linux/arm64/v8"],
      layers: 2,
      layerSize: 3 * 1024 * 1024
    })
    corrupt = await seedImage(registry, "team/corrupt", "v1", { layers: 1, layerSize: 256 * 1024 })
    await registry.corruptBlob(corrupt.manifests[0]!.layers[0]!.descriptor.digest)

    outDir = await fs.mkdtemp(path.join(os.tmpdir(), "ocireg-example-"))
    const configFile = path.join(examples, "vite.config.ts")
    await build({ configFile, build: { outDir, emptyOutDir: true }, logLevel: "warn" })
    server = await preview({
      configFile,
      build: { outDir },
      preview: { host: "127.0.0.1", port, strictPort: true },
      logLevel: "warn"
    })
    chrome = await chromium.launch({ ...chromiumLaunchOptions(), headless: true })
    page = await chrome.newPage({ viewport: { width: 1100, height: 900 } })
    page.on("pageerror", (error) => pageErrors.push(error.message))
  })

  afterAll(async () => {
    await chrome?.close()
    await new Promise<void>((resolve) => server ? server.httpServer.close(() => resolve()) : resolve())
    await registry?.stop()
    if (outDir) await fs.rm(outDir, { recursive: true, force: true })
  })

  it("lists tags, shows the index's platforms, and pulls a blob with progress and verification", async () => {
    await page.goto(`${pageUrl}/?registry=${registry.host}&repository=team/multi`)
    await page.click("#list-tags")
    await page.getByTestId("tag-v1").click()
    await page.getByTestId("platforms").waitFor()
    const index = page.getByTestId("manifest")
    assert.strictEqual(await index.getByTestId("manifest-digest").textContent(), multi.root.digest)
    assert.strictEqual(await index.getByTestId("manifest-media-type").textContent(), multi.root.mediaType)
    assert.deepStrictEqual(await page.getByTestId("platform-name").allTextContents(), ["linux/amd64", "linux/arm64/v8"])

    const arm = multi.manifests.find((m) => m.platform?.architecture === "arm64")!
    await page.getByTestId("platform").filter({ hasText: "linux/arm64/v8" }).getByRole("button").click()
    const child = page.getByTestId("child-manifest")
    await child.getByTestId("blobs").waitFor()
    assert.strictEqual(await child.getByTestId("manifest-digest").textContent(), arm.descriptor.digest)
    assert.isTrue(await page.getByTestId("platforms").isVisible(), "the index stays in view")
    assert.strictEqual(await page.getByTestId("blob").count(), 1 + arm.layers.length)

    const layer = arm.layers[1]!.descriptor
    const row = page.locator(`[data-testid=blob][data-digest="${layer.digest}"]`)
    await row.getByTestId("pull").click()
    await row.locator("[data-testid=pull-result].ok").waitFor()
    assert.match((await row.getByTestId("pull-result").textContent())!, /^verified ✓ 3\.\d\d MiB/)
    assert.strictEqual(await row.locator("progress").evaluate((p: HTMLProgressElement) => p.value), layer.size)
    assert.strictEqual(await row.locator("progress").evaluate((p: HTMLProgressElement) => p.max), layer.size)

    const config = page.getByTestId("blob").first()
    await config.getByTestId("pull").click()
    await config.locator("[data-testid=pull-result].ok").waitFor()

    await fs.mkdir(results, { recursive: true })
    await page.screenshot({ path: path.join(results, "example-page.png"), fullPage: true })
    assert.deepStrictEqual(pageErrors, [])
  })

  it("reports a corrupted blob as a digest mismatch", async () => {
    await page.goto(`${pageUrl}/?registry=${registry.host}&repository=team/corrupt`)
    await page.click("#list-tags")
    await page.getByTestId("tag-v1").click()
    await page.getByTestId("blobs").waitFor()
    const layer = corrupt.manifests[0]!.layers[0]!.descriptor
    const row = page.locator(`[data-testid=blob][data-digest="${layer.digest}"]`)
    await row.getByTestId("pull").click()
    await row.locator("[data-testid=pull-result].error").waitFor()
    assert.include(await row.getByTestId("pull-result").textContent(), "DigestMismatch: blob digest mismatch")
    assert.deepStrictEqual(pageErrors, [])
  })
})
