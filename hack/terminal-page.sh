#!/usr/bin/env bash
# Builds the terminal image's web page (images/terminal/page) the way the image build does: `npm ci` from its
# lockfile (exact versions, checked against the lockfile's integrity hashes), then its build script, which
# writes one self-contained index.html. Cached outside the repository under a checksum of the page's
# sources, so only a change of them pays for a new build.
#
# Prints the path of index.html on its last line of stdout (the tests hand it to the launcher as
# CLOUDSHELL_INDEX). Needs: Node.js with npm (npm's registry on the first build of each version).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "[terminal-page] $*" >&2; }

page=images/terminal/page
files=$(cd "$page" && { echo package.json package-lock.json build.mjs; find src -type f | LC_ALL=C sort; })
sum=$(cd "$page" && for f in $files; do printf '%s\n' "$f" && cat "$f"; done | sha256sum | cut -c1-12)
cache_root=${CLOUDSHELL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudshell-operator}
out="$cache_root/terminal-page-$sum/index.html"
if [ -s "$out" ]; then
  echo "$out"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$page" && cp --parents $files "$work/")
log "npm ci (from images/terminal/page/package-lock.json)"
# --ignore-scripts: nothing from the registry runs here; esbuild's JavaScript API finds its binary in the
# platform package the lockfile pins.
npm ci --prefix "$work" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
mkdir -p "$(dirname "$out")"
node "$work/build.mjs" "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
