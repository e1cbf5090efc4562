/**
 * Where Docker and Podman keep credentials: the list of files a lookup reads, in order, and the
 * file `login`/`logout` write. Pure path computation, no I/O.
 *
 * The read order follows containers/image (`pkg/docker/config/config.go`, `getAuthFilePaths`), so
 * ocireg finds what `podman login`, `skopeo login`, `buildah login` and `docker login` stored:
 *
 * 1. `$REGISTRY_AUTH_FILE`; when it is set it is the *only* file read (an explicit choice, as
 *    podman's `--authfile`).
 * 2. Otherwise the primary containers file: `$XDG_RUNTIME_DIR/containers/auth.json` (Linux; without
 *    `XDG_RUNTIME_DIR`, `/run/containers/<uid>/auth.json`; on macOS and Windows
 *    `~/.config/containers/auth.json`),
 * 3. `$XDG_CONFIG_HOME/containers/auth.json` (default `~/.config/containers/auth.json`),
 * 4. `$DOCKER_CONFIG/config.json`, or `~/.docker/config.json` when `DOCKER_CONFIG` is not set,
 * 5. `~/.dockercfg` (Docker's legacy format: the `auths` map at the top level).
 *
 * @internal
 */
import * as Path from "node:path"

/** @internal */
export interface AuthFile {
  readonly path: string
  /** `~/.dockercfg`: the top-level object is the `auths` map. */
  readonly legacy: boolean
}

/** @internal */
export interface Settings {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly homeDir: string
  readonly platform: NodeJS.Platform
  readonly uid: number | undefined
}

const variable = (env: Settings["env"], name: string): string | undefined => {
  const value = env[name]
  return value === undefined || value === "" ? undefined : value
}

const dockerConfigJson = (settings: Settings): string =>
  Path.join(variable(settings.env, "DOCKER_CONFIG") ?? Path.join(settings.homeDir, ".docker"), "config.json")

const primaryContainersFile = (settings: Settings): string | undefined => {
  if (settings.platform !== "linux") {
    return Path.join(settings.homeDir, ".config", "containers", "auth.json")
  }
  const runtimeDir = variable(settings.env, "XDG_RUNTIME_DIR")
  if (runtimeDir !== undefined) return Path.join(runtimeDir, "containers", "auth.json")
  return settings.uid === undefined ? undefined : `/run/containers/${settings.uid}/auth.json`
}

/**
 * The files a lookup reads, first match wins. Duplicates (macOS: the primary file is the
 * `XDG_CONFIG_HOME` one) appear once.
 *
 * @internal
 */
export const authFiles = (settings: Settings): ReadonlyArray<AuthFile> => {
  const explicit = variable(settings.env, "REGISTRY_AUTH_FILE")
  if (explicit !== undefined) return [{ path: explicit, legacy: false }]
  const configHome = variable(settings.env, "XDG_CONFIG_HOME") ?? Path.join(settings.homeDir, ".config")
  const candidates: Array<AuthFile> = []
  const primary = primaryContainersFile(settings)
  if (primary !== undefined) candidates.push({ path: primary, legacy: false })
  candidates.push(
    { path: Path.join(configHome, "containers", "auth.json"), legacy: false },
    { path: dockerConfigJson(settings), legacy: false },
    { path: Path.join(settings.homeDir, ".dockercfg"), legacy: true }
  )
  const seen = new Set<string>()
  return candidates.filter((file) => {
    const key = Path.resolve(file.path)
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/**
 * The file `login` and `logout` update: `$REGISTRY_AUTH_FILE` when set (then it is the only file
 * lookups read, so a login must land there), otherwise Docker's `config.json`.
 *
 * @internal
 */
export const loginFile = (settings: Settings): string =>
  variable(settings.env, "REGISTRY_AUTH_FILE") ?? dockerConfigJson(settings)
