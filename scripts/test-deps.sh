#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, when it is missing, and only then:
# - Debian's Chromium and its WebDriver, for the browser test;
# - schemathesis (PyPI, pinned) in a virtualenv under the cache folder, for the API fuzzing
#   test. The folder is $SHIPPY_CACHE, else ~/.cache/shippy: outside the repository.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
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

st="$cache/venv/bin/schemathesis"
if ! { [ -x "$st" ] && "$st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; }; then
  echo "test-deps: installing schemathesis $SCHEMATHESIS_VERSION into $cache/venv"
  mkdir -p "$cache"
  python3 -m venv "$cache/venv"
  "$cache/venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi
