"""Worker settings from `AMLSTREAM_*` environment variables: one frozen, validated object, read once.

Built with pydantic-settings: the `AMLSTREAM_` prefix, types and ranges per variable, `Literal`
choices, a validated timezone, and secrets that mask themselves (the SASL password is a
`SecretStr`; the Redis URL's password is masked wherever settings are printed). Every invalid
variable is reported as one line naming it and what was expected; a secret's value is never
repeated. `Settings()` holds the defaults and reads no environment: `load_settings(env)` does.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError
from pydantic_settings.sources.utils import parse_env_vars

from factors.calendar import is_timezone
from streams.errors import ConfigError

PREFIX = "AMLSTREAM_"
TOPIC_PREFIX = PREFIX + "TOPIC_"
SECRET_FIELDS = frozenset(("kafka_sasl_password", "redis_url", "network_redis_url"))  # values never repeated in an error
NOT_VARIABLES = frozenset(("topics", "redis_url_given"))  # topics: one variable each (AMLSTREAM_TOPIC_*); redis_url_given: derived

Seconds = Annotated[float, Field(gt=0, le=86_400)]

# AMLSTREAM_* variables that other parts read, not settings of this object: they are allowed next to
# the settings, and any other AMLSTREAM_* name is an error (a misspelt variable is never ignored).
OTHER_VARIABLES = frozenset(
    (
        # the filing stage (filings/settings.py)
        "AMLSTREAM_FILINGS_CONFIG",
        "AMLSTREAM_FILINGS_OUTBOX",
        "AMLSTREAM_FILINGS_INBOX",
        "AMLSTREAM_FILINGS_GROUP_ID",
        "AMLSTREAM_FILINGS_METRICS_PORT",
        "AMLSTREAM_FILINGS_ARCHIVE_DAYS",
        "AMLSTREAM_FILINGS_PACK_INTERVAL_S",
        "AMLSTREAM_FILINGS_LEASE_TTL_S",
        # the ISO 20022 adapter (iso20022/settings.py)
        "AMLSTREAM_ISO20022_GROUP_ID",
        "AMLSTREAM_ISO20022_BANK_IDS",
        "AMLSTREAM_ISO20022_BANK_COUNTRY",
        # the local services and set-up scripts (deploy/local/services.sh, deploy/local/setup.sh)
        "AMLSTREAM_LOCAL_DIR",
        "AMLSTREAM_PARTITIONS",
        # the test suite (tests/services.py, tests/reliability/)
        "AMLSTREAM_TEST_BOOTSTRAP",
        "AMLSTREAM_TEST_REDIS_HOST",
        "AMLSTREAM_TEST_REDIS_PORT",
        "AMLSTREAM_TEST_SKIP_START",
        "AMLSTREAM_TEST_KEEP_CLUSTERS",
        "AMLSTREAM_SOAK_SECONDS",
        "AMLSTREAM_SOAK_RATE",
        "AMLSTREAM_SOAK_CUSTOMERS",
        "AMLSTREAM_SOAK_INTERVAL",
        "AMLSTREAM_SOAK_WARMUP",
    )
)
# Kafka's legal topic names (kafka.common.internals.Topic): 1-249 of these characters, not "." or ".."
TOPIC_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """The hint " (did you mean X?)" for the closest of `choices`, or "" (the scoring standard's errors say it alike)."""
    hint = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {hint[0]}?)" if hint else ""


