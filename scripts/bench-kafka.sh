#!/usr/bin/env bash
# Prints throughput and peak memory of the real pipeline (release build) from the
# simulator into a Kafka-compatible broker (Tansu, as the tests use), for backlogs of
# several sizes. Figures, not assertions: the machine may be shared.
#
# Needs tansu (scripts/install-test-deps.sh builds it) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q
bin="$PWD/target/release/own-audit-forwarder"
tansu=$(command -v tansu || echo "$HOME/.cargo/bin/tansu")
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
wait_port() { for _ in $(seq 200); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }

kport=$(free_port)
RUST_LOG=error "$tansu" broker --listener-url "tcp://127.0.0.1:$kport" \
  --advertised-listener-url "tcp://127.0.0.1:$kport" --storage-engine sqlite://tansu.db \
  >broker.log 2>&1 &
pids+=($!)
wait_port "$kport"

printf '%-10s %12s %14s %12s\n' events seconds events/s peak_rss_MiB
for events in ${BENCH_SIZES:-50000 200000}; do
  topic="bench-$events"
  "$tansu" topic create "$topic" --partitions 1 --broker "tcp://127.0.0.1:$kport" >/dev/null
  sport=$(free_port)
  "$bin" sim --listen "127.0.0.1:$sport" --events "$events" --trickle 0 >sim.log 2>&1 &
  sim=$!
  pids+=("$sim")
  wait_port "$sport"
  last=$(curl -s "http://127.0.0.1:$sport/_sim/stats" | json_field '["last_event_id"]')
  echo sim-api-token >token
  rm -rf "state-$events"
  cat >"config-$events.toml" <<EOF
state_dir = "$work/state-$events"
[telemetry]
listen = "off"
log_level = "warn"
[[sources]]
name = "bench"
base_url = "http://127.0.0.1:$sport/api/v1/"
token_url = "http://127.0.0.1:$sport/oauth2/v1/token"
api_token_file = "$work/token"
[[sinks]]
type = "kafka"
name = "kafka"
brokers = ["127.0.0.1:$kport"]
topic = "$topic"
linger = "5ms"
EOF
  start=$(date +%s.%N)
  /usr/bin/time -f '%M' -o rss.txt "$bin" run --config "config-$events.toml" 2>daemon.log &
  daemon=$!
  checkpoint="state-$events/checkpoints/bench.json"
  until [ -f "$checkpoint" ] && [ "$(json_field '["last_event_id"]' <"$checkpoint")" -ge "$last" ]; do
    sleep 0.05
  done
  end=$(date +%s.%N)
  pkill -TERM -P "$daemon" own-audit-forw 2>/dev/null || kill -TERM "$daemon"
  wait "$daemon" || true
  kill "$sim"; wait "$sim" 2>/dev/null || true
  secs=$(python3 -c "print(f'{$end - $start:.2f}')")
  rate=$(python3 -c "print(int($events / ($end - $start)))")
  rss=$(awk '{printf "%.1f", $1/1024}' rss.txt)
  printf '%-10s %12s %14s %12s\n' "$events" "$secs" "$rate" "$rss"
done
