#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, when it is missing: Debian's
# Chromium and its WebDriver for the browser test. Safe to run again: it only checks when
# both are present.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }

if have chromium && have chromedriver; then
  exit 0
fi

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
have chromium && have chromedriver
