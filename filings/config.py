"""The filing configuration: institution, code tables and deadlines, one TOML file validated by
pydantic models when loaded (the packaged default is `filings/data/filings.toml`).

Errors name the file and the field (pydantic's location), never guess a value. The country table
(GB/T 2659 alpha-3 by ISO alpha-2) ships as `filings/data/countries.toml`; a bank file may give
its own `[codes.countries]`.
"""

from __future__ import annotations

import hashlib
import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from filings.errors import FilingConfigError

DATA = Path(__file__).parent / "data"
DEFAULT_CONFIG_PATH = DATA / "filings.toml"
COUNTRIES_PATH = DATA / "countries.toml"

InstitutionCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{14}$")]
Code = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[!-~]+$")]
METHODS = ("cash", "transfer", "card", "cheque", "remittance", "other")
CHANNELS = ("counter", "atm", "online", "mobile", "pos", "agent", "other")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Institution(_Frozen):
    code: InstitutionCode  # RICD
    name: str = Field(min_length=1, max_length=256)
    branch_code: Code  # FINC
    region_code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}\d{6}$")]  # TRCD: CHN + GB/T 2260
    report_branch_code: Code  # RPNC
    customer_relationship: Code  # RLFC


class Outbox(_Frozen):
    max_zip_bytes: int = Field(default=5 * 1024 * 1024, ge=64 * 1024, le=5 * 1024 * 1024)


class Suspicious(_Frozen):
    # the seed's rule: a monitoring period of at most 3 months (92 days covers any 3 calendar months)
    consolidation_days: int = Field(default=90, ge=0, le=92)
    urgent_code: Code = "02"
    normal_code: Code = "01"
    direction_code: Code = "01"
    trigger_code: Code = "01"


class Deadlines(_Frozen):
    large_value_working_days: int = Field(default=5, ge=1, le=30)
    suspicious_working_days: int = Field(default=5, ge=1, le=30)
    first_rating_working_days: int = Field(default=10, ge=1, le=60)
    first_rating_tracked_since: date | None = None
    calendar_override: Path | None = None


class Codes(_Frozen):
    id_types: dict[Annotated[str, StringConstraints(pattern=r"^\d{6}$")], str]
    methods: dict[str, Code]
    channels: dict[str, Code]
    directions: dict[str, Code]
    account_types: dict[str, Code]
    characteristics: dict[Annotated[str, StringConstraints(pattern=r"^05\d\d$")], str]
    crime_types: dict[Code, str]
    countries: dict[Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")], Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> Codes:
        for name, table, required in (
            ("methods", self.methods, METHODS),
            ("channels", self.channels, CHANNELS),
            ("directions", self.directions, ("in", "out")),
            ("account_types", self.account_types, ("individual", "entity")),
            ("characteristics", self.characteristics, ("0501", "0502", "0503", "0504")),
        ):
            missing = [k for k in required if k not in table]
            if missing:
                raise ValueError(f"codes.{name} lacks {', '.join(missing)}")
        if not any(k.startswith("11") for k in self.id_types) or not any(k.startswith("61") for k in self.id_types):
            raise ValueError("codes.id_types needs natural-person (11xxxx) and entity (61xxxx) codes")
        return self

    def country3(self, alpha2: str | None) -> str:
        """GB/T 2659 alpha-3 of an ISO alpha-2 code; '@N' when none is given."""
        if alpha2 is None:
            return "@N"
        try:
            return self.countries[alpha2]
        except KeyError:
            raise FilingConfigError(f"country {alpha2!r} is not in codes.countries") from None


class FilingConfig(_Frozen):
    version: str = Field(min_length=1, max_length=64)
    codes_reviewed: bool = False
    timezone: str
    institution: Institution
    outbox: Outbox = Outbox()
    suspicious: Suspicious = Suspicious()
    deadlines: Deadlines = Deadlines()
    codes: Codes
    digest: str = ""  # 12 hex characters of the file's SHA-256 (set by load_config)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @property
    def config_version(self) -> str:
        return f"{self.version}+{self.digest}"


def parse_config(data: bytes, source: str = "<config>", base_dir: Path | None = None) -> FilingConfig:
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FilingConfigError(f"filings config {source}: not valid UTF-8 TOML: {exc}") from None
    codes = raw.setdefault("codes", {})
    if not codes.get("countries"):
        codes["countries"] = tomllib.loads(COUNTRIES_PATH.read_text(encoding="utf-8"))["countries"]
    override = raw.get("deadlines", {}).get("calendar_override")
    if override and base_dir is not None and not Path(override).is_absolute():
        raw["deadlines"]["calendar_override"] = str(base_dir / override)
    raw["digest"] = hashlib.sha256(data).hexdigest()[:12]
    try:
        return FilingConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise FilingConfigError(f"filings config {source}: {problems}") from None


def load_config(path: Path | None = None) -> FilingConfig:
    """The bank's filings config (or the packaged default) -> FilingConfig, or FilingConfigError."""
    source = path or DEFAULT_CONFIG_PATH
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise FilingConfigError(f"filings config {source}: cannot read ({exc.strerror})") from None
    return parse_config(data, str(source), source.parent)
