#!/usr/bin/env bash
# Installs what the browser test needs: Debian's Chromium (apt, only when it is
# missing and this runs as root, as in CI) and the pinned CDP library
# playwright-core (npm ci in toolchain/browser, run under Node).
#
# Prints the Chromium executable on its last line of stdout, or nothing when
# Chromium cannot be installed here (the browser test then says it skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "[browser] $*" >&2; }

chromium=$(command -v chromium || true)
if [ -z "$chromium" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing Debian's chromium (apt-get)"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2
    chromium=$(command -v chromium || true)
  else
    log "chromium is missing and cannot be installed here (needs root and apt-get)"
  fi
fi
npm ci --prefix toolchain/browser --no-audit --no-fund --loglevel=error >&2
echo "$chromium"
