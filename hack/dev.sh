#!/usr/bin/env bash
# Runs the product on a fresh machine: installs the pinned Deno, builds (once)
# and starts a local control plane with fake nodes, installs the CRD, runs the
# operator from source against it, applies a sample CloudShell and prints its
# status until it is Ready with a URL. Ctrl-C stops everything and removes the
# control plane's state folder; so does an operator that exits on its own
# (reported with its last lines, exit code 1).
#
#   bash hack/dev.sh [MANIFEST] [-- OPERATOR FLAGS...]
#
# MANIFEST: a CloudShell to apply instead of samples/local_cluster.yaml. Flags
# after `--` go to the operator, after (so over) the ones hack/dev.ts sets, for
# example `-- --metrics-bind-address=127.0.0.1:18080` when port 8080 is taken.
#
# Needs: bash, Node.js with npm, Go, openssl, Python 3 with pip.
set -euo pipefail
cd "$(dirname "$0")/.."
# npm ci only when the pinned Deno is missing: it empties node_modules before installing, which would pull
# deno away from anything running it (a second dev.sh, the tests).
pinned=$(sed -n 's/.*"deno": "\([^"]*\)".*/\1/p' toolchain/package.json)
installed=$(toolchain/node_modules/.bin/deno --version 2>/dev/null | sed -n '1s/^deno \([^ ]*\).*/\1/p' || true)
if [ "$installed" != "$pinned" ]; then
  npm ci --prefix toolchain --no-audit --no-fund --loglevel=error >&2
fi
export PATH="$PWD/toolchain/node_modules/.bin:$PATH"
CLOUDSHELL_CONTROLPLANE_BIN=$(bash hack/controlplane/build.sh)
export CLOUDSHELL_CONTROLPLANE_BIN
CLOUDSHELL_TTYD_BIN=$(bash hack/ttyd.sh)
export CLOUDSHELL_TTYD_BIN
exec deno run --allow-all hack/dev.ts "$@"
