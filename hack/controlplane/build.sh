#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok, helm) from Go modules at pinned versions into a
# cache directory outside the repository. A second run with the same pins is a
# no-op, so CI and developers pay for the cold build once per machine.
#
# Prints the directory holding the binaries on its last line of stdout.
set -euo pipefail

KUBERNETES_VERSION=v1.37.2   # k8s.io/kubernetes; staging modules use v0.37.2
ETCD_VERSION=v3.7.0          # the etcd server that kubernetes v1.37.2 itself requires
KWOK_VERSION=v0.8.0
HELM_VERSION=v3.22.0

here=$(cd "$(dirname "$0")" && pwd)
cache_root=${CLOUDSHELL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudshell-operator}
# The cache key is the pins alone, so editing this script's prose does not force a rebuild.
BUILD_RECIPE=1  # bump when the way of building changes
key=$(echo "$KUBERNETES_VERSION $ETCD_VERSION $KWOK_VERSION $HELM_VERSION $BUILD_RECIPE" | sha256sum | cut -c1-12)
out="$cache_root/controlplane-$key"
bin="$out/bin"
want=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok helm)

complete() {
  for b in "${want[@]}"; do [ -x "$bin/$b" ] || return 1; done
}
if complete; then
  echo "$bin"
  exit 0
fi

log() { echo "[controlplane] $*" >&2; }
mkdir -p "$bin" "$out/src"
# One build at a time per cache: a second caller (another test run on the same machine) waits for the
# first and then finds the binaries, instead of rewriting the same source folder under it.
exec 9>"$out.lock"
if ! flock -n 9; then
  log "another build of this control plane is running; waiting for it"
  flock 9
fi
if complete; then
  echo "$bin"
  exit 0
fi
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOFLAGS=-buildvcs=false CGO_ENABLED=0
start=$(date +%s)

# k8s.io/kubernetes is not meant to be imported: its go.mod requires every
# staging module at v0.0.0 and replaces them with local paths. A wrapper module
# restores those replaces against the published staging versions.
wrap="$out/src/kube"
mkdir -p "$wrap/cmd/etcd"
staging_version="v0.${KUBERNETES_VERSION#v1.}"
modfile=$(curl -fsSL "${GOPROXY_URL:-https://proxy.golang.org}/k8s.io/kubernetes/@v/$KUBERNETES_VERSION.mod" 2>/dev/null || true)
if [ -z "$modfile" ]; then
  # No direct proxy access: ask the go command for the module's go.mod instead.
  tmp=$(mktemp -d)
  (cd "$tmp" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" >/dev/null)
  modfile=$(cat "$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$KUBERNETES_VERSION.mod")
  rm -rf "$tmp"
fi
{
  echo "module cloudshell.local/controlplane"
  echo
  echo "go 1.26.0"
  echo
  echo "require ("
  echo "	k8s.io/kubernetes $KUBERNETES_VERSION"
  echo "	go.etcd.io/etcd/server/v3 $ETCD_VERSION"
  echo ")"
  echo
  echo "replace ("
  echo "$modfile" | awk '/=> \.\/staging\/src\// {print $1}' | grep -v -E 'sample-(cli-plugin|controller|apiserver)' |
    while read -r m; do echo "	$m => $m $staging_version"; done
  echo ")"
} >"$wrap/go.mod"
cat >"$wrap/cmd/etcd/main.go" <<'GO'
// Command etcd runs the etcd server that kube-apiserver stores its data in.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
cat >"$wrap/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
log "resolving Kubernetes $KUBERNETES_VERSION and etcd $ETCD_VERSION modules"
(cd "$wrap" && go mod tidy -e >&2)
log "compiling etcd and Kubernetes (one go build, so shared packages compile once)"
(cd "$wrap" && go build -trimpath -ldflags="-s -w" -o "$bin/" \
  ./cmd/etcd \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler \
  k8s.io/kubernetes/cmd/kubectl >&2)

log "compiling kwok $KWOK_VERSION"
GOBIN="$bin" go install -trimpath -ldflags="-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2
log "compiling helm $HELM_VERSION"
GOBIN="$bin" go install -trimpath -ldflags="-s -w" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2

complete || { log "build finished but binaries are missing"; exit 1; }
log "built in $(($(date +%s) - start))s into $bin"
echo "$bin"
