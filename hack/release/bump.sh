#!/usr/bin/env bash
# Sets the release version: deno.json's "version" (the one source), and the places that must repeat it
# because their formats cannot read it (the chart's version and appVersion, the kustomize Deployment's image
# tag, the terminal image of the restricted-terminal component). Then checks them with version.sh. Commit
# the result, merge it, and push the tag v<version>.
#
#   bash hack/release/bump.sh 0.2.0
set -euo pipefail
cd "$(dirname "$0")/../.."
version=${1:?usage: bash hack/release/bump.sh <version, e.g. 0.2.0>}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || { echo "bump: \"$version\" is not semver" >&2; exit 2; }

sed -i.bak -E "s/^(  \"version\": )\"[^\"]*\"/\1\"$version\"/" deno.json
sed -i.bak -E "s/^version: .*/version: $version/; s/^appVersion: .*/appVersion: \"$version\"/" deploy/chart/Chart.yaml
sed -i.bak -E "s#(image: ghcr.io/cloudtty/cloudshell-operator:).*#\1$version#" deploy/deployment.yaml
component=deploy/components/restricted-terminal/kustomization.yaml
sed -i.bak -E "s#(ghcr.io/cloudtty/cloudshell-terminal:).*#\1$version#" "$component"
rm -f deno.json.bak deploy/chart/Chart.yaml.bak deploy/deployment.yaml.bak "$component.bak"
bash hack/release/version.sh "v$version" >/dev/null
grep -n -F "$version" deno.json deploy/chart/Chart.yaml deploy/deployment.yaml "$component"
