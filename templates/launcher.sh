#!/bin/sh
# The cloudshell launcher: starts ttyd for the terminal container. The operator substitutes this file into
# the built-in Job template ({{ .Launcher }}, run as `sh -c <script> cloudshell-launcher <ttyd flags>`); the
# terminal image ships the same file. Arguments: ttyd flags (.TtydArgs). Env: COMMAND, the user's command.
set -eu
# ttyd 1.7+ is read-only unless -W; older builds lack the flag and are always writable.
if ttyd --help 2>&1 | grep -q -e '--writable'; then
  set -- -W "$@"
fi
# CloudTTY's image ships its web client (upload, download, TTL notice) here.
if [ -f /usr/lib/ttyd/index.html ]; then
  set -- --index /usr/lib/ttyd/index.html "$@"
fi
exec ttyd --port 7681 "$@" sh -c "$COMMAND"
