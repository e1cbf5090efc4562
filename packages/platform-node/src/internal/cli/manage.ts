/**
 * Subcommands that change registries: copy, tag, delete, login, logout.
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type * as CredentialStore from "@ocireg/core/CredentialStore"
import * as Image from "@ocireg/core/Image"
import * as Reference from "@ocireg/core/Reference"
import * as Registry from "@ocireg/core/Registry"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Equal from "effect/Equal"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as DockerCredentialStore from "../../DockerCredentialStore.js"
import { clientLayer, clientLayerWith, type Global, parseCreds, password, root } from "./global.js"
import { bytes, result, UsageError } from "./output.js"
import * as Progress from "./progress.js"

const source = Args.text({ name: "source" }).pipe(Args.withDescription("the image to copy"))
const target = Args.text({ name: "target" }).pipe(Args.withDescription("where to copy it"))
const jobs = Options.integer("jobs").pipe(
  Options.withAlias("j"),
  Options.withDefault(4),
  Options.withDescription("blobs transferred at the same time")
)
const allTags = Options.boolean("all-tags").pipe(Options.withDescription("copy every tag of the source repository"))
const referrers = Options.boolean("referrers").pipe(
  Options.withDescription("also copy signatures, SBOMs and other referrers")
)

const srcCreds = Options.text("src-creds").pipe(
  Options.optional,
  Options.withDescription("USER[:PASS] for the source registry (no :PASS: the --password-stdin one)")
)
const destCreds = Options.text("dest-creds").pipe(
  Options.optional,
  Options.withDescription("USER[:PASS] for the target registry (no :PASS: the --password-stdin one)")
)

/**
 * The credentials of `--src-creds` and `--dest-creds` by host. The client keeps one credential
 * per registry host, so both sides on one host must use the same one.
 */
const sideCredentials = (
  global: Global,
  args: {
    readonly source: string
    readonly target: string
    readonly srcCreds: Option.Option<string>
    readonly destCreds: Option.Option<string>
  }
) =>
  Effect.gen(function*() {
    const secret = yield* password(global)
    const perHost: Record<string, CredentialStore.Credential> = {}
    const sides = [["src-creds", args.source, args.srcCreds], ["dest-creds", args.target, args.destCreds]] as const
    for (const [flag, reference, creds] of sides) {
      if (Option.isNone(creds)) continue
      const credential = yield* Either.match(parseCreds(flag, creds.value, secret), {
        onLeft: (message) => Effect.fail(new UsageError({ message })),
        onRight: Effect.succeed
      })
      const host = (yield* Reference.parseEffect(reference)).registry
      if (perHost[host] !== undefined && !Equal.equals(perHost[host], credential)) {
        return yield* new UsageError({
          message: `--src-creds and --dest-creds differ for the same registry ${host}: ` +
            "ocireg keeps one credential per registry, so give the one that can read the source and write the target"
        })
      }
      perHost[host] = credential
    }
    return clientLayerWith(global, [args.source, args.target], secret, perHost)
  })

const copy = Command.make(
  "copy",
  { source, target, jobs, allTags, referrers, srcCreds, destCreds },
  (args) =>
    Effect.gen(function*() {
      const global = yield* root
      const layer = yield* sideCredentials(global, args)
      const progress = Progress.make(!global.json)
      const options: Image.CopyOptions = {
        concurrency: args.jobs,
        platform: Option.getOrUndefined(global.platform),
        referrers: args.referrers,
        onEvent: progress.onEvent
      }
      if (args.allTags) {
        const copied = yield* Image.copyAllTags(args.source, args.target, options).pipe(
          Effect.ensuring(progress.stop),
          Effect.provide(layer)
        )
        return yield* result(global.json, copied, () => copied.map((c) => `${c.tag}: ${c.result.digest}`))
      }
      const copied = yield* Image.copy(args.source, args.target, options).pipe(
        Effect.ensuring(progress.stop),
        Effect.provide(layer)
      )
      yield* result(global.json, copied, () => [
        `${args.target}: ${copied.digest}`,
        `${copied.manifests} manifests; blobs: ${copied.blobs.uploaded} copied (${bytes(copied.bytesUploaded)}), ` +
        `${copied.blobs.mounted} mounted, ${copied.blobs.existed} already there`
      ])
    })
).pipe(Command.withDescription("copy an image or index between repositories or registries, keeping digests"))

