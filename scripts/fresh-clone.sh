#!/usr/bin/env bash
# First contact, as CI checks it: clone this checkout (its committed HEAD) into a temporary
# directory and do there what the README tells a new user to do, with the commands read from the
# README itself, so that it cannot drift from what is tested:
#   1. the fenced blocks under "## The two commands": the set-up + main-job line runs as written
#      (the set-up skips apt-get when the packages are there); the set-up + tests line must start
#      with the same set-up (its `npm test` is what .ci/run runs on the checkout; --with-tests runs
#      it here too);
#   2. `npx --no-install ocireg --version` prints the package's version (the bin npm ci linked);
#   3. the README's CLI lines, from the clone's root, against the README's own
#      `npx ocireg registry serve` line on a free loopback port (firstContactReadme.test.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
for arg in "$@"; do
  case "$arg" in
    --with-tests) with_tests=1 ;;
    *) echo "fresh-clone: unknown option $arg (option: --with-tests)" >&2; exit 2 ;;
  esac
done

source_dir=$(pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ocireg-fresh-clone-XXXXXX")
trap 'rm -rf "$work"' EXIT
clone="$work/ocireg"
started=$SECONDS

echo "== git clone $source_dir $clone"
git clone --quiet --no-hardlinks "$source_dir" "$clone"
cd "$clone"

# one line per fenced sh block under "## The two commands" (each block holds one command line)
mapfile -t blocks < <(node -e '
  const readme = require("fs").readFileSync("README.md", "utf8")
  const start = readme.indexOf("\n## The two commands\n")
  if (start === -1) { console.error("fresh-clone: README.md has no \"## The two commands\" section"); process.exit(1) }
  const end = readme.indexOf("\n## ", start + 4)
  const section = readme.slice(start, end === -1 ? undefined : end)
  for (const match of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const lines = match[1].split("\n").filter((line) => line.trim() !== "")
    if (lines.length !== 1) { console.error("fresh-clone: each block must hold one line"); process.exit(1) }
    console.log(lines[0])
  }
')
if [ ${#blocks[@]} -ne 2 ]; then
  echo "fresh-clone: expected 2 command blocks under \"## The two commands\", found ${#blocks[@]}" >&2
  exit 1
fi
main_line=${blocks[0]}
test_line=${blocks[1]}
setup_part=${main_line% && *}
if [ "${test_line% && *}" != "$setup_part" ]; then
  echo "fresh-clone: the test line's set-up (${test_line% && *}) differs from the main line's ($setup_part)" >&2
  exit 1
fi

echo "== README, set-up and main job: $main_line"
bash -c "$main_line"

echo "== npx --no-install ocireg --version"
want=$(node -p 'require("./packages/platform-node/package.json").version')
got=$(npx --no-install ocireg --version)
if [ "$got" != "$want" ]; then
  echo "fresh-clone: npx ocireg --version printed '$got', the package is $want" >&2
  exit 1
fi
echo "$got"

echo "== README, the CLI lines against npx ocireg registry serve"
npx --no-install vitest run --project platform-node packages/platform-node/test/firstContactReadme.test.ts

if [ "$with_tests" = 1 ]; then
  echo "== README, set-up and tests: $test_line"
  bash -c "$test_line"
fi

echo "fresh-clone: ok in $((SECONDS - started)) s"
