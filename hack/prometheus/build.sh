#!/usr/bin/env bash
# Builds Prometheus and promtool from the Go module github.com/prometheus/prometheus at a pinned version into
# a cache directory outside the repository, beside the control-plane build but under a key of its own, so
# bumping one never rebuilds the other. A second run with the same pins is a no-op.
#
# The tests use promtool to check the chart's alerting rules and a Prometheus on loopback to scrape the
# operator. Both are built with `remove_all_sd` (only static and file service discovery, which is all the tests
# use; this halves the compile) and without the web UI's embedded assets (the tests use the HTTP API only).
#
# Prints the directory holding both binaries on its last line of stdout.
set -euo pipefail

PROMETHEUS_VERSION=v0.316.0  # Prometheus 3.16.0; its go.mod asks for go 1.26.7, built with GOTOOLCHAIN=local

cache_root=${CLOUDSHELL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudshell-operator}
# The cache key is the pins alone, so editing this script's prose does not force a rebuild.
BUILD_RECIPE=1  # bump when the way of building changes
key=$(echo "prometheus $PROMETHEUS_VERSION $BUILD_RECIPE" | sha256sum | cut -c1-12)
bin="$cache_root/prometheus-$key/bin"
log() { echo "[prometheus] $*" >&2; }

if [ -x "$bin/prometheus" ] && [ -x "$bin/promtool" ]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
log "compiling prometheus and promtool from github.com/prometheus/prometheus $PROMETHEUS_VERSION"
# `go install module@version` resolves the module's own go.mod and checks every download against go.sum and
# the checksum database. Built into a temporary directory first, so an interrupted run never looks complete.
GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOBIN="$tmp" \
  go install -trimpath -ldflags="-s -w" -tags remove_all_sd \
  "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_VERSION" \
  "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION" >&2
mv "$tmp/promtool" "$bin/promtool"
mv "$tmp/prometheus" "$bin/prometheus"
log "built in $(($(date +%s) - start))s into $bin"
echo "$bin"
