"""The workers' logging: JSON lines, and no debug records built at a quieter level."""

from __future__ import annotations

import logging

import faust
import orjson
import pytest

from streams.logs import JsonFormatter, faust_worker


@pytest.fixture
def root() -> logging.Logger:
    """The root logger, restored after the test (faust's setup changes its level and handlers)."""
    logger = logging.getLogger()
    level, handlers = logger.level, list(logger.handlers)
    logger.handlers = [logging.NullHandler()]
    yield logger
    logger.setLevel(level)
    logger.handlers = handlers


@pytest.mark.parametrize("level", ["warning", "error", "info"])
def test_root_logger_keeps_the_configured_level(root: logging.Logger, level: str) -> None:
    # faust's own Worker sets the root logger to DEBUG at warning and error (for its terminal
    # spinner), so every debug call of faust, aiokafka and redis-py built a record for nothing
    worker = faust_worker(faust.App("test-logs", broker="kafka://localhost:1", autodiscover=False), level)
    root.setLevel(level.upper())
    worker.on_setup_root_logger(root, logging.getLevelName(level.upper()))
    assert root.level == logging.getLevelName(level.upper())
    assert not logging.getLogger("aiokafka.consumer.fetcher").isEnabledFor(logging.DEBUG)
    assert "SpinnerHandler" not in {type(h).__name__ for h in root.handlers}


def test_json_formatter_writes_one_object_per_record() -> None:
    record = logging.LogRecord("amlstream.worker", logging.WARNING, __file__, 1, "lag %d on %s", (7, "aml.tx"), None)
    entry = orjson.loads(JsonFormatter().format(record))
    assert entry["level"] == "warning" and entry["logger"] == "amlstream.worker" and entry["msg"] == "lag 7 on aml.tx"
    assert entry["ts"].endswith("Z")
