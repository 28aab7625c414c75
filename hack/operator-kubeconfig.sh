#!/usr/bin/env bash
# Writes a kubeconfig for deploy/'s ServiceAccount (cloudshell-system/cloudshell-operator), so the operator
# runs outside the cluster with the rights the shipped RBAC gives it and no more: the server and CA of
# kubectl's current context, and a token of the ServiceAccount from the TokenRequest API (`kubectl create
# token`) in a file beside it. The operator reads that file again every minute: run this again before the
# token expires (DURATION, 24h by default) and the running operator takes the new one.
#
#   bash hack/operator-kubeconfig.sh [FILE]     FILE defaults to ~/.kube/cloudshell-operator
#
# Environment: NAMESPACE (cloudshell-system), SERVICE_ACCOUNT (cloudshell-operator), DURATION (24h).
# Needs kubectl, with a current context allowed to create tokens for that ServiceAccount.
set -euo pipefail
out=${1:-$HOME/.kube/cloudshell-operator}
namespace=${NAMESPACE:-cloudshell-system}
account=${SERVICE_ACCOUNT:-cloudshell-operator}
duration=${DURATION:-24h}

# The token and the kubeconfig are readable by their owner only.
umask 077
mkdir -p "$(dirname "$out")"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
ca=$(kubectl config view --minify --flatten -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
[ -n "$server" ] || { echo "operator-kubeconfig: kubectl has no current context" >&2; exit 1; }

# Written to a new file, then moved: a running operator never reads half a token.
kubectl --namespace "$namespace" create token "$account" --duration "$duration" >"$out.token.new"
mv "$out.token.new" "$out.token"

{
  echo "apiVersion: v1"
  echo "kind: Config"
  echo "clusters:"
  echo "  - name: cluster"
  echo "    cluster:"
  echo "      server: \"$server\""
  [ -z "$ca" ] || echo "      certificate-authority-data: \"$ca\""
  echo "users:"
  echo "  - name: $account"
  echo "    user:"
  echo "      tokenFile: \"$out.token\""
  echo "contexts:"
  echo "  - name: $account"
  echo "    context: { cluster: cluster, user: $account, namespace: $namespace }"
  echo "current-context: $account"
} >"$out"
echo "$out"
