#!/usr/bin/env bash
# Installs the Debian programs some tests run besides the base image's (apt,
# only when one is missing and this runs as root, as in CI). Each package is
# named after the program it installs (lrzsz installs rz and sz); to add one, add it to both lists below.
# A test whose program is still missing says so and is skipped.
#
#   busybox: the launcher under BusyBox's sh (Alpine images such as CloudTTY's have only it)
#   tmux: reconnecting to the same shell (the terminal image ships it; templates/launcher.sh)
#   rz, sz (package lrzsz): file upload and download through the terminal image's page (ZMODEM)
set -euo pipefail
log() { echo "[apt] $*" >&2; }

missing=""
for program in busybox tmux rz sz; do
  command -v "$program" >/dev/null || missing="$missing $program"
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  log "installing Debian's$missing (apt-get)"
  apt-get update -qq >&2
  # By name, all of them (already installed ones are left as they are): the list the tests look for.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox tmux lrzsz >&2
else
  log "missing and cannot be installed here (needs root and apt-get):$missing; the tests that run them skip"
fi
