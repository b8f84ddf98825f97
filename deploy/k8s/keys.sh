#!/usr/bin/env bash
# `make k8s-keys`: the Secret shippy-keys that the pods mount, with fresh Ed25519 key pairs
# (token, service, gateway) made by `shippy init` (as `make init` and compose's `keys`
# container make them), so no key is ever in an image or in the repository.
#
# Into the cluster (the current kubectl context), in $K8S_NAMESPACE (default shippy, created
# when missing), unless the Secret is there already: new keys would end every session and
# strand the saga's service tokens, so rotating is a deliberate `kubectl delete secret`.
# With K8S_KEYS_FILE=path, it writes the Secret's manifest there instead (mode 0600) and
# needs no cluster. SHIPPY_BIN names the shippy binary (default target/release/shippy).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
namespace="${K8S_NAMESPACE:-shippy}"
file="${K8S_KEYS_FILE:-}"
shippy="${SHIPPY_BIN:-$root/target/release/shippy}"
case "$shippy" in /*) ;; *) shippy="$PWD/$shippy" ;; esac
cache="${SHIPPY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shippy}"
kubectl=$(command -v kubectl || echo "$cache/venv/bin/kubectl")

if [ -z "$file" ]; then
  if found=$("$kubectl" get secret shippy-keys --namespace "$namespace" 2>&1); then
    echo "k8s-keys: secret/shippy-keys is in namespace $namespace already: kept"
    echo "k8s-keys: (to rotate: kubectl -n $namespace delete secret shippy-keys, run this again,"
    echo "k8s-keys:  then kubectl -n $namespace rollout restart deployment; users log in again)"
    exit 0
  elif ! grep -q NotFound <<<"$found"; then
    echo "k8s-keys: cannot ask the cluster of the current kubectl context: $found" >&2
    exit 1
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A clean environment: no SHIPPY_* override of the user's may move the keys elsewhere.
(cd "$work" && env -i PATH="$PATH" SHIPPY_CONFIG_DIR="$root/config" "$shippy" init >/dev/null)
keys="$work/.shippy/keys"
secret="$work/secret.yaml"
"$kubectl" create secret generic shippy-keys --namespace "$namespace" \
  --from-file=jwt-ed25519.pem="$keys/jwt-ed25519.pem" \
  --from-file=jwt-ed25519.pub.pem="$keys/jwt-ed25519.pub.pem" \
  --from-file=service-ed25519.pem="$keys/service-ed25519.pem" \
  --from-file=service-ed25519.pub.pem="$keys/service-ed25519.pub.pem" \
  --from-file=gateway-ed25519.pem="$keys/gateway-ed25519.pem" \
  --from-file=gateway-ed25519.pub.pem="$keys/gateway-ed25519.pub.pem" \
  --dry-run=client --output=yaml >"$secret"

if [ -n "$file" ]; then
  install -m 0600 "$secret" "$file"
  echo "k8s-keys: wrote secret/shippy-keys (namespace $namespace) to $file"
  exit 0
fi
if ! "$kubectl" get namespace "$namespace" >/dev/null 2>&1; then
  "$kubectl" create namespace "$namespace"
fi
# create, not apply: apply would keep a copy of the private keys in an annotation.
"$kubectl" create --filename "$secret"
echo "k8s-keys: created secret/shippy-keys in namespace $namespace"
