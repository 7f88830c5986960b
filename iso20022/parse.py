"""Read an ISO 20022 message safely and validate it against the official XSD of its version.

The XSDs are the ISO 20022 Registration Authority's files, shipped unmodified in `iso20022/xsd/`
(see NOTICE.md there). The parser resolves no entities, loads no DTD and touches no network; a
DOCTYPE is refused outright (ISO 20022 messages never carry one).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

from lxml import etree

from iso20022.errors import MALFORMED, PAYLOAD_TOO_LARGE, SCHEMA_INVALID, UNSUPPORTED, IsoError

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
PACS008 = "pacs.008"
CAMT054 = "camt.054"
# message type -> (root child element, supported versions)
ROOTS = {PACS008: "FIToFICstmrCdtTrf", CAMT054: "BkToCstmrDbtCdtNtfctn"}
SUPPORTED: tuple[str, ...] = tuple(f"{PACS008}.001.{v:02d}" for v in range(8, 14)) + tuple(f"{CAMT054}.001.{v:02d}" for v in range(8, 15))

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False, remove_comments=True, remove_pis=True)
_NS_IN_TEXT = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True, slots=True)
class Message:
    """A parsed, schema-valid message: its identifier (e.g. `pacs.008.001.08`), type and tree."""

    message_id: str
    message_type: str  # pacs.008 | camt.054
    root: etree._Element  # the Document element

    @property
    def namespace(self) -> str:
        return NAMESPACE_PREFIX + self.message_id


@functools.cache
def schema(message_id: str) -> etree.XMLSchema:
    """The official XSD of a supported message version, compiled once per process."""
    data = resources.files("iso20022").joinpath("xsd", f"{message_id}.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(data, _PARSER))


def readable_path(element: etree._Element) -> str:
    """XPath of an element with local names and 1-based positions where siblings share a name."""
    parts = []
    node: etree._Element | None = element
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if isinstance(c.tag, str) and c.tag == node.tag]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))


def _open_path(raw: bytes) -> str | None:
    """For a document that is not well-formed: the path of the innermost element open at the error."""
    parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False)
    stack: list[list] = []  # [name, counts of child names]
    path: list[str] = []
    try:
        parser.feed(raw)
        for event, element in parser.read_events():
            _track(event, element, stack, path)
        parser.close()
    except etree.XMLSyntaxError:
        try:
            for event, element in parser.read_events():
                _track(event, element, stack, path)
        except etree.XMLSyntaxError:
            pass
    return "/" + "/".join(path) if path else None


def _track(event: str, element: etree._Element, stack: list[list], path: list[str]) -> None:
    if event == "start":
        name = etree.QName(element).localname
        if stack:
            counts = stack[-1][1]
            counts[name] = counts.get(name, 0) + 1
            n = counts[name]
            path.append(f"{name}[{n}]" if n > 1 else name)
        else:
            path.append(name)
        stack.append([name, {}])
    else:
        stack.pop()
        path.pop()


def parse_message(raw: bytes | None, max_bytes: int = 1_048_576) -> Message:
    """Raw bytes -> a schema-valid Message of a supported version, or IsoError (dead-letter code,
    XPath of the problem). Validation stops at the first schema error; the detail says how many
    more there were."""
    if raw is None or not raw.strip():
        raise IsoError(MALFORMED, "empty message (no value)")
    if len(raw) > max_bytes:
        raise IsoError(PAYLOAD_TOO_LARGE, f"{len(raw)} bytes, limit {max_bytes}")
    try:
        root = etree.fromstring(raw, _PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        where = _open_path(raw)
        raise IsoError(MALFORMED, f"not well-formed XML: {getattr(exc, 'msg', None) or exc}", where) from None  # lxml's message names line and column
    tree = root.getroottree()
    if tree.docinfo.doctype:
        raise IsoError(MALFORMED, "a DOCTYPE is not allowed in an ISO 20022 message")
    qname = etree.QName(root)
    namespace = qname.namespace or ""
    message_id = namespace[len(NAMESPACE_PREFIX) :] if namespace.startswith(NAMESPACE_PREFIX) else ""
    if qname.localname != "Document" or message_id not in SUPPORTED:
        found = f"{{{namespace}}}{qname.localname}" if namespace else qname.localname
        expected = f"a Document in {NAMESPACE_PREFIX}pacs.008.001.08-13 or camt.054.001.08-14"
        raise IsoError(UNSUPPORTED, f"root {found} is not a supported message; expected {expected}", "/" + qname.localname)
    validator = schema(message_id)
    if not validator.validate(root):
        errors = list(validator.error_log)
        first = errors[0]
        located = root.getroottree().xpath(first.path) if first.path else []
        where = readable_path(located[0]) if located and isinstance(located[0], etree._Element) else first.path
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise IsoError(SCHEMA_INVALID, f"{message_id}: {_NS_IN_TEXT.sub('', first.message)}{more}", where)
    return Message(message_id, message_id[:8], root)
