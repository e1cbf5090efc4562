#!/usr/bin/env bash
# Set up a checkout of ocireg on a Debian (or Ubuntu) machine with Node 20 or later: install with
# apt-get every system package the test suites need (the one list in
# test-support/system-packages.json, the same the tests' gates read), then `npm ci` and a build,
# so that `npx ocireg`, `npm run demo` and `npm test` (with nothing skipped) work.
#
# apt-get runs directly as root, through sudo otherwise; when neither works the script names the
# packages to install and exits with status 1. Packages already present are not installed again.
# Options: --no-system (skip apt-get; only npm ci and the build), --check (only report missing
# packages: status 1 when some are missing).
set -euo pipefail
cd "$(dirname "$0")/.."

system=1
check_only=0
for arg in "$@"; do
  case "$arg" in
    --no-system) system=0 ;;
    --check) check_only=1 ;;
    *) echo "setup: unknown option $arg (options: --no-system, --check)" >&2; exit 2 ;;
  esac
done

if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js 20 or later is needed first (Debian: apt-get install nodejs npm, or https://nodejs.org)" >&2
  exit 1
fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  echo "setup: Node.js 20 or later is needed (this is $(node --version))" >&2
  exit 1
fi

# "binary package" per line, from the one list
list=$(node -e '
  const { binaries } = JSON.parse(require("fs").readFileSync("test-support/system-packages.json", "utf8"))
  for (const [binary, { package: pkg }] of Object.entries(binaries)) console.log(`${binary} ${pkg}`)
')

missing=()
while read -r binary pkg; do
  # Debian puts some daemons (nginx) in /usr/sbin, which is not on every user's PATH
  if ! PATH="$PATH:/usr/sbin:/usr/local/sbin" command -v "$binary" >/dev/null 2>&1; then
    case " ${missing[*]-} " in *" $pkg "*) ;; *) missing+=("$pkg") ;; esac
  fi
done <<<"$list"

if [ "$check_only" = 1 ]; then
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: every system package the tests need is installed"
  exit 0
fi

if [ "$system" = 1 ] && [ ${#missing[@]} -gt 0 ]; then
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      as_root=(sudo)
    else
      as_root=(none)
    fi
  fi
  installed=0
  if [ "${as_root[*]-}" != none ] && command -v apt-get >/dev/null 2>&1; then
    echo "== ${as_root[*]-}${as_root[*]:+ }apt-get install ${missing[*]}"
    if "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; then
      installed=1
    fi
  fi
  if [ "$installed" = 0 ]; then
    {
      echo "setup: could not install the Debian packages the tests need: ${missing[*]}"
      if ! command -v apt-get >/dev/null 2>&1; then
        echo "setup: apt-get is not available here; install the equivalents of those packages yourself."
      else
        echo "setup: run this script as root or with sudo, or have someone run: apt-get install ${missing[*]}"
      fi
      echo "setup: (scripts/setup.sh --no-system sets up npm only; the tests that need them are then skipped)"
    } >&2
    exit 1
  fi
fi

echo "== npm ci"
npm ci --no-audit --no-fund
echo "== npm run build"
npm run build
