#!/usr/bin/env bash
# Measures what one relay needs to drain a backlog: its peak RSS and CPU
# while it relays RECORDS records (default 100000) already waiting in Kafka.
# The broker (relay dev kafka) and the Optikpi emulator (relay dev optikpi,
# the guide's rate limits on) run as separate processes, so the figures are
# the relay's alone. Loopback only; ports 19092, 18080 and 19090.
#
#   deploy/measure.sh [RECORDS]
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-100000}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/relay" ./cmd/relay
relay=$work/relay
account=68911b7ad58ad825ec00c5ef workspace=68911b7ad825ec00c5ef

"$relay" dev kafka --listen 127.0.0.1:19092 --topic optikpi.dlq:1 >"$work/kafka.log" 2>&1 &
pids+=($!)
"$relay" dev optikpi --listen 127.0.0.1:18080 --token T --account-id $account \
  --workspace-id $workspace --keep-records off >"$work/optikpi.log" 2>&1 &
pids+=($!)
sleep 1
"$relay" dev produce --brokers 127.0.0.1:19092 --records "$records"

sed -e 's#localhost:9092#127.0.0.1:19092#' -e 's#http://localhost:8080#http://127.0.0.1:18080#' \
    -e 's#listen: ":9090"#listen: "127.0.0.1:19090"#' config.example.yaml >"$work/config.yaml"

start=$(date +%s.%N)
OPTIKPI_TOKEN=T /usr/bin/time -v -o "$work/time.txt" "$relay" run --config "$work/config.yaml" \
  >"$work/relay.log" 2>&1 &
timepid=$!
sleep 1
relaypid=$(pgrep -P "$timepid")

# Done when every record is finished (delivered, dead-lettered or skipped).
metric() {
  curl -fsS 127.0.0.1:19090/metrics 2>/dev/null |
    awk -v m="$1" '$1 == m || index($1, m"{") == 1 {s += $2} END {print s + 0}'
}
while [ "$(metric optikpi_relay_consumer_records_done_total)" -lt "$records" ]; do
  kill -0 "$relaypid" 2>/dev/null || { cat "$work/relay.log"; exit 1; }
  sleep 0.5
done
drained=$(date +%s.%N)
idle_rss=$(awk '/^VmRSS/ {print $2}' /proc/"$relaypid"/status)
kill -TERM "$relaypid"
wait "$timepid" || true

grep -m1 '"memory limit\|"no cgroup memory limit' "$work/relay.log" || true
awk -v s="$start" -v d="$drained" -v idle="$idle_rss" -v n="$records" '
  /Maximum resident set size/ {rss = $NF}
  /User time/ {user = $NF}
  /System time/ {sys = $NF}
  END {
    wall = d - s
    printf "records %d  drained in %.1f s (%.0f records/s)\n", n, wall, n / wall
    printf "peak RSS %.0f MiB  RSS after the drain %.0f MiB\n", rss / 1024, idle / 1024
    printf "CPU %.1f s user + %.1f s system = %.2f cores on average while draining\n", user, sys, (user + sys) / wall
  }' "$work/time.txt"
