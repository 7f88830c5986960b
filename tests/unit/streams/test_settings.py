"""Worker settings on pydantic-settings: every variable the README documents, typed, validated,
one line per bad variable, secrets that mask themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from streams.connections import kafka_options
from streams.errors import ConfigError
from streams.settings import NOT_VARIABLES, PREFIX, Settings, Topics, env_name, load_settings

README = Path(__file__).resolve().parents[3] / "README.md"


def documented() -> set[str]:
    """The variables of the README's settings table (`_SUFFIX` shorthands expanded)."""
    names = set()
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Running a worker") :]
    section = section[: section.index("\n## ", 1)]  # the worker's settings table only (other stages have their own)
    for line in section.splitlines():
        if not line.startswith("| `AMLSTREAM_"):
            continue
        tokens = re.findall(r"`([A-Z0-9_]+)`", line.split("|")[1])
        first = tokens[0]
        for token in tokens:
            if token.startswith("_"):
                head = token.split("_")[1]
                token = first[: first.index(f"_{head}_")] + token if f"_{head}_" in first else first.rsplit("_", 1)[0] + token
            names.add(token)
    return names


def variables() -> set[str]:
    topics = {f"{PREFIX}TOPIC_{name.upper()}" for name in Topics.model_fields}
    return {env_name(f) for f in Settings.model_fields if f not in NOT_VARIABLES} | topics


def test_every_documented_variable_is_a_setting_and_every_setting_is_documented():
    assert documented() == variables()


