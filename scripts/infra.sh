#!/usr/bin/env bash
# `make init`'s infrastructure step. With PROFILE=compose: start MongoDB, Kafka (and its log
# topic), Consul and Jaeger from docker-compose.yml and wait until they are healthy, or say
# plainly that no Docker engine answers. Otherwise: nothing to start (the embedded defaults
# are SQLite files), one line saying so.
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${1:-}"
engine() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

if [ "$profile" != compose ]; then
  if engine; then
    echo "infra: embedded defaults, no containers needed (a Docker engine is here: 'make init PROFILE=compose' starts MongoDB, Kafka, Consul and Jaeger)"
  else
    echo "infra: embedded defaults, no containers needed (no Docker engine here, and none is required)"
  fi
  exit 0
fi

if ! engine; then
  echo "infra: the compose profile runs on MongoDB, Kafka, Consul and Jaeger, but no Docker engine answers here ('docker info' failed)." >&2
  echo "infra: start a Docker engine and repeat, or use the embedded defaults: 'make run' (no PROFILE)." >&2
  exit 1
fi
echo "infra: starting MongoDB, Kafka, Consul and Jaeger (docker compose), waiting until healthy"
docker compose up --detach --wait mongo kafka consul jaeger
docker compose run --rm kafka-topics
echo "infra: up. Consul UI http://127.0.0.1:8500 · Jaeger UI http://127.0.0.1:16686"
