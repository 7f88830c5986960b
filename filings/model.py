"""Typed inputs of the filing stage: an archived transaction leg, a large-value report event, an
alert and an analyst's case decision (contract: case-decision.v1 schema, docs/events.md)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from factors.model import Transaction
from factors.postings import posting
from filings.errors import InvalidInput
from streams.decode import RFC3339

Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^\S(.*\S)?$")]


@dataclass(frozen=True, slots=True)
class Leg:
    """The filing fields of one transaction leg, as archived by the filing stage.

    `seq` orders a customer's legs as the customer stage saw them: (partition, offset) of the
    transactions topic packed into one integer, or the line number in `filings render`.
    """

    seq: int
    tx_id: str
    customer_id: str
    ts_ms: int
    business_day: int
    direction: str
    amount: str  # original amount, canonical decimal string
    currency: str
    amount_fen: int  # CNY equivalent (the standard's FX table), fen
    method: str
    channel: str
    cross_border: bool
    account_id: str | None = None
    counterparty_id: str | None = None
    counterparty_name: str | None = None
    counterparty_bank: str | None = None
    counterparty_country: str | None = None
    counterparty_account: str | None = None  # contract v1.1
    tx_type: str | None = None  # contract v1.1: payment (default) | reversal | correction | return | fee | interest
    original_tx_id: str | None = None  # contract v1.1: the leg a reversal, correction or return refers to

    @property
    def is_cash(self) -> bool:
        return self.method == "cash"

    def encode(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def decode(cls, raw: bytes | str) -> Leg:
        return cls(**orjson.loads(raw))

    @classmethod
    def of(cls, tx: Transaction, doc: dict[str, Any], seq: int, business_day: int) -> Leg:
        account = doc.get("counterparty_account")
        tx_type = doc.get("tx_type")
        return cls(
            seq=seq,
            tx_id=tx.tx_id,
            customer_id=tx.customer_id,
            ts_ms=tx.ts_ms,
            business_day=business_day,
            direction=tx.direction,
            amount=tx.amount,
            currency=tx.currency,
            amount_fen=tx.amount_fen,
            method=tx.method,
            channel=tx.channel,
            cross_border=tx.cross_border,
            account_id=tx.account_id,
            counterparty_id=tx.counterparty_id,
            counterparty_name=tx.counterparty_name,
            counterparty_bank=tx.counterparty_bank,
            counterparty_country=tx.counterparty_country,
            counterparty_account=account if isinstance(account, str) and 0 < len(account) <= 128 else None,
            tx_type=tx_type if isinstance(tx_type, str) else None,
            original_tx_id=tx.original_tx_id,
        )


def reportable_posting(leg: Leg, own_accounts: Collection[str] = (), own_bank: Collection[str] = ()) -> bool:
    """Whether a leg can be listed in a large-value report: a payment of the customer's (the
    customer stage's own rule, factors.postings) — not a reversal, correction, return, fee,
    interest or own-account move."""
    return posting(leg, own_accounts, own_bank) == "payment"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ReportEvent(_Model):
    """A `large_value_report` event (aml.large-value-reports.v1), with the v1.1 `action`."""

    event_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    customer_id: Id
    report_key: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    revision: int = Field(ge=0)
    action: Literal["report", "withdraw", "manual"] = "report"
    rule_code: Literal["0501", "0502", "0503", "0504"]
    direction: Literal["in", "out"]
    business_date: str
    occurred_at: str | None = None
    total_cny: float = 0.0
    totals_by_currency: dict[str, float] = Field(default_factory=dict)
    tx_ids: tuple[str, ...] = ()
    tx_ids_truncated: bool = False  # contract v1.1: `tx_ids` lists only some of the legs (at most 100, or the trail lacked some)
    tx_count: int = Field(default=0, ge=0)
    cause: dict[str, Any] = Field(default_factory=dict)

    @field_validator("business_date")
    @classmethod
    def _date(cls, v: str) -> str:
        datetime.strptime(v, "%Y-%m-%d")
        return v

    @model_validator(mode="after")
    def _shape(self) -> ReportEvent:
        if self.action == "report" and (self.tx_count < 1 or self.revision < 1):
            raise ValueError("a report needs tx_count >= 1 and revision >= 1")
        return self

    @property
    def cause_tx(self) -> str | None:
        """The tx_id of the leg that made this revision: a payment (`cause.kind` transaction) or
        the reversal or correction that revised it (`cause.kind` reversal, streams.events)."""
        ref = self.cause.get("ref")
        return ref if self.cause.get("kind") in ("transaction", "reversal") and isinstance(ref, str) else None

    @property
    def tx_ids_complete(self) -> bool:
        """Whether `tx_ids` names every leg of the report (v1.0 events lack `tx_ids_truncated`)."""
        return not self.tx_ids_truncated and len(self.tx_ids) == self.tx_count


class AlertEvent(_Model):
    """The parts of a `suspicious_pattern` event a suspicious report needs."""

    customer_id: Id
    alert_key: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    occurrence: int = Field(ge=1)
    pattern: str
    severity: str
    tx_ids: tuple[str, ...]
    metrics: dict[str, Any] = Field(default_factory=dict)


class Decision(_Model):
    """An analyst's decision (aml.case-decisions.v1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    decision_id: Id
    customer_id: Id
    decided_at: datetime
    decision: Literal["confirmed", "dismissed"]
    analyst: Id | None = None
    alert_keys: tuple[Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")], ...] = Field(default=(), max_length=100)
    tx_ids: tuple[Id, ...] = Field(default=(), max_length=1000)
    analysis: Annotated[str, StringConstraints(min_length=1, max_length=4000)] | None = None
    behaviour: Annotated[str, StringConstraints(min_length=1, max_length=4000)] | None = None
    crime_types: tuple[Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{2,8}$")], ...] = Field(default=(), max_length=20)
    characteristic_codes: tuple[Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{2,8}$")], ...] = Field(default=(), max_length=20)
    urgent: bool = False
    measures: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None

    @field_validator("decided_at", mode="before")
    @classmethod
    def _rfc3339(cls, v: Any) -> Any:
        # the same strict RFC 3339 as every input timestamp (pydantic alone also reads a space for 'T' or epoch numbers)
        if isinstance(v, datetime):
            return v
        if not isinstance(v, str) or not RFC3339.fullmatch(v):
            raise ValueError("expected an RFC 3339 date-time with an offset, e.g. 2026-11-11T10:00:00+08:00")
        return v.upper()

    @field_validator("decided_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None or v.utcoffset() is None:
            raise ValueError("decided_at needs a UTC offset")
        return v

    @model_validator(mode="after")
    def _confirmed(self) -> Decision:
        if self.decision == "confirmed":
            if not self.analysis:
                raise ValueError("a confirmed decision needs the analysis (疑点分析)")
            if not self.crime_types or not self.characteristic_codes:
                raise ValueError("a confirmed decision needs crime_types and characteristic_codes")
            if not self.alert_keys and not self.tx_ids:
                raise ValueError("a confirmed decision names the alerts (alert_keys) or transactions (tx_ids) it confirms")
        return self

    @property
    def decided_ms(self) -> int:
        return int(self.decided_at.timestamp() * 1000)


def parse(model: type[_Model], doc: Any, code: str) -> Any:
    """Validate a decoded JSON document into `model`, or InvalidInput(code) naming the field."""
    customer_id = doc.get("customer_id") if isinstance(doc, dict) and isinstance(doc.get("customer_id"), str) else None
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "value"
        raise InvalidInput(code, f"{where}: {first['msg']}", customer_id) from None
