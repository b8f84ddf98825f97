#!/usr/bin/env bash
# The supply-chain check `make test` runs first: cargo deny (deny.toml) over the whole
# workspace and all features: RustSec advisories (vulnerable, unmaintained, yanked), licenses,
# banned crates and a second HTTP stack, and sources (crates.io and the repo's own only).
#
# Advisories come from the RustSec snapshot in ../shared/reference/advisory-db when it is there
# (this workplace's machines reach no git host), else from the copy of it an earlier run made
# (a checkout elsewhere, as a CI clone), else from the live database, fetched. cargo
# deny reads a database as a git checkout, so the snapshot is copied once into a local
# repository under the cache folder, committed with the snapshot's own date. scripts/test-deps.sh
# installs cargo-deny.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${SHIPPY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shippy}"
deny="$cache/cargo-deny/bin/cargo-deny"
if [ ! -x "$deny" ]; then
  echo "supply-chain: no cargo-deny in $cache/cargo-deny: run scripts/test-deps.sh" >&2
  exit 1
fi
snapshot="${SHIPPY_ADVISORY_DB:-../shared/reference/advisory-db}"

# cargo deny's folder name for the default database (https://github.com/rustsec/advisory-db).
dbs="$cache/advisory-dbs"
db="$dbs/advisory-db-3157b0e258782691"

if [ -d "$snapshot/crates" ]; then
  # The snapshot's commit and date, as ADVISORY-DB.md beside it gives them.
  about="$(dirname "$snapshot")/ADVISORY-DB.md"
  commit=$(grep -oE 'commit [0-9a-f]{40}' "$about" 2>/dev/null | head -1 | cut -d' ' -f2 || true)
  day=$(grep -oE '\(20[0-9]{2}-[0-9]{2}-[0-9]{2}\)' "$about" 2>/dev/null | head -1 | tr -d '()' || true)
  stamp="${commit:-unknown} $(find "$snapshot" -type f | wc -l)"
  if [ "$(cat "$dbs/.snapshot" 2>/dev/null)" != "$stamp" ] || [ ! -d "$db/.git" ]; then
    echo "supply-chain: copying the RustSec snapshot ${commit:-?} (${day:-date unknown}) into $db"
    rm -rf "$db"
    mkdir -p "$db"
    cp -R "$snapshot"/. "$db"/
    date="${day:-1970-01-01}T00:00:00Z"
    git -C "$db" init -q
    git -C "$db" add -A
    GIT_AUTHOR_DATE="$date" GIT_COMMITTER_DATE="$date" \
      git -C "$db" -c user.name=shippy -c user.email=shippy@localhost \
      commit -q -m "RustSec advisory-db snapshot ${commit:-unknown}"
    echo "$stamp" >"$dbs/.snapshot"
  fi
elif [ -d "$db/.git" ] && [ -f "$dbs/.snapshot" ]; then
  # A checkout with no snapshot beside it (a CI clone under /tmp): the copy an earlier run
  # made of the same snapshot.
  commit=$(cut -d' ' -f1 "$dbs/.snapshot")
  day=$(git -C "$db" log -1 --format=%cs 2>/dev/null || true)
  echo "supply-chain: no advisory snapshot at $snapshot: using the copy in $db"
else
  echo "supply-chain: no advisory snapshot at $snapshot: fetching the live RustSec database"
  exec "$deny" --all-features check --hide-inclusion-graph
fi

# cargo deny reads the graph with `cargo metadata --offline`, which needs every crate of every
# target platform downloaded (a Linux build leaves out the Windows ones).
cargo fetch --locked --quiet

# deny.toml with the snapshot's folder; its age is what it is (a machine with network fetches the
# live database instead), so staleness is not held against it.
config=$(mktemp)
trap 'rm -f "$config"' EXIT
sed -e "s|^\[advisories\]$|[advisories]\ndb-path = \"$dbs\"\nmaximum-db-staleness = \"P3650D\"|" deny.toml >"$config"
echo "supply-chain: cargo deny check, advisories from the snapshot ${commit:0:12} (${day:-?})"
"$deny" --offline --all-features --config "$config" check --hide-inclusion-graph
