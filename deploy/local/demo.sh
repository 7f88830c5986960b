#!/usr/bin/env bash
# The main job on a laptop: local Kafka + Redis, one worker, a sample stream, and what came out.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$ROOT/deploy/local/setup.sh"
AML="$ROOT/.venv/bin/amlstream"
RUN="$ROOT/.local/demo"
mkdir -p "$RUN"
export AMLSTREAM_METRICS_PORT="${AMLSTREAM_METRICS_PORT:-9464}"
# a demo consumer group of its own, so a rerun processes its own fresh sample from the start
export AMLSTREAM_GROUP_ID="${AMLSTREAM_GROUP_ID:-amlstream-demo-$(date +%s)}"

"$AML" worker >"$RUN/worker.log" 2>&1 &
worker=$!
trap 'kill -TERM $worker 2>/dev/null; wait $worker 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
    curl -sf "http://127.0.0.1:$AMLSTREAM_METRICS_PORT/metrics" >/dev/null && break
    kill -0 $worker 2>/dev/null || { echo "worker exited:"; tail -20 "$RUN/worker.log"; exit 1; }
    sleep 1
done

"$AML" produce-sample --customers 50 --days 3
echo "--- events emitted (first of each topic; the topics keep every earlier run's events too) ---"
"$AML" tail --idle-seconds 8 --show 6
echo "--- worker metrics (http://127.0.0.1:$AMLSTREAM_METRICS_PORT/metrics) ---"
curl -s "http://127.0.0.1:$AMLSTREAM_METRICS_PORT/metrics" | grep -E '^amlstream_(transactions|events_emitted|dead_letters)_total|^amlstream_customers_by_level' || true
echo "worker log: $RUN/worker.log   stop the services: bash deploy/local/services.sh stop"