class Topics(BaseModel):
    """Topic names, each from `AMLSTREAM_TOPIC_<NAME>`."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    transactions: Annotated[str, Field(min_length=1, max_length=249)] = "aml.transactions.v1"
    customers: Annotated[str, Field(min_length=1, max_length=249)] = "aml.customers.v1"
    risk_changes: Annotated[str, Field(min_length=1, max_length=249)] = "aml.risk-changes.v1"
    patterns: Annotated[str, Field(min_length=1, max_length=249)] = "aml.suspicious-patterns.v1"
    large_value: Annotated[str, Field(min_length=1, max_length=249)] = "aml.large-value-reports.v1"
    dead_letter: Annotated[str, Field(min_length=1, max_length=249)] = "aml.dead-letter.v1"
    edges: Annotated[str, Field(min_length=1, max_length=249)] = "aml.edges.v1"  # internal: payment edges, one copy keyed by each party
    network_detections: Annotated[str, Field(min_length=1, max_length=249)] = "aml.network-detections.v1"  # network stage output, keyed by customer_id
    iso20022_pacs008: Annotated[str, Field(min_length=1, max_length=249)] = "aml.iso20022.pacs008.v1"  # ISO 20022 input of the adapter
    iso20022_camt054: Annotated[str, Field(min_length=1, max_length=249)] = "aml.iso20022.camt054.v1"
    case_decisions: Annotated[str, Field(min_length=1, max_length=249)] = "aml.case-decisions.v1"  # analysts' decisions (filings stage input)
    peer_baselines: Annotated[str, Field(min_length=1, max_length=249)] = "aml.peer-baselines.v1"  # every published peer baseline (compacted: kept for audits)

    @field_validator("*")
    @classmethod
    def _kafka_name(cls, name: str) -> str:
        if not TOPIC_NAME.fullmatch(name) or name in (".", ".."):
            raise ValueError("expected a Kafka topic name: 1-249 characters of a-z, A-Z, 0-9, '.', '_' and '-'")
        return name

    def by_event_kind(self) -> dict[str, str]:
        return {
            "risk_change": self.risk_changes,
            "suspicious_pattern": self.patterns,
            "large_value_report": self.large_value,
            "dead_letter": self.dead_letter,
            "edge": self.edges,
            "network_detection": self.network_detections,
            "peer_baseline": self.peer_baselines,
        }


# The topic variables' names (kept for the operations tests that list every variable).
_TOPIC_ENV = {"TOPIC_" + name.upper(): name for name in Topics.model_fields}


class Settings(BaseSettings):
    """Every `AMLSTREAM_<FIELD>` variable (README.md, "Running a worker"), typed and validated."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, case_sensitive=False, env_ignore_empty=True, frozen=True, extra="forbid", str_strip_whitespace=True, populate_by_name=True
    )

    bootstrap_servers: Annotated[str, Field(min_length=1)] = "127.0.0.1:9092"
    redis_url: str = "redis://127.0.0.1:6379/0"
    group_id: Annotated[str, Field(min_length=1)] = "amlstream"
    topics: Topics = Topics()
    metrics_port: Annotated[int, Field(ge=1, le=65_535)] = 9464
    # AMLSTREAM_MODEL_CONFIG (`model_config` is pydantic's own name for a model's configuration)
    model_config_file: Annotated[Path | None, Field(validation_alias=PREFIX + "MODEL_CONFIG")] = None  # None: the packaged default standard
    timezone: str | None = None  # None: the standard's timezone (default Asia/Shanghai)
    batch_size: Annotated[int, Field(ge=1, le=100_000)] = 500
    batch_window_ms: Annotated[int, Field(ge=1, le=600_000)] = 20  # bench latency at 50 % load: p99 119 ms at 20 ms, 209 at 50, 381 at 200 (2026-11-30)
    max_message_bytes: Annotated[int, Field(ge=1, le=100 * 1_048_576)] = 1_048_576
    retain_days: Annotated[int, Field(ge=1, le=3_650)] = 90
    trail_horizon_hours: Annotated[int, Field(ge=1, le=24 * 90)] = 72
    trail_max: Annotated[int, Field(ge=1, le=100_000)] = 256  # trail entries kept per customer (evidence; events flag truncation)
    max_clock_skew_s: Annotated[float, Field(gt=0, le=86_400 * 3_650)] = 86_400.0  # an event time further ahead of its reference clock is set aside
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    redis_retry_max_s: Seconds = 5.0
    session_timeout_s: Seconds = 10.0
    allow_readable_model: bool = False
    peer_publish_interval_s: Annotated[float, Field(ge=0, le=86_400 * 7)] = 3600.0  # 0: this worker never publishes peer baselines
    model_watch_interval_s: Seconds = 5.0
    drain_timeout_s: Seconds = 20.0  # on SIGTERM, how long the batch in flight may take to finish
    sweep_interval_s: Annotated[float, Field(ge=0, le=86_400 * 7)] = 3600.0  # how often inactive customers' aggregates are let go (0: never)
    redis_url_given: bool = False  # AMLSTREAM_REDIS_URL was set (replay uses it, else a throwaway server)
    redis_cluster: bool = False
    redis_ca_file: str | None = None  # CA bundle for rediss:// (TLS)
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None
    kafka_ssl_certfile: str | None = None  # client certificate (mutual TLS)
    kafka_ssl_keyfile: str | None = None
    network: bool = True  # the customer stage emits payment edges and consumes the network stage's detections
    network_group_id: Annotated[str, Field(min_length=1)] = "amlstream-network"  # the network stage's consumer group (and faust app id)
    network_metrics_port: Annotated[int, Field(ge=1, le=65_535)] = 9466
    network_edge_cap: Annotated[int, Field(ge=1, le=100_000)] = 500  # edges kept per account and direction (the oldest go first)
    network_hub_degree: Annotated[int, Field(ge=1, le=1_000_000)] = 100  # distinct counterparties among its stored edges (90 days) that make an account a hub
    # later edges of an account at which the rules run again when an edge arrives after them (0: never; see
    # streams/network/engine.py, NetworkEngine._later_views): detections found against CPU spent
    network_late_anchors: Annotated[int, Field(ge=0, le=64)] = 4
    # the network worker's max wait to fill a batch: its typologies span days, so it trades latency for fewer, fuller batches
    network_batch_window_ms: Annotated[int, Field(ge=1, le=600_000)] = 200
    # the network stage's own Redis (its graph state and risk levels; it reads nothing of the customer
    # stage's): sized, persisted and failing apart from the state that large-value reports and ratings
    # depend on. None: AMLSTREAM_REDIS_URL (see for_network_stage)
    network_redis_url: str | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # the environment is read by load_settings only, from the mapping it is given

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("kafka_security_protocol", "kafka_sasl_mechanism", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("redis_url", "network_redis_url")
    @classmethod
    def _redis_scheme(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected a redis://, rediss:// or unix:// URL")
        return url

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, name: str | None) -> str | None:
        if name is not None and not is_timezone(name):
            raise ValueError("expected an IANA timezone name such as Asia/Shanghai")
        return name

    @field_validator("redis_ca_file", "kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile")
    @classmethod
    def _existing_file(cls, path: str | None) -> str | None:
        if path is not None and not Path(path).is_file():
            raise ValueError("no such file")
        return path

    @model_validator(mode="after")
    def _sasl_credentials(self) -> Settings:
        problem = _sasl_problem(self.kafka_security_protocol, self.kafka_sasl_username, self.kafka_sasl_password)
        if problem:
            raise ValueError(problem)
        return self

    def for_network_stage(self) -> Settings:
        """The settings the network stage (worker and replay) runs on: its Redis is
        AMLSTREAM_NETWORK_REDIS_URL when that is set (same cluster and TLS settings), else the
        customer stage's."""
        if self.network_redis_url is None:
            return self
        return self.model_copy(update={"redis_url": self.network_redis_url, "redis_url_given": True})

    def masked(self) -> dict[str, object]:
        """The settings as printable data with any credentials hidden."""
        out: dict[str, object] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name in ("redis_url", "network_redis_url") and value is not None:
                value = mask_url(value)
            elif isinstance(value, SecretStr):
                value = "***"
            elif isinstance(value, BaseModel):
                value = value.model_dump()
            out["model_config" if name == "model_config_file" else name] = value
        return out

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        yield from self.masked().items()


def _sasl_problem(protocol: object, username: object, password: object) -> str | None:
    if isinstance(protocol, str) and protocol.upper().startswith("SASL_") and not (username and password):
        return f"{PREFIX}KAFKA_SASL_USERNAME and {PREFIX}KAFKA_SASL_PASSWORD are required with {protocol.upper()}"
    return None


def mask_url(url: str) -> str:
    return re.sub(r"//([^:/@]*):([^@]*)@", r"//\1:***@", url)


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (os.environ, or a test's dict)."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._mapping = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        stripped = {name: value.strip() for name, value in self._mapping.items() if isinstance(value, str)}  # " 500" is 500
        return parse_env_vars(stripped, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        if field_name in NOT_VARIABLES:
            return None, field_name, False
        return super().get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        topics = {name[len(TOPIC_PREFIX) :].lower(): value for name, value in self.env_vars.items() if name.upper().startswith(TOPIC_PREFIX) and value}
        if topics:
            values["topics"] = topics
        if values.get("redis_url"):
            values["redis_url_given"] = True
        return values


def env_name(field: str) -> str:
    """The environment variable of a Settings field (AMLSTREAM_ + its name, or its alias)."""
    alias = Settings.model_fields[field].validation_alias
    return alias if isinstance(alias, str) else PREFIX + field.upper()


def variable(loc: tuple[int | str, ...]) -> str:
    """The environment variable of an error's location."""
    if loc and str(loc[0]).upper().startswith(PREFIX):
        return str(loc[0]).upper()
    if loc and loc[0] == "topics" and len(loc) > 1:
        return f"{TOPIC_PREFIX}{str(loc[1]).upper()}"
    return PREFIX + str(loc[0]).upper() if loc else PREFIX + "*"


def _expected(error: dict[str, Any]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "expected an integer"
    if kind in ("float_parsing", "float_type"):
        return "expected a number"
    if kind in ("bool_parsing", "bool_type"):
        return "expected 1 or 0 (true/false, yes/no, on/off)"
    if kind == "literal_error":
        return f"one of {ctx.get('expected', '')}".replace("'", "").replace(" or ", ", ")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = {"greater_than": "above", "greater_than_equal": "at least", "less_than": "below", "less_than_equal": "at most"}[kind]
        return f"out of range: expected a value {bound} {next(iter(ctx.values()), '')}"
    if kind == "string_too_short":
        return "is empty"
    if kind == "extra_forbidden":
        return f"unknown variable; expected one of {', '.join(TOPIC_PREFIX + n.upper() for n in Topics.model_fields)}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"]).replace("Input should be", "expected")


def problems(error: ValidationError, env: Mapping[str, str]) -> list[str]:
    """One line per invalid variable: its name, its value unless secret, and what was expected."""
    lines = []
    for e in error.errors(include_url=False):
        loc = tuple(e["loc"])
        if not loc:  # a rule across variables: its message names them
            lines.append(_expected(dict(e)))
            continue
        name = variable(loc)
        raw = next((v for k, v in env.items() if k.upper() == name), None)
        secret = loc[0] in SECRET_FIELDS
        shown = f"{name}={raw.strip()!r}" if raw is not None and not secret else name
        lines.append(f"{shown}: {_expected(dict(e))}")
    return list(dict.fromkeys(lines))


def setting_value(field: str, text: str) -> Any:
    """`text` validated as the Settings field `field` is (its type and range), for a command-line
    option that overrides that setting; ValueError saying what was expected (as for the variable)."""
    from pydantic import TypeAdapter

    info = Settings.model_fields[field]
    try:
        return TypeAdapter(Annotated[info.annotation, *info.metadata]).validate_python(text.strip())
    except ValidationError as exc:
        raise ValueError(_expected(dict(exc.errors(include_url=False)[0]))) from None


def variables() -> frozenset[str]:
    """Every AMLSTREAM_* name the environment may hold: the settings' (topics included) and OTHER_VARIABLES."""
    names = {env_name(f) for f in Settings.model_fields if f not in NOT_VARIABLES}
    return frozenset(names | {TOPIC_PREFIX + name.upper() for name in Topics.model_fields} | OTHER_VARIABLES)


def unknown_variables(env: Mapping[str, str]) -> list[str]:
    """One line per AMLSTREAM_* variable that is set and is nobody's (AMLSTREAM_BATCHSIZE), with the
    closest known name; never its value (a misspelt secret stays unprinted). Unknown topic
    variables are reported with the topics' own list (problems)."""
    known = variables()
    lines = []
    for name, value in sorted(env.items()):
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper.startswith(TOPIC_PREFIX) or upper in known or not isinstance(value, str) or not value.strip():
            continue
        hint = did_you_mean(upper, known)
        lines.append(f"{upper}: unknown variable{hint or '; README.md lists every AMLSTREAM_* variable'}")
    return lines


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment (or `env`); ConfigError lists every bad variable, one per
    line, and every AMLSTREAM_* variable that is not a known one."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    unknown = unknown_variables(env)
    try:
        values = _MappingSource(Settings, env)()
        settings = Settings(**values)
    except ValidationError as exc:
        lines = problems(exc, env)
        # the credentials rule runs only on otherwise valid settings: report it with the rest
        sasl = _sasl_problem(values.get("kafka_security_protocol"), values.get("kafka_sasl_username"), values.get("kafka_sasl_password"))
        raise ConfigError(*dict.fromkeys([*lines, *([sasl] if sasl else []), *unknown])) from None
    except SettingsError as exc:
        raise ConfigError(str(exc), *unknown) from None
    if unknown:
        raise ConfigError(*unknown)
    return settings
