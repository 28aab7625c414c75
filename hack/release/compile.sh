#!/usr/bin/env bash
# Compiles the operator for one target with the flags of `deno task compile` (deno.json) and the commit
# (COMMIT, else git's HEAD) embedded, checks that the binary prints the release version and that commit
# when this machine can run it, and packs it with the README and LICENSE into
# dist/cloudshell-operator-<version>-<target>.tar.gz (.zip for Windows). The release workflow runs it once
# per target, each on a runner of that platform, with REQUIRE_NATIVE=1 so an unchecked binary fails the job.
# Then the kubectl plugin the same way (deno.json's `compile-plugin` task), packed with its page (as README.md)
# and LICENSE into dist/kubectl-cloudshell-<version>-<target>.tar.gz, the archive the krew manifest
# (hack/release/krew.ts) points at.
#
#   bash hack/release/compile.sh x86_64-unknown-linux-gnu 0.1.0
# Needs deno on PATH (toolchain/), and internet for denort unless DENORT_BIN names it.
set -euo pipefail
target=$1 version=$2
cd "$(dirname "$0")/../.."

name="cloudshell-operator-$version-$target"
stage="dist/$name"
exe=""
case $target in *-windows-*) exe=.exe ;; esac
rm -rf "$stage" && mkdir -p "$stage"

# The permissions and V8 flags of `deno task compile`, without its output and entry point. (A read loop, not
# mapfile: macOS's /bin/bash is 3.2.)
flags=()
while IFS= read -r flag; do flags+=("${flag%$'\r'}"); done < <(deno eval --quiet '
  const task = JSON.parse(Deno.readTextFileSync("deno.json")).tasks.compile.split(/\s+/);
  for (const a of task.slice(2)) if (!a.startsWith("--output") && a !== "main.ts") console.log(a);')
[ "${#flags[@]}" -gt 0 ] || { echo "compile: no flags read from deno.json's compile task" >&2; exit 1; }
# The commit reaches the binary as an embedded environment variable (main.ts reads it for --version).
commit=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || true)}
env_file=$(mktemp)
trap 'rm -f "$env_file"' EXIT
printf 'CLOUDSHELL_OPERATOR_COMMIT=%s\n' "$commit" >"$env_file"
deno compile "${flags[@]}" --env-file="$env_file" --target "$target" --output "$stage/cloudshell-operator$exe" main.ts

host=$(deno eval --quiet 'console.log(Deno.build.target)' | tr -d '\r')
if [ "$host" = "$target" ]; then
  printed=$("$stage/cloudshell-operator$exe" --version | tr -d '\r' | head -n 1)
  [ "$printed" = "$version" ] || { echo "compile: the binary says \"$printed\", expected \"$version\"" >&2; exit 1; }
  if [ -n "$commit" ] && ! "$stage/cloudshell-operator$exe" --version | tr -d '\r' | grep -qx "commit: $commit"; then
    echo "compile: the binary does not name commit $commit" >&2
    exit 1
  fi
  echo "compile: $target binary prints --version $printed" >&2
elif [ "${REQUIRE_NATIVE:-}" = 1 ]; then
  echo "compile: $target cannot run on this $host machine, so its --version is unchecked" >&2
  exit 1
else
  echo "compile: $target not run here ($host): --version unchecked" >&2
fi

cp README.md LICENSE "$stage/"
if [ -n "$exe" ]; then
  (cd dist && 7z a -tzip -bso0 "$name.zip" "$name")
else
  tar -C dist -czf "dist/$name.tar.gz" "$name"
fi
rm -rf "$stage"

# The kubectl plugin: its task's flags, its --version checked where it runs, its own archive.
plugin="kubectl-cloudshell-$version-$target"
pstage="dist/$plugin"
rm -rf "$pstage" && mkdir -p "$pstage"
pflags=()
while IFS= read -r flag; do pflags+=("${flag%$'\r'}"); done < <(deno eval --quiet '
  const task = JSON.parse(Deno.readTextFileSync("deno.json")).tasks["compile-plugin"].split(/\s+/);
  for (const a of task.slice(2)) if (!a.startsWith("--output") && a !== "plugin/main.ts") console.log(a);')
[ "${#pflags[@]}" -gt 0 ] || { echo "compile: no flags read from deno.json's compile-plugin task" >&2; exit 1; }
deno compile "${pflags[@]}" --target "$target" --output "$pstage/kubectl-cloudshell$exe" plugin/main.ts
if [ "$host" = "$target" ]; then
  printed=$("$pstage/kubectl-cloudshell$exe" --version | tr -d '\r')
  [ "$printed" = "$version" ] || { echo "compile: the plugin says \"$printed\", expected \"$version\"" >&2; exit 1; }
  echo "compile: $target kubectl-cloudshell prints --version $printed" >&2
fi
cp docs/kubectl-plugin.md "$pstage/README.md"
cp LICENSE "$pstage/"
if [ -n "$exe" ]; then
  (cd dist && 7z a -tzip -bso0 "$plugin.zip" "$plugin")
else
  tar -C dist -czf "dist/$plugin.tar.gz" "$plugin"
fi
rm -rf "$pstage"
