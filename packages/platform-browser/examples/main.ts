/**
 * The example page: plain TypeScript and DOM on top of `BrowserRegistry.layer`. It lists the tags
 * of a repository, shows a manifest (an index's platforms, an image's config and layers) and
 * pulls a blob with a progress bar while the bytes are hashed and checked against the digest.
 *
 * `?registry=HOST&repository=NAME` fills the form (never the password). Credentials stay in
 * memory (`BrowserCredentialStore.layerMemory`); each "List tags" builds a new client, so changed
 * credentials take effect at once.
 */
import * as CredentialStore from "@ocireg/core/CredentialStore"
import type * as Digest from "@ocireg/core/Digest"
import * as Manifest from "@ocireg/core/Manifest"
import * as Registry from "@ocireg/core/Registry"
import type * as RegistryClient from "@ocireg/core/RegistryClient"
import * as BrowserCredentialStore from "@ocireg/platform-browser/BrowserCredentialStore"
import * as BrowserRegistry from "@ocireg/platform-browser/BrowserRegistry"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"

type Runtime = ManagedRuntime.ManagedRuntime<RegistryClient.RegistryClient | Digest.Hasher, never>

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T

const form = byId<HTMLFormElement>("connect")
const input = (id: string) => byId<HTMLInputElement>(id)
const status = byId<HTMLElement>("status")
const tagsSection = byId<HTMLElement>("tags-section")
const tagsList = byId<HTMLUListElement>("tags")
const manifestSection = byId<HTMLElement>("manifest-section")
const childSection = byId<HTMLElement>("child-section")

/** Create an element with attributes and children. */
const h = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] => {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value)
  element.append(...children)
  return element
}

