#!/usr/bin/env bash
# Runs a command with the real wire-protocol servers the tests need, on free loopback ports,
# and stops them afterwards, even on failure:
# - a MongoDB-wire server (SecantusDB), as SHIPPY_TEST_MONGO_URI;
# - a Kafka-wire broker (tansu, in memory), as SHIPPY_TEST_KAFKA_BROKERS (its process id as
#   SHIPPY_TEST_KAFKA_PID);
# and sets SHIPPY_TEST_SERVERS=required, so no test that needs one is skipped (without this
# script, such a test says it is skipped and why: plugins/src/test_servers.rs).
# scripts/test-deps.sh installs them.
set -euo pipefail

cache="${SHIPPY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shippy}"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until something listens on 127.0.0.1:$1, for at most $2 seconds.
wait_port() {
  for _ in $(seq 1 $(($2 * 10))); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "with-test-servers: nothing answered on port $1 within $2 s" >&2
  return 1
}

mongo_port=$(free_port)
"$cache/venv/bin/secantusd-py" --host 127.0.0.1 --port "$mongo_port" --storage-path "$work/mongo" \
  >"$work/mongo.log" 2>&1 &
pids+=($!)
wait_port "$mongo_port" 60 || { cat "$work/mongo.log" >&2; exit 1; }
export SHIPPY_TEST_MONGO_URI="mongodb://127.0.0.1:$mongo_port/?directConnection=true"

kafka_port=$(free_port)
"$cache/tansu/bin/tansu" broker \
  --listener-url "tcp://127.0.0.1:$kafka_port" \
  --advertised-listener-url "tcp://127.0.0.1:$kafka_port" \
  --storage-engine memory://tansu/ >"$work/kafka.log" 2>&1 &
pids+=($!)
wait_port "$kafka_port" 60 || { cat "$work/kafka.log" >&2; exit 1; }
export SHIPPY_TEST_KAFKA_BROKERS="127.0.0.1:$kafka_port"
# The chaos tests pause the broker (SIGSTOP) to play an outage.
export SHIPPY_TEST_KAFKA_PID="${pids[-1]}"
# Under these servers a test that cannot find one fails instead of saying it is skipped.
export SHIPPY_TEST_SERVERS=required

"$@"
