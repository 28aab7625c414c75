#!/usr/bin/env bash
# Builds actionlint (the GitHub Actions workflow checker) from its Go module at a pinned version into a cache
# directory outside the repository, beside the control-plane build but under a key of its own, so bumping
# one never rebuilds the other. A second run with the same pin is a no-op.
#
# Prints the path of the actionlint binary on its last line of stdout.
set -euo pipefail

ACTIONLINT_VERSION=v1.7.12   # github.com/rhysd/actionlint; go.sum in the module cache pins its dependencies

cache_root=${CLOUDSHELL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudshell-operator}
# The cache key is the pin alone, so editing this script's prose does not force a rebuild.
BUILD_RECIPE=1  # bump when the way of building changes
key=$(echo "actionlint $ACTIONLINT_VERSION $BUILD_RECIPE" | sha256sum | cut -c1-12)
bin="$cache_root/actionlint-$key/bin"

if [ -x "$bin/actionlint" ]; then
  echo "$bin/actionlint"
  exit 0
fi

echo "[actionlint] compiling github.com/rhysd/actionlint $ACTIONLINT_VERSION" >&2
mkdir -p "$bin"
# `go install module@version` resolves the module's own go.mod and checks every download against go.sum and
# the checksum database; build into a temporary name first so an interrupted build never looks complete.
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOFLAGS=-buildvcs=false CGO_ENABLED=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" go install -trimpath -ldflags="-s -w" "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" >&2
mv "$tmp/actionlint" "$bin/actionlint"
echo "$bin/actionlint"
