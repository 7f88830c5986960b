#!/usr/bin/env bash
# Everything a fresh clone needs, idempotent: Debian packages and Kafka jars (services.sh
# install), the Python virtualenv with amlstream and its test tools, running services and topics.
#   setup.sh            install + start Kafka and Redis + create the topics
#   setup.sh --no-start install only
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup.sh: Python 3.11+ is required (found: $("$PY" --version 2>&1))" >&2
    exit 1
fi
if ! "$PY" -c 'import venv, ensurepip' 2>/dev/null; then
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
fi
stamp="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e "$ROOT[test]"
    rm -f "$VENV"/.installed-* && touch "$stamp"
fi

bash "$ROOT/deploy/local/services.sh" install
# promtool (Debian's prometheus package) checks the alert rules and dashboards in tests/ops
if ! command -v promtool >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq prometheus >/dev/null
fi
if [ "${1:-}" != "--no-start" ]; then
    bash "$ROOT/deploy/local/services.sh" start
    "$VENV/bin/amlstream" create-topics --partitions "${AMLSTREAM_PARTITIONS:-4}"
fi
