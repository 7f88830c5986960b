"""ISO 20022 ingestion: pacs.008 and camt.054 payment messages -> transaction legs (contract v1.1).

`parse` reads and validates a message against the official XSD of its version, `read` turns the
tree into plain records, `mapping` turns those into the legs of the bank's customers (pure),
`render` does the reverse for generated streams, and `adapter` is the Kafka agent.
"""

from iso20022.errors import IsoError
from iso20022.mapping import MappingContext, MappingResult, map_message
from iso20022.parse import SUPPORTED, parse_message

__all__ = ["SUPPORTED", "IsoError", "MappingContext", "MappingResult", "map_message", "parse_message"]
