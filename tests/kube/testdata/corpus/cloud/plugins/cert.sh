#!/bin/sh
# An exec credential plugin returning a client certificate (v1beta1): prints <state>/cert-reply.json.
set -eu
[ "$1" = "--state" ] || exit 64
state="$(cd "$(dirname "$0")" && cd "$2" && pwd)"
echo run >> "$state/cert-runs"
cat "$state/cert-reply.json"