const tag = Command.make("tag", {
  reference: Args.text({ name: "reference" }).pipe(Args.withDescription("the image to tag, by tag or digest")),
  tag: Args.text({ name: "new-tag" }).pipe(Args.withDescription("the other tag, in the same repository"))
}, (args) =>
  Effect.gen(function*() {
    const global = yield* root
    const tagged = yield* Image.tag(args.reference, args.tag).pipe(
      Effect.provide(clientLayer(global, [args.reference]))
    )
    yield* result(global.json, { reference: Reference.format(tagged.reference), digest: tagged.digest }, () => [
      `${Reference.format(tagged.reference)}: ${tagged.digest}`
    ])
  })).pipe(Command.withDescription("give an existing image another tag (no blob moves)"))

const tagOnly = Options.boolean("tag-only").pipe(
  Options.withDescription("remove just the tag, keeping the manifest (registries that support it)")
)

const del = Command.make(
  "delete",
  {
    reference: Args.text({ name: "reference" }).pipe(Args.withDescription("the manifest to delete, by tag or digest")),
    tagOnly
  },
  (args) =>
    Effect.gen(function*() {
      const global = yield* root
      const layer = clientLayer(global, [args.reference])
      if (args.tagOnly) {
        yield* Registry.deleteTag(args.reference).pipe(Effect.provide(layer))
        return yield* result(global.json, { deleted: args.reference }, () => [`deleted tag ${args.reference}`])
      }
      const digest = yield* Registry.deleteManifest(args.reference).pipe(Effect.provide(layer))
      yield* result(global.json, { deleted: args.reference, digest }, () => [`deleted ${args.reference} (${digest})`])
    })
).pipe(Command.withDescription("delete a manifest (a tag is resolved to its digest first), or with --tag-only a tag"))

const plaintext = Options.boolean("plaintext").pipe(
  Options.withDescription("store the password in config.json when no credential helper is configured")
)

const login = Command.make(
  "login",
  {
    registry: Args.text({ name: "registry" }).pipe(Args.withDescription("the registry host, e.g. ghcr.io")),
    plaintext
  },
  (args) =>
    Effect.gen(function*() {
      const global = yield* root
      const username = Option.getOrUndefined(global.username)
      const secret = yield* password(global)
      if (username === undefined || Option.isNone(secret)) {
        return yield* Effect.fail(new Error("login needs --username and --password-stdin"))
      }
      // check the credentials before storing them, as docker login does
      yield* Registry.ping(args.registry).pipe(
        Effect.provide(clientLayerWith({ ...global, username: Option.some(username) }, [args.registry], secret))
      )
      const stored = yield* DockerCredentialStore.login(args.registry, username, Redacted.value(secret.value), {
        plaintext: args.plaintext
      })
      yield* result(global.json, { registry: args.registry, stored }, () => [
        `logged in to ${args.registry} (${stored._tag === "Helper" ? `helper ${stored.helper}` : stored.path})`
      ])
    })
).pipe(Command.withDescription("store credentials for a registry (credential helper, or config.json with --plaintext)"))

const logout = Command.make("logout", {
  registry: Args.text({ name: "registry" }).pipe(Args.withDescription("the registry host, e.g. ghcr.io"))
}, (args) =>
  Effect.gen(function*() {
    const global = yield* root
    const removed = yield* DockerCredentialStore.logout(args.registry)
    yield* result(global.json, { registry: args.registry, removed }, () => [
      removed ? `logged out of ${args.registry}` : `no credentials stored for ${args.registry}`
    ])
  })).pipe(Command.withDescription("remove stored credentials for a registry"))

/** The subcommands that change things. */
export const commands = [copy, tag, del, login, logout] as const
