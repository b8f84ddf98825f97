#!/usr/bin/env bash
# Checks deploy/k8s without a cluster (none can run on these machines):
# - renders the base and every overlay with `kubectl kustomize` into $K8S_OUT (default
#   target/k8s/<name>.yaml);
# - validates each rendering against the Kubernetes schemas, strictly (unknown fields are
#   errors), for the oldest and the newest Kubernetes the manifests are meant for;
# - lints every YAML file under deploy/k8s (yamllint, deploy/k8s/.yamllint).
# tests/tests/system/k8s.rs runs it in `make test`, and holds the renderings against the code.
# scripts/test-deps.sh installs the tools: kubernetes-validate and yamllint in the cache's
# virtualenv, kubectl there too where none is on the PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

# Kubernetes 1.30 is the oldest release still maintained by some provider when this was
# written; 1.37 is the newest whose schemas kubernetes-validate bundles.
KUBERNETES_VERSIONS=(1.30.0 1.37.0)

cache="${SHIPPY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shippy}"
out="${K8S_OUT:-target/k8s}"
kubectl=$(command -v kubectl || echo "$cache/venv/bin/kubectl")
validate="$cache/venv/bin/kubernetes-validate"
yamllint="$cache/venv/bin/yamllint"
for tool in "$kubectl" "$validate" "$yamllint"; do
  if [ ! -x "$tool" ]; then
    echo "k8s-check: $tool is missing: run scripts/test-deps.sh (make test-deps)" >&2
    exit 1
  fi
done

mkdir -p "$out"
failed=0
for dir in deploy/k8s/base deploy/k8s/overlays/*/; do
  name=$(basename "$dir")
  rendered="$out/$name.yaml"
  if ! "$kubectl" kustomize "$dir" >"$rendered"; then
    echo "k8s-check: $dir does not render" >&2
    failed=1
    continue
  fi
  valid=1
  for version in "${KUBERNETES_VERSIONS[@]}"; do
    # A kind it has no schema for is only a warning to kubernetes-validate: fail on those too.
    if ! report=$("$validate" --strict --quiet --kubernetes-version "$version" "$rendered" 2>&1) \
      || [ -n "$report" ]; then
      echo "$report" >&2
      echo "k8s-check: $dir is not valid Kubernetes $version" >&2
      valid=0
      failed=1
    fi
  done
  if [ "$valid" = 1 ]; then
    echo "k8s-check: $dir renders ($(grep -c '^kind:' "$rendered") objects), valid for Kubernetes ${KUBERNETES_VERSIONS[*]}"
  fi
done

if ! "$yamllint" --strict -c deploy/k8s/.yamllint deploy/k8s; then
  echo "k8s-check: yamllint found problems in deploy/k8s" >&2
  failed=1
fi
exit "$failed"
