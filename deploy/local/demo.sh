#!/usr/bin/env bash
# The main job on a laptop: local Kafka + Redis, one worker and one network worker, a sample stream, and what came out.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$ROOT/deploy/local/setup.sh"
AML="$ROOT/.venv/bin/amlstream"
RUN="$ROOT/.local/demo"
mkdir -p "$RUN"
export AMLSTREAM_METRICS_PORT="${AMLSTREAM_METRICS_PORT:-9464}"
# every run gets topics, a consumer group and a Redis database of its own, so what it shows is
# exactly what this run produced
run_id="$(date +%Y%m%d%H%M%S)"
export AMLSTREAM_GROUP_ID="amlstream-demo-$run_id" AMLSTREAM_NETWORK_GROUP_ID="amlstream-network-demo-$run_id"
export AMLSTREAM_NETWORK_METRICS_PORT="${AMLSTREAM_NETWORK_METRICS_PORT:-$((AMLSTREAM_METRICS_PORT + 2))}"
export AMLSTREAM_REDIS_URL="redis://127.0.0.1:6379/1"
for t in TRANSACTIONS CUSTOMERS RISK_CHANGES PATTERNS LARGE_VALUE DEAD_LETTER EDGES NETWORK_DETECTIONS CASE_DECISIONS PEER_BASELINES; do
    export "AMLSTREAM_TOPIC_$t=demo-$run_id.$(echo "$t" | tr 'A-Z_' 'a-z-')"
done
export AMLSTREAM_TOPIC_ISO20022_PACS008="demo-$run_id.iso20022-pacs008" AMLSTREAM_TOPIC_ISO20022_CAMT054="demo-$run_id.iso20022-camt054"
redis-cli -n 1 flushdb >/dev/null
"$AML" create-topics --partitions 4

"$AML" worker >"$RUN/worker.log" 2>&1 &
worker=$!
trap 'kill -TERM $worker 2>/dev/null; wait $worker 2>/dev/null || true' EXIT
# the network stage beside it: reads the run's edges, writes the network detections the worker reads back
"$AML" network-worker >"$RUN/network-worker.log" 2>&1 &
network=$!
trap 'kill -TERM $worker $network 2>/dev/null; wait $worker $network 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
    curl -sf "http://127.0.0.1:$AMLSTREAM_METRICS_PORT/metrics" >/dev/null && curl -sf "http://127.0.0.1:$AMLSTREAM_NETWORK_METRICS_PORT/metrics" >/dev/null && break
    kill -0 $worker 2>/dev/null || { echo "worker exited:"; tail -20 "$RUN/worker.log"; exit 1; }
    kill -0 $network 2>/dev/null || { echo "network worker exited:"; tail -20 "$RUN/network-worker.log"; exit 1; }
    sleep 1
done

# a synthetic bank: ordinary customers plus injected laundering typologies (labels.csv says which)
# (its network groups from day 31, 0-based: the network rules judge relationships as new only from 30 days
# after the stage's first edge, so the first 30 days build the graph the groups are judged against)
"$AML" generate --customers 400 --days 45 --seed 1 --network-from-day 31 --out "$RUN/gen"
"$AML" produce --from "$RUN/gen"
# let both stages catch up (the network detections come back to the worker as alerts): until the
# worker's transaction count and the network worker's edge count stop moving
seen=-1
for _ in $(seq 1 40); do
    sleep 3
    edges=$(curl -s "http://127.0.0.1:$AMLSTREAM_NETWORK_METRICS_PORT/metrics" | awk '/^amlstream_network_edges_total/ {s += $2} END {print s + 0}')
    now="$(curl -s "http://127.0.0.1:$AMLSTREAM_METRICS_PORT/metrics" | awk '/^amlstream_transactions_total/ {s += $2} END {print s + 0}')/$edges"
    [ "$edges" != 0 ] && [ "$now" = "$seen" ] && break
    seen=$now
done
echo "--- events emitted (the first of each topic) ---"
"$AML" tail --idle-seconds 8 --show 8
echo "--- injected typologies (ground truth) ---"
cut -d, -f2 "$RUN/gen/labels.csv" | tail -n +2 | sort | uniq -c
echo "--- injected network groups (ground truth; network_labels.csv has one row per member account) ---"
tail -n +2 "$RUN/gen/network_labels.csv" | cut -d, -f1,2 | sort -u | cut -d, -f2 | sort | uniq -c
echo "--- worker metrics (http://127.0.0.1:$AMLSTREAM_METRICS_PORT/metrics) ---"
curl -s "http://127.0.0.1:$AMLSTREAM_METRICS_PORT/metrics" | grep -E '^amlstream_(transactions|events_emitted|dead_letters)_total|^amlstream_customers_by_level' || true
echo "--- network worker metrics (http://127.0.0.1:$AMLSTREAM_NETWORK_METRICS_PORT/metrics) ---"
curl -s "http://127.0.0.1:$AMLSTREAM_NETWORK_METRICS_PORT/metrics" | grep -E '^amlstream_network_(edges|detections|dead_letters|reanchored_evaluations)_total' || true
echo "--- the live network detections against the injected groups (node level: README › Network detection, Evaluation) ---"
"$AML" network-evaluate --labels "$RUN/gen/network_labels.csv" --customers "$RUN/gen/customers.jsonl" --table 2>/dev/null || echo "(network-evaluate failed)"
echo "(network groups start from day 31: the rules judge relationships as new from 30 days after the stage's first edge."
echo " The whole stream is produced at once, so edges reach the network stage out of event-time order across partitions: an edge"
echo " that arrives after later ones runs the rules again at them (reanchored_evaluations); README › Network detection, Guarantees)"