def test_each_variable_is_read(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    probes = {
        "AMLSTREAM_BOOTSTRAP_SERVERS": ("k1:9092,k2:9092", "bootstrap_servers", "k1:9092,k2:9092"),
        "AMLSTREAM_REDIS_URL": ("rediss://u:p@r:6380/1", "redis_url", "rediss://u:p@r:6380/1"),
        "AMLSTREAM_GROUP_ID": ("g", "group_id", "g"),
        "AMLSTREAM_METRICS_PORT": ("9000", "metrics_port", 9000),
        "AMLSTREAM_MODEL_CONFIG": ("/etc/amlstream/standard.toml", "model_config_file", Path("/etc/amlstream/standard.toml")),
        "AMLSTREAM_TIMEZONE": ("Europe/Berlin", "timezone", "Europe/Berlin"),
        "AMLSTREAM_BATCH_SIZE": ("64", "batch_size", 64),
        "AMLSTREAM_BATCH_WINDOW_MS": ("50", "batch_window_ms", 50),
        "AMLSTREAM_MAX_MESSAGE_BYTES": ("2048", "max_message_bytes", 2048),
        "AMLSTREAM_RETAIN_DAYS": ("30", "retain_days", 30),
        "AMLSTREAM_TRAIL_HORIZON_HOURS": ("96", "trail_horizon_hours", 96),
        "AMLSTREAM_TRAIL_MAX": ("64", "trail_max", 64),
        "AMLSTREAM_MAX_CLOCK_SKEW_S": ("3600", "max_clock_skew_s", 3600.0),
        "AMLSTREAM_NETWORK": ("0", "network", False),
        "AMLSTREAM_NETWORK_GROUP_ID": ("net", "network_group_id", "net"),
        "AMLSTREAM_NETWORK_METRICS_PORT": ("9700", "network_metrics_port", 9700),
        "AMLSTREAM_NETWORK_EDGE_CAP": ("20", "network_edge_cap", 20),
        "AMLSTREAM_NETWORK_HUB_DEGREE": ("30", "network_hub_degree", 30),
        "AMLSTREAM_NETWORK_LATE_ANCHORS": ("0", "network_late_anchors", 0),
        "AMLSTREAM_NETWORK_BATCH_WINDOW_MS": ("500", "network_batch_window_ms", 500),
        "AMLSTREAM_NETWORK_REDIS_URL": ("redis://graph:6379/2", "network_redis_url", "redis://graph:6379/2"),
        "AMLSTREAM_LOG_LEVEL": ("DEBUG", "log_level", "debug"),
        "AMLSTREAM_REDIS_RETRY_MAX_S": ("2.5", "redis_retry_max_s", 2.5),
        "AMLSTREAM_SESSION_TIMEOUT_S": ("30", "session_timeout_s", 30.0),
        "AMLSTREAM_ALLOW_READABLE_MODEL": ("yes", "allow_readable_model", True),
        "AMLSTREAM_PEER_PUBLISH_INTERVAL_S": ("0", "peer_publish_interval_s", 0.0),
        "AMLSTREAM_MODEL_WATCH_INTERVAL_S": ("0.5", "model_watch_interval_s", 0.5),
        "AMLSTREAM_DRAIN_TIMEOUT_S": ("5", "drain_timeout_s", 5.0),
        "AMLSTREAM_SWEEP_INTERVAL_S": ("0", "sweep_interval_s", 0.0),
        "AMLSTREAM_REDIS_CLUSTER": ("1", "redis_cluster", True),
        "AMLSTREAM_REDIS_CA_FILE": (str(ca), "redis_ca_file", str(ca)),
        "AMLSTREAM_KAFKA_SECURITY_PROTOCOL": ("ssl", "kafka_security_protocol", "SSL"),
        "AMLSTREAM_KAFKA_SASL_MECHANISM": ("plain", "kafka_sasl_mechanism", "PLAIN"),
        "AMLSTREAM_KAFKA_SASL_USERNAME": ("svc", "kafka_sasl_username", "svc"),
        "AMLSTREAM_KAFKA_SSL_CAFILE": (str(ca), "kafka_ssl_cafile", str(ca)),
        "AMLSTREAM_KAFKA_SSL_CERTFILE": (str(ca), "kafka_ssl_certfile", str(ca)),
        "AMLSTREAM_KAFKA_SSL_KEYFILE": (str(ca), "kafka_ssl_keyfile", str(ca)),
    }
    for name in variables() - set(probes):
        if name.startswith(f"{PREFIX}TOPIC_"):
            attr = name.removeprefix(f"{PREFIX}TOPIC_").lower()
            assert getattr(load_settings({name: "my.topic"}).topics, attr) == "my.topic"
        else:
            assert name == "AMLSTREAM_KAFKA_SASL_PASSWORD", name
            assert load_settings({name: "pw"}).kafka_sasl_password.get_secret_value() == "pw"
    for name, (value, attr, expected) in probes.items():
        assert getattr(load_settings({name: f" {value} "}), attr) == expected, name


def test_defaults_read_no_environment(monkeypatch):
    monkeypatch.setenv("AMLSTREAM_BATCH_SIZE", "7")
    assert Settings().batch_size == 500 and load_settings({}) == Settings()
    assert load_settings().batch_size == 7  # load_settings() reads os.environ
    assert not load_settings({}).redis_url_given and load_settings({"AMLSTREAM_REDIS_URL": "redis://x:1/0"}).redis_url_given


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), ("Yes", True), ("on", True), ("0", False), ("false", False), ("no", False), ("off", False)])
def test_booleans(value, expected):
    assert load_settings({"AMLSTREAM_REDIS_CLUSTER": value}).redis_cluster is expected


