#!/bin/sh
# An exec credential plugin: prints the ExecCredential the test left in <state>/token-reply.json (<state>
# relative to this script: plugins run in the caller's working directory, as under kubectl), and
# records each run (with KUBERNETES_EXEC_INFO and its env) in <state>/token-runs.
set -eu
[ "$1" = "--state" ] || exit 64
state="$(cd "$(dirname "$0")" && cd "$2" && pwd)"
printf '%s %s\n' "$CORPUS_PLUGIN" "$KUBERNETES_EXEC_INFO" >> "$state/token-runs"
cat "$state/token-reply.json"