const formatBytes = (n: number) =>
  n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(2)} MiB`

const shortDigest = (digest: string) => digest.replace(/^(sha\d+:)(.{12}).*$/, "$1$2…")

const showStatus = (text: string, kind: "info" | "error" = "info") => {
  status.replaceChildren(h("span", { class: kind === "error" ? "error" : "muted" }, text))
}

/** The message of a failed exit: the typed error's `_tag` and message. */
const failureText = (cause: Cause.Cause<unknown>) =>
  Option.match(Cause.failureOption(cause), {
    onNone: () => Cause.pretty(cause),
    onSome: (error) =>
      error instanceof Error ? `${(error as { _tag?: string })._tag ?? error.name}: ${error.message}` : String(error)
  })

let runtime: Runtime | undefined
let registry = ""
let repository = ""

/** Run an operation; on failure show the error and resolve to undefined. */
const run = async <A, E>(effect: Effect.Effect<A, E, RegistryClient.RegistryClient | Digest.Hasher>) => {
  const exit = await runtime!.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) return exit.value
  showStatus(failureText(exit.cause), "error")
  return undefined
}

const connect = () => {
  registry = input("registry").value.trim()
  repository = input("repository").value.trim()
  const username = input("username").value
  const password = input("password").value
  const credentials: Record<string, CredentialStore.Credential> = username !== ""
    ? { [registry]: CredentialStore.basic(username, Redacted.make(password)) }
    : {}
  void runtime?.dispose()
  runtime = ManagedRuntime.make(
    BrowserRegistry.layer().pipe(Layer.provide(BrowserCredentialStore.layerMemory(credentials)))
  )
}

const listTags = async () => {
  connect()
  showStatus(`Listing the tags of ${registry}/${repository}…`)
  manifestSection.hidden = true
  childSection.hidden = true
  const tags = await run(Registry.listAllTags(`${registry}/${repository}`))
  if (tags === undefined) return
  status.replaceChildren()
  tagsSection.hidden = false
  tagsList.replaceChildren(
    ...(tags.length === 0
      ? [h("li", { class: "muted" }, "no tags")]
      : tags.map((tag) => {
        const button = h("button", { class: "secondary", "data-testid": `tag-${tag}` }, tag)
        button.addEventListener("click", () => void showManifest(`${registry}/${repository}:${tag}`))
        return h("li", {}, button)
      }))
  )
}

const platformText = (platform: Manifest.Descriptor["platform"]) =>
  platform === undefined ? "—" : [platform.os, platform.architecture, platform.variant].filter(Boolean).join("/")

/**
 * Show a manifest: a tag's manifest in the first section; a platform's manifest (picked from an
 * index) in the second, below the index.
 */
const showManifest = async (reference: string, section: HTMLElement = manifestSection) => {
  showStatus(`Fetching ${reference}…`)
  const result = await run(Registry.getManifest(reference))
  if (result === undefined) return
  status.replaceChildren()
  if (section === manifestSection) childSection.hidden = true
  section.hidden = false
  const facts = h(
    "dl",
    {},
    h("dt", {}, "Digest"),
    h("dd", { "data-testid": "manifest-digest" }, h("code", {}, result.digest)),
    h("dt", {}, "Media type"),
    h("dd", { "data-testid": "manifest-media-type" }, h("code", {}, result.mediaType)),
    h("dt", {}, "Size"),
    h("dd", {}, formatBytes(result.size))
  )
  const manifest = result.manifest
  if (Manifest.isIndexLike(manifest)) {
    const rows = manifest.manifest.manifests.map((descriptor) => {
      const open = h("button", { class: "secondary" }, "Show")
      const row = h(
        "tr",
        { "data-testid": "platform" },
        h("td", { "data-testid": "platform-name" }, platformText(descriptor.platform)),
        h("td", {}, h("code", { title: descriptor.digest }, shortDigest(descriptor.digest))),
        h("td", {}, formatBytes(descriptor.size)),
        h("td", {}, open)
      )
      open.addEventListener("click", () => {
        for (const other of rows) other.classList.toggle("selected", other === row)
        void showManifest(`${registry}/${repository}@${descriptor.digest}`, childSection)
      })
      return row
    })
    section.replaceChildren(
      h("h2", {}, reference),
      facts,
      h("h3", {}, `Platforms (${rows.length})`),
      h(
        "table",
        { "data-testid": "platforms" },
        h("thead", {}, h("tr", {}, h("th", {}, "Platform"), h("th", {}, "Digest"), h("th", {}, "Size"), h("th"))),
        h("tbody", {}, ...rows)
      )
    )
    return
  }
  const blobs = [
    { role: "config", descriptor: manifest.manifest.config },
    ...manifest.manifest.layers.map((descriptor, i) => ({ role: `layer ${i + 1}`, descriptor }))
  ]
  section.replaceChildren(
    h("h2", {}, reference),
    facts,
    h("h3", {}, "Blobs"),
    h(
      "table",
      { "data-testid": "blobs" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", {}, "Blob"),
          h("th", {}, "Digest"),
          h("th", {}, "Size"),
          h("th", {}, "Progress"),
          h("th", {}, "Pull")
        )
      ),
      h("tbody", {}, ...blobs.map(({ descriptor, role }) => blobRow(role, descriptor)))
    )
  )
}

const blobRow = (role: string, descriptor: Manifest.Descriptor) => {
  const progress = h("progress", { max: String(descriptor.size), value: "0" })
  const result = h("span", { "data-testid": "pull-result" })
  const pull = h("button", { "data-testid": "pull" }, "Pull")
  pull.addEventListener("click", () => {
    pull.disabled = true
    result.className = "muted"
    result.textContent = "pulling…"
    void pullBlob(descriptor, progress, result).finally(() => (pull.disabled = false))
  })
  return h(
    "tr",
    { "data-testid": "blob", "data-digest": descriptor.digest },
    h("td", {}, role),
    h("td", {}, h("code", { title: descriptor.digest }, shortDigest(descriptor.digest))),
    h("td", {}, formatBytes(descriptor.size)),
    h("td", {}, progress),
    h("td", {}, pull, " ", result)
  )
}

/** Stream the blob, moving the progress bar; the stream fails if the bytes do not match the digest. */
const pullBlob = async (descriptor: Manifest.Descriptor, progress: HTMLProgressElement, result: HTMLElement) => {
  let received = 0
  const started = performance.now()
  const exit = await runtime!.runPromiseExit(
    Registry.getBlob(`${registry}/${repository}`, descriptor).pipe(
      Stream.runForEach((bytes) =>
        Effect.sync(() => {
          received += bytes.length
          progress.value = received
        })
      )
    )
  )
  if (Exit.isSuccess(exit)) {
    const seconds = Math.max(0.001, (performance.now() - started) / 1000)
    result.className = "ok"
    result.textContent = `verified ✓ ${formatBytes(received)} in ${seconds.toFixed(2)} s`
  } else {
    result.className = "error"
    result.textContent = failureText(exit.cause)
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault()
  void listTags()
})

const params = new URLSearchParams(location.search)
for (const name of ["registry", "repository", "username"]) {
  const value = params.get(name)
  if (value !== null) input(name).value = value
}
