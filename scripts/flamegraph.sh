#!/usr/bin/env bash
# `make flame`: a flame graph of one service under one bench case, from the release build.
#   scripts/flamegraph.sh [case] [service] [out.svg]   (defaults: hop vessel-service
#   docs/flamegraphs/<case>.svg; FOLDED=file keeps the folded stacks there too)
# Runs `shippy-bench --only <case>` for 12 s, samples every process named <service> with
# `perf record --call-graph dwarf` (the release build has no frame pointers; DWARF
# unwinding reads its .eh_frame) for 4 s of the saturation, and folds the stacks into an
# SVG with inferno, installed (crates.io, pinned) into the cache folder when missing.
# Needs `perf` (Debian's linux-perf) and permission to trace (root, or
# kernel.perf_event_paranoid <= 1).
set -euo pipefail

cd "$(dirname "$0")/.."
case="${1:-hop}"
service="${2:-vessel-service}"
out="${3:-docs/flamegraphs/$case.svg}"
cache="${SHIPPY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shippy}"
INFERNO_VERSION=0.12.3

command -v perf >/dev/null || { echo "flamegraph: perf is not installed (Debian: linux-perf)" >&2; exit 1; }
if [ "$(cat "$cache/inferno/.installed" 2>/dev/null)" != "$INFERNO_VERSION" ]; then
  echo "flamegraph: installing inferno $INFERNO_VERSION into $cache/inferno"
  cargo install --quiet --locked --root "$cache/inferno" --version "$INFERNO_VERSION" inferno
  echo "$INFERNO_VERSION" >"$cache/inferno/.installed"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
target/release/shippy-bench --seconds 12 --only "$case" >"$work/bench.log" 2>&1 &
bench=$!
# Start-up, warm-up and the first second of saturation.
sleep 7
pids="$(pgrep -d, -x "${service:0:15}" || true)"
[ -n "$pids" ] || { echo "flamegraph: no $service running under the $case case" >&2; cat "$work/bench.log" >&2; exit 1; }
perf record -q -F 999 --call-graph dwarf,16384 -p "$pids" -o "$work/perf.data" -- sleep 4
wait "$bench" || true
mkdir -p "$(dirname "$out")"
perf script -i "$work/perf.data" 2>/dev/null | "$cache/inferno/bin/inferno-collapse-perf" >"$work/folded"
[ -z "${FOLDED:-}" ] || cp "$work/folded" "$FOLDED"
# Frames under a pixel wide are left out: they cannot be read, and they made the file 500 KB.
"$cache/inferno/bin/inferno-flamegraph" --minwidth 1 \
  --title "$service under the $case case (make bench)" <"$work/folded" >"$out"
echo "flamegraph: wrote $out"
