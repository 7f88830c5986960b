"""Shared fixtures. Tests marked `services` use the real local Kafka and Redis, started once per
session by deploy/local/services.sh (idempotent) — never fakes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.services import BOOTSTRAP, redis_url

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ROOT / "deploy" / "local" / "services.sh"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath) or "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.services)


@pytest.fixture(scope="session")
def local_services() -> dict[str, str]:
    """Start (or reuse) the local Kafka and Redis; both stay up for later sessions and tools."""
    if os.environ.get("AMLSTREAM_TEST_SKIP_START") != "1":
        subprocess.run(["bash", str(SERVICES), "start"], check=True)
    return {"bootstrap": BOOTSTRAP, "redis_url": redis_url(0)}
