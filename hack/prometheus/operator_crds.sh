#!/usr/bin/env bash
# Fetches the CRDs of prometheus-operator (ServiceMonitor, PodMonitor, PrometheusRule) from its Go module at a
# pinned version into a cache directory outside the repository, so tests can install them in the test API
# server and validate the chart's monitors and rules against their real schemas. `go mod download` checks the
# module against the checksum database. A second run with the same pin is a no-op.
#
# Prints the directory holding the CRD files on its last line of stdout.
set -euo pipefail

PROMETHEUS_OPERATOR_VERSION=v0.85.0  # github.com/prometheus-operator/prometheus-operator
CRDS=(servicemonitors podmonitors prometheusrules)

cache_root=${CLOUDSHELL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudshell-operator}
key=$(echo "prometheus-operator-crds $PROMETHEUS_OPERATOR_VERSION ${CRDS[*]}" | sha256sum | cut -c1-12)
out="$cache_root/prometheus-operator-crds-$key"

complete() {
  for crd in "${CRDS[@]}"; do [ -s "$out/monitoring.coreos.com_$crd.yaml" ] || return 1; done
}
if complete; then
  echo "$out"
  exit 0
fi

echo "[prometheus-operator] fetching github.com/prometheus-operator/prometheus-operator $PROMETHEUS_OPERATOR_VERSION" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dir=$(cd "$tmp" && GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOFLAGS=-mod=mod \
  go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" |
  sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
mkdir -p "$tmp/out"
for crd in "${CRDS[@]}"; do
  cp "$dir/example/prometheus-operator-crd/monitoring.coreos.com_$crd.yaml" "$tmp/out/"
done
mkdir -p "$cache_root"
rm -rf "$out"
mv "$tmp/out" "$out"
echo "$out"
