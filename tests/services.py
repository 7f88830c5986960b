"""Where the tests find the local services: one place, overridable so that several test
sessions (e.g. from separate work trees) can run side by side with a Redis each."""

from __future__ import annotations

import os

REDIS_HOST = os.environ.get("AMLSTREAM_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("AMLSTREAM_TEST_REDIS_PORT", "6379"))
BOOTSTRAP = os.environ.get("AMLSTREAM_TEST_BOOTSTRAP", "127.0.0.1:9092")


def redis_url(db: int) -> str:
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"
