#!/usr/bin/env bash
# All set-up, then the whole test suite (unit, integration and end-to-end on real Kafka + Redis).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$ROOT/deploy/local/setup.sh"
cd "$ROOT"
.venv/bin/ruff check factors streams filings synthbank iso20022 tests bench
# factors/ is the pure core: no I/O library may be imported there
if grep -rnE '^\s*(import|from)\s+(faust|aiokafka|redis|prometheus_client)\b' factors; then
    echo "factors/ must stay free of I/O imports" >&2
    exit 1
fi
exec .venv/bin/python -m pytest "$@"
