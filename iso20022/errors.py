"""The one error type of the package: a message that cannot be mapped, with a dead-letter code and
the XPath of the problem (local names, 1-based positions, e.g.
`/Document/FIToFICstmrCdtTrf/CdtTrfTxInf[2]/IntrBkSttlmAmt`)."""

from __future__ import annotations

# dead-letter error codes (documented in docs/events.md)
MALFORMED = "iso20022_malformed"  # not well-formed XML, a DOCTYPE, or too large
UNSUPPORTED = "iso20022_unsupported"  # a root element / namespace that is not a supported message version
SCHEMA_INVALID = "iso20022_schema_invalid"  # fails the official XSD of its version
INVALID_VALUE = "iso20022_invalid_value"  # schema-valid, but a value the mapping cannot use (zero amount, bad time, bad envelope)
MAPPING_FAILED = "iso20022_mapping_failed"  # an unexpected error while mapping (a defect: logged with its traceback)
PAYLOAD_TOO_LARGE = "payload_too_large"  # the existing code: the value is longer than max_message_bytes

CODES = (MALFORMED, UNSUPPORTED, SCHEMA_INVALID, INVALID_VALUE, MAPPING_FAILED, PAYLOAD_TOO_LARGE)


class IsoError(Exception):
    """A message that gives no legs at all: dead-lettered whole with `code` and `detail`."""

    def __init__(self, code: str, detail: str, xpath: str | None = None) -> None:
        self.code = code
        self.xpath = xpath
        self.detail = f"{xpath}: {detail}" if xpath else detail
        super().__init__(self.detail)
