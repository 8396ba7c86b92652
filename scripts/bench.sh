#!/usr/bin/env bash
# Prints throughput and peak memory of the real pipeline (release build) fed by the
# in-process simulator, for backlogs of several sizes. Figures, not assertions: the
# machine may be shared.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q
bin="$PWD/target/release/own-audit-forwarder"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
printf '%-10s %12s %14s %12s\n' events seconds events/s peak_rss_MiB
for events in ${BENCH_SIZES:-50000 200000 1000000}; do
  /usr/bin/time -f '%M' -o rss.txt "$bin" demo --events "$events" --metrics-listen 127.0.0.1:0 \
    >out.txt 2>/dev/null
  secs=$(awk '/time taken/ {sub("s","",$3); print $3}' out.txt)
  rate=$(awk '/throughput/ {print $2}' out.txt)
  rss=$(awk '{printf "%.1f", $1/1024}' rss.txt)
  printf '%-10s %12s %14s %12s\n' "$events" "$secs" "$rate" "$rss"
done
