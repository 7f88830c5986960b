"""model_version covers every setting that changes outputs, and nothing else (finding: a UTC
override moved report business dates under an unchanged version)."""

from __future__ import annotations

from typing import Any

import pytest

from factors.standard import DEFAULT_STANDARD_PATH, parse_standard
from streams.model import MODEL_SETTINGS, OPERATIONAL_SETTINGS, load_model, open_model
from streams.settings import Settings, Topics, env_name, load_settings

# one other valid value per model setting, as its environment variable would give it
OTHER_MODEL_VALUES = {
    "timezone": "UTC",
    "retain_days": "180",
    "trail_horizon_hours": "48",
    "trail_max": "128",
    "max_clock_skew_s": "3600",
    "max_message_bytes": "65536",
    "network": "0",
    "network_edge_cap": "100",
    "network_hub_degree": "20",
    "network_late_anchors": "0",
}
OTHER_OPERATIONAL_VALUES = {
    "AMLSTREAM_BATCH_SIZE": "7",
    "AMLSTREAM_BATCH_WINDOW_MS": "50",
    "AMLSTREAM_METRICS_PORT": "19464",
    "AMLSTREAM_NETWORK_METRICS_PORT": "19466",
    "AMLSTREAM_REDIS_URL": "redis://10.0.0.1:6380/3",
    "AMLSTREAM_BOOTSTRAP_SERVERS": "kafka-1:9092,kafka-2:9092",
    "AMLSTREAM_GROUP_ID": "amlstream-blue",
    "AMLSTREAM_TOPIC_TRANSACTIONS": "bank.transactions.v1",
    "AMLSTREAM_LOG_LEVEL": "debug",
    "AMLSTREAM_DRAIN_TIMEOUT_S": "5",
    "AMLSTREAM_SWEEP_INTERVAL_S": "60",
    "AMLSTREAM_PEER_PUBLISH_INTERVAL_S": "0",
}


def version(env: dict[str, str]) -> str:
    return open_model(load_settings(env)).version


def test_every_setting_is_either_a_model_input_or_operational():
    fields = set(Settings.model_fields)
    assert set(MODEL_SETTINGS) | OPERATIONAL_SETTINGS == fields, "classify a new setting in streams/model.py"
    assert not set(MODEL_SETTINGS) & OPERATIONAL_SETTINGS
    assert set(OTHER_MODEL_VALUES) == set(MODEL_SETTINGS)


@pytest.mark.parametrize("name", sorted(MODEL_SETTINGS))
def test_each_model_setting_changes_the_version(name):
    base = version({})
    changed = version({env_name(name): OTHER_MODEL_VALUES[name]})
    assert changed != base
    assert changed.startswith("default-2026.11+") and len(changed.rsplit("+", 1)[1]) == 12  # the events' schema: version+12 hex


@pytest.mark.parametrize(("variable", "value"), sorted(OTHER_OPERATIONAL_VALUES.items()))
def test_operational_settings_leave_the_version_alone(variable, value):
    assert version({variable: value}) == version({})


def test_no_operational_setting_reaches_the_version():
    base = open_model(Settings()).version
    defaults = Settings()
    for name in sorted(OPERATIONAL_SETTINGS - {"model_config_file"}):
        current = getattr(defaults, name)
        other: Any = (
            Topics(transactions="other.topic")
            if name == "topics"
            else (not current)
            if isinstance(current, bool)
            else current + 1
            if isinstance(current, int | float)
            else "elsewhere"
        )
        assert open_model(defaults.model_copy(update={name: other})).version == base, name


def test_a_timezone_override_equal_to_the_standards_is_no_change():
    assert version({"AMLSTREAM_TIMEZONE": "Asia/Shanghai"}) == version({}) != version({"AMLSTREAM_TIMEZONE": "Asia/Urumqi"})


def test_the_same_settings_give_the_same_version_wherever_the_model_is_loaded():
    settings = load_settings({"AMLSTREAM_TIMEZONE": "UTC", "AMLSTREAM_RETAIN_DAYS": "120"})
    assert open_model(settings).version == load_model(None, "UTC", settings=settings).version
    assert load_model().version == open_model(Settings()).version  # no settings: the defaults'


def test_the_digest_still_covers_every_byte_of_the_file():
    data = DEFAULT_STANDARD_PATH.read_bytes()
    inputs = {name: getattr(Settings(), name) for name in MODEL_SETTINGS}
    assert parse_standard(data, inputs).model_version != parse_standard(data + b"\n# tuned\n", inputs).model_version