echo "--- ISO 20022: one pacs.008 through the adapter ---"
# a new customer with an account; one transfer from that account rendered as a pacs.008 and
# produced to the adapter's topic; the adapter turns it into the customer's leg for the worker
ISO="$RUN/iso20022"
mkdir -p "$ISO/in"
echo '{"customer_id":"C-ISO-1","kind":"individual","country":"CN","updated_at":"2026-08-20T00:00:00+08:00","accounts":["6222021000009001"]}' >"$ISO/in/customers.jsonl"
echo '{"tx_id":"ISO-DEMO-1","customer_id":"C-ISO-1","account_id":"6222021000009001","ts":"2026-08-21T10:00:00+08:00","direction":"out","amount":"120000.00","currency":"CNY","method":"transfer","channel":"online","counterparty_name":"Shenzhen Example Trading Co.","counterparty_account":"4000123456","counterparty_bank":"ICBC SHENZHEN"}' >"$ISO/in/transactions.jsonl"
"$AML" iso20022 render --from "$ISO/in" --out "$ISO/out"
head -c 1200 "$ISO/out/messages/000000001-pacs.008.xml"; echo "..."
AMLSTREAM_METRICS_PORT=$((AMLSTREAM_METRICS_PORT + 1)) AMLSTREAM_ISO20022_GROUP_ID="amlstream-iso20022-demo-$run_id" "$AML" iso20022 adapter >"$RUN/adapter.log" 2>&1 &
adapter=$!
trap 'kill -TERM $worker $network $adapter 2>/dev/null; wait $worker $network $adapter 2>/dev/null || true' EXIT
before=$(curl -s "http://127.0.0.1:$AMLSTREAM_METRICS_PORT/metrics" | awk '/^amlstream_transactions_total\{outcome="applied"\}/ {print $2}')
"$AML" produce --from "$ISO/in" --limit 1   # the profile only (with its accounts)
"$AML" iso20022 produce --messages "$ISO/out/messages"
for _ in $(seq 1 30); do
    legs=$(curl -s "http://127.0.0.1:$((AMLSTREAM_METRICS_PORT + 1))/metrics" | awk '/^amlstream_iso20022_legs_total/ {s += $2} END {print s + 0}')
    [ "${legs:-0}" -ge 1 ] && break
    sleep 1
done
sleep 2
echo "adapter: $(curl -s "http://127.0.0.1:$((AMLSTREAM_METRICS_PORT + 1))/metrics" | grep -E '^amlstream_iso20022_(messages|legs)_total' | tr '\n' ' ')"
echo "worker: inputs applied (profile + leg) ${before:-0} -> $(curl -s "http://127.0.0.1:$AMLSTREAM_METRICS_PORT/metrics" | awk '/^amlstream_transactions_total\{outcome="applied"\}/ {print $2}')"
echo "--- regulatory filing: PBoC report files for the sample stream (replay, then filings render) ---"
FIL="$RUN/filings-$run_id"
# the sample stream as files, with synthetic customer identities (demo data only, see the script)
"$ROOT/.venv/bin/python" "$ROOT/deploy/local/demo_identities.py" "$FIL/input"
# both commands run on a throwaway redis-server of their own (no AMLSTREAM_REDIS_URL)
env -u AMLSTREAM_REDIS_URL "$AML" replay --transactions "$FIL/input/transactions.jsonl" --customers "$FIL/input/customers.jsonl" --out "$FIL/replay" >/dev/null
env -u AMLSTREAM_REDIS_URL "$AML" filings render --transactions "$FIL/input/transactions.jsonl" --customers "$FIL/input/customers.jsonl" \
    --reports "$FIL/replay/large-value-reports.jsonl" --alerts "$FIL/replay/suspicious-patterns.jsonl" \
    --risk-changes "$FIL/replay/risk-changes.jsonl" --out "$FIL/outbox" 2>/dev/null
ls -l "$FIL/outbox/zip" | tail -n +2
first="$(ls "$FIL/outbox/archive" | head -1)"
echo "--- $first (first 60 lines) ---"
head -60 "$FIL/outbox/archive/$first"
echo "worker log: $RUN/worker.log   network worker log: $RUN/network-worker.log   adapter log: $RUN/adapter.log   stop the services: bash deploy/local/services.sh stop"
