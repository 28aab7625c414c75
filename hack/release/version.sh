#!/usr/bin/env bash
# Prints the release version, the one in deno.json, after checking that everything else that names it agrees:
# the chart's version and appVersion, and, when a tag is given (the release workflow passes the pushed tag),
# that the tag is "v" followed by that version. Exits 1 with the reason otherwise.
#
#   bash hack/release/version.sh [v0.1.0]
set -euo pipefail
cd "$(dirname "$0")/../.."
tag=${1:-}

version=$(node -p 'require("./deno.json").version')
chart_version=$(sed -n 's/^version: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' deploy/chart/Chart.yaml)
app_version=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' deploy/chart/Chart.yaml)

fail() { echo "release version: $*" >&2; exit 1; }
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || fail "deno.json's version \"$version\" is not semver"
[ "$chart_version" = "$version" ] || fail "deploy/chart/Chart.yaml version is \"$chart_version\", deno.json's is \"$version\""
[ "$app_version" = "$version" ] || fail "deploy/chart/Chart.yaml appVersion is \"$app_version\", deno.json's is \"$version\""
if [ -n "$tag" ] && [ "$tag" != "v$version" ]; then
  fail "tag \"$tag\" is not v$version (deno.json); bump the version in deno.json and the chart, or tag v$version"
fi
echo "$version"
