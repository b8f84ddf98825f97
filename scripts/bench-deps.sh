#!/usr/bin/env bash
# Installs what `make bench` needs beyond the Rust toolchain, when it is missing, and only
# then, from Debian's packages:
# - h2load (nghttp2-client): the saturating load for the gRPC cases, a generator that is
#   not the limit where the bench's own client would be;
# - Go, grpc-go 1.33, protobuf 1.3 and protoc-gen-go 1.3, to build the Go peer
#   (bench/go: VesselService on grpc-go) offline in GOPATH mode (no Go module proxy is
#   reachable here) into the cache folder ($SHIPPY_CACHE, else ~/.cache/shippy), again only
#   when its source or the proto changed.
# Where a package cannot be installed it says so in one line and the bench runs without it
# (the Go peer's case is skipped; the bench's own client saturates the gRPC cases).
set -euo pipefail

cd "$(dirname "$0")/.."
cache="${SHIPPY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shippy}"
have() { command -v "$1" >/dev/null 2>&1; }

# Installs Debian packages as root (directly or through sudo); fails quietly otherwise.
install() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    have sudo || return 1
    sudo=(sudo -n)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1 || {
    "${sudo[@]}" apt-get update -q >/dev/null 2>&1 &&
      "${sudo[@]}" apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1
  }
}

if ! have h2load; then
  echo "bench-deps: installing nghttp2-client (h2load)"
  install nghttp2-client ||
    echo "bench-deps: cannot install nghttp2-client (no root, or apt failed): the bench's own client saturates the gRPC cases" >&2
fi

GO_PACKAGES=(golang-go golang-google-grpc-dev golang-github-golang-protobuf-1-3-dev
  protoc-gen-go-1-3 protobuf-compiler)
missing=()
for package in "${GO_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench-deps: installing ${missing[*]} for the Go peer"
  if ! install "${missing[@]}"; then
    echo "bench-deps: cannot install Go (${missing[*]}; no root, or apt failed): the bare-grpc-go case will be skipped" >&2
    exit 0
  fi
fi

peer="$cache/bench/bin/shippy-go-peer"
inputs="$(cat bench/go/main.go proto/proto/vessel.proto | sha256sum | cut -d' ' -f1)"
if [ -x "$peer" ] && [ "$(cat "$cache/bench/.inputs" 2>/dev/null)" = "$inputs" ]; then
  exit 0
fi
echo "bench-deps: building the Go peer (bench/go) into $peer"
gopath="$cache/bench/gopath"
rm -rf "$gopath"
mkdir -p "$gopath/src/shippy/vessel" "$gopath/src/shippy/peer" "$cache/bench/bin"
protoc --proto_path=proto/proto --plugin=protoc-gen-go=/usr/bin/protoc-gen-go \
  --go_out=plugins=grpc,paths=source_relative,Mvessel.proto=shippy/vessel:"$gopath/src/shippy/vessel" \
  vessel.proto
cp bench/go/main.go "$gopath/src/shippy/peer/"
(
  cd "$gopath/src/shippy/peer"
  GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOCACHE="$cache/bench/gocache" \
    GOFLAGS= go build -o "$peer" .
)
echo "$inputs" >"$cache/bench/.inputs"
