#!/bin/sh
# An exec credential plugin: prints the ExecCredential the test left in <state>/token-reply.json, and
# records each run (with KUBERNETES_EXEC_INFO and its env) in <state>/token-runs.
set -eu
[ "$1" = "--state" ] || exit 64
state="$2"
printf '%s %s\n' "$CORPUS_PLUGIN" "$KUBERNETES_EXEC_INFO" >> "$state/token-runs"
cat "$state/token-reply.json"
