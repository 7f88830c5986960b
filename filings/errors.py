"""The root exception of the filings package and its kinds."""

from __future__ import annotations


class FilingError(Exception):
    """Base of every error raised by `filings`."""


class FilingConfigError(FilingError):
    """The filings configuration or the calendar override is wrong; nothing starts."""


class CalendarGap(FilingError):
    """A date neither the official calendar package nor the bank's override file covers."""


class InvalidInput(FilingError):
    """An input event (decision, identity, report) is not valid: it becomes a dead letter."""

    def __init__(self, code: str, detail: str, customer_id: str | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.customer_id = customer_id


class InvalidFiling(FilingError):
    """A built file does not validate against the project's XML Schema: it is never written."""


# error_code values of the filing stage's dead letters (aml.dead-letter.v1, documented in docs/events.md)
DEAD_LETTER_CODES = ("invalid_decision", "invalid_identity", "invalid_report", "invalid_alert", "filing_leg_mismatch", "filing_schema_invalid")