def test_an_empty_variable_is_unset():
    assert load_settings({"AMLSTREAM_TIMEZONE": "", "AMLSTREAM_MODEL_CONFIG": ""}) == Settings()


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"AMLSTREAM_BATCH_SIZE": "lots"}, "AMLSTREAM_BATCH_SIZE='lots': expected an integer"),
        ({"AMLSTREAM_BATCH_SIZE": "0"}, "AMLSTREAM_BATCH_SIZE='0': out of range: expected a value at least 1"),
        ({"AMLSTREAM_REDIS_CLUSTER": "flase"}, "AMLSTREAM_REDIS_CLUSTER='flase': expected 1 or 0 (true/false, yes/no, on/off)"),
        ({"AMLSTREAM_LOG_LEVEL": "verbose"}, "AMLSTREAM_LOG_LEVEL='verbose': one of debug, info, warning, error"),
        ({"AMLSTREAM_KAFKA_SASL_MECHANISM": "GSSAPI"}, "AMLSTREAM_KAFKA_SASL_MECHANISM='GSSAPI': one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"),
        ({"AMLSTREAM_TIMEZONE": "CST"}, "AMLSTREAM_TIMEZONE='CST': expected an IANA timezone name such as Asia/Shanghai"),
        ({"AMLSTREAM_DRAIN_TIMEOUT_S": "-1"}, "AMLSTREAM_DRAIN_TIMEOUT_S='-1': out of range: expected a value above 0"),
        ({"AMLSTREAM_KAFKA_SSL_CAFILE": "/no/such/ca.pem"}, "AMLSTREAM_KAFKA_SSL_CAFILE='/no/such/ca.pem': no such file"),
        ({"AMLSTREAM_REDIS_URL": "http://u:hunter2@r"}, "AMLSTREAM_REDIS_URL: expected a redis://, rediss:// or unix:// URL"),
        ({"AMLSTREAM_NETWORK_REDIS_URL": "r:hunter2@6379"}, "AMLSTREAM_NETWORK_REDIS_URL: expected a redis://, rediss:// or unix:// URL"),
        ({"AMLSTREAM_TOPIC_DEADLETTER": "x"}, "AMLSTREAM_TOPIC_DEADLETTER='x': unknown variable; expected one of AMLSTREAM_TOPIC_TRANSACTIONS"),
        (
            {"AMLSTREAM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "AMLSTREAM_KAFKA_SASL_PASSWORD": "hunter2"},
            "AMLSTREAM_KAFKA_SASL_USERNAME and AMLSTREAM_KAFKA_SASL_PASSWORD are required",
        ),
    ],
)
def test_a_bad_variable_is_one_line_naming_it(env, line):
    with pytest.raises(ConfigError) as err:
        load_settings(env)
    assert len(err.value.lines) == 1 and err.value.lines[0].startswith(line), err.value.lines
    assert "hunter2" not in str(err.value)


def test_secrets_mask_themselves():
    settings = load_settings(
        {
            "AMLSTREAM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "AMLSTREAM_KAFKA_SASL_USERNAME": "svc",
            "AMLSTREAM_KAFKA_SASL_PASSWORD": "hunter2",
            "AMLSTREAM_REDIS_URL": "rediss://amlstream:hunter3@redis:6380/0",
            "AMLSTREAM_NETWORK_REDIS_URL": "rediss://graph:hunter4@redis-network:6380/0",
        }
    )
    assert isinstance(settings.kafka_sasl_password, SecretStr)
    for printed in (repr(settings), str(settings), str(settings.masked()), repr(settings.for_network_stage())):
        assert "hunter2" not in printed and "hunter3" not in printed and "hunter4" not in printed
    assert "amlstream:***@redis" in str(settings.masked()) and "graph:***@redis-network" in str(settings.masked())
    assert kafka_options(settings)["sasl_plain_password"] == "hunter2"  # the client gets the real one


def test_the_network_stage_runs_on_its_own_redis_when_it_has_one():
    shared = load_settings({"AMLSTREAM_REDIS_URL": "redis://redis:6379/0"})
    assert shared.for_network_stage() is shared  # unset: both stages on AMLSTREAM_REDIS_URL
    own = load_settings({"AMLSTREAM_REDIS_URL": "redis://redis:6379/0", "AMLSTREAM_NETWORK_REDIS_URL": "redis://graph:6379/2", "AMLSTREAM_REDIS_CLUSTER": "1"})
    network = own.for_network_stage()
    assert (network.redis_url, network.redis_url_given, network.redis_cluster) == ("redis://graph:6379/2", True, True)
    assert own.redis_url == "redis://redis:6379/0"  # the customer stage's is untouched
    # network-replay without AMLSTREAM_REDIS_URL uses the network stage's Redis rather than a throwaway one
    assert load_settings({"AMLSTREAM_NETWORK_REDIS_URL": "redis://graph:6379/2"}).for_network_stage().redis_url_given


def test_settings_are_frozen():
    with pytest.raises(ValueError, match="frozen"):
        Settings().batch_size = 1  # type: ignore[misc]
