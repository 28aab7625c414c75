#!/bin/sh
# An exec credential plugin returning a client certificate (v1beta1): prints <state>/cert-reply.json.
set -eu
[ "$1" = "--state" ] || exit 64
echo run >> "$2/cert-runs"
cat "$2/cert-reply.json"
