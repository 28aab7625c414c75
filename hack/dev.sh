#!/usr/bin/env bash
# Runs the product on a fresh machine: installs the pinned Deno, builds (once)
# and starts a local control plane with fake nodes, installs the CRD, runs the
# operator from source against it, applies a sample CloudShell and prints its
# status until it is Ready with a URL. Ctrl-C stops everything.
#
# Needs: bash, Node.js with npm, Go, openssl, Python 3 with pip. Optional argument: a CloudShell
# manifest to apply instead of samples/local_cluster.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --prefix toolchain --no-audit --no-fund --loglevel=error >&2
export PATH="$PWD/toolchain/node_modules/.bin:$PATH"
CLOUDSHELL_CONTROLPLANE_BIN=$(bash hack/controlplane/build.sh)
export CLOUDSHELL_CONTROLPLANE_BIN
CLOUDSHELL_TTYD_BIN=$(bash hack/ttyd.sh)
export CLOUDSHELL_TTYD_BIN
exec deno run --allow-all hack/dev.ts "$@"
