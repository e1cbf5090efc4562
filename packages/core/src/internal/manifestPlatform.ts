/**
 * Platform normalisation and matching, after containerd's `platforms` package (`Normalize`,
 * `Only`): architecture aliases (`x86_64`, `aarch64`, `armhf`, ...), default ARM variants, and
 * Windows `os.version` preference.
 *
 * @internal
 */

/** The fields of a platform that matching looks at. */
export interface PlatformLike {
  readonly os: string
  readonly architecture: string
  readonly variant?: string | undefined
  readonly "os.version"?: string | undefined
}

/** A platform in canonical form: `variant` is `""` when there is none. */
export interface Canonical {
  readonly os: string
  readonly architecture: string
  readonly variant: string
}

/** containerd's `normalizeOS` (minus the "empty means the host" rule: core knows no host). */
export const normalizeOs = (os: string): string => {
  const lower = os.toLowerCase()
  return lower === "macos" ? "darwin" : lower
}

/**
 * containerd's `normalizeArch`. Note that `arm64` with variant `v8` normalises to no variant (v8
 * is the arm64 default), while `arm` without a variant normalises to `v7`.
 */
export const normalizeArch = (architecture: string, variant: string): { architecture: string; variant: string } => {
  const arch = architecture.toLowerCase()
  const v = variant.toLowerCase()
  switch (arch) {
    case "i386":
      return { architecture: "386", variant: "" }
    case "x86_64":
    case "x86-64":
    case "amd64":
      return { architecture: "amd64", variant: v === "v1" ? "" : v }
    case "aarch64":
    case "arm64":
      switch (v) {
        case "8":
        case "v8":
        case "v8.0":
          return { architecture: "arm64", variant: "" }
        case "9":
        case "9.0":
        case "v9.0":
          return { architecture: "arm64", variant: "v9" }
        default:
          return { architecture: "arm64", variant: v }
      }
    case "armhf":
      return { architecture: "arm", variant: "v7" }
    case "armel":
      return { architecture: "arm", variant: "v6" }
    case "arm":
      switch (v) {
        case "":
        case "7":
          return { architecture: "arm", variant: "v7" }
        case "5":
        case "6":
        case "8":
          return { architecture: "arm", variant: `v${v}` }
        default:
          return { architecture: "arm", variant: v }
      }
    default:
      return { architecture: arch, variant: v }
  }
}

/** The canonical form of a platform. */
export const canonical = (platform: PlatformLike): Canonical => {
  const { architecture, variant } = normalizeArch(platform.architecture, platform.variant ?? "")
  return { os: normalizeOs(platform.os), architecture, variant }
}

/** Whether two platforms are the same once normalised (os, architecture and variant). */
export const sameCanonical = (a: Canonical, b: Canonical): boolean =>
  a.os === b.os && a.architecture === b.architecture && a.variant === b.variant

/** The `major.minor.build` prefix of a Windows version (`10.0.17763.5329` → `10.0.17763`). */
const buildOf = (version: string): string => version.split(".").slice(0, 3).join(".")

/**
 * How well a candidate's `os.version` fits the wanted one: 0 exact, 1 same build, 2 the
 * candidate names none; `undefined` when it names another build. Without a wanted version every
 * candidate fits equally.
 */
export const osVersionRank = (wanted: string | undefined, candidate: string | undefined): number | undefined => {
  if (wanted === undefined || wanted === "") return 0
  if (candidate === undefined || candidate === "") return 2
  if (candidate === wanted) return 0
  return buildOf(candidate) === buildOf(wanted) ? 1 : undefined
}

const componentPattern = /^[A-Za-z0-9_.-]+$/

/**
 * Split `os/arch[/variant]` into its parts, or say why it cannot be (the caller wraps the reason
 * in an error).
 */
export const parseParts = (input: string): { os: string; architecture: string; variant?: string } | string => {
  if (input.trim() === "") return "empty platform"
  const parts = input.trim().split("/")
  if (parts.length < 2) return "expected os/arch[/variant]"
  if (parts.length > 3) return "too many components, expected os/arch[/variant]"
  for (const part of parts) {
    if (part === "") return "empty component, expected os/arch[/variant]"
    if (!componentPattern.test(part)) return `invalid component ${JSON.stringify(part)}`
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined]
  return variant === undefined ? { os, architecture } : { os, architecture, variant }
}
