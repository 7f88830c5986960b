"""Validate a report or receipt file against the project's XML Schema (lxml / libxml2), plus the
count fields XSD 1.0 cannot tie to the number of children. Nothing invalid is ever written."""

from __future__ import annotations

import functools
from pathlib import Path

from lxml import etree

from filings.errors import InvalidFiling

XSD_PATH = Path(__file__).parent / "xsd" / "pboc-aml-2017.xsd"
# count element -> (parent path of the counted children, child tag)
COUNTS = {
    "HVTR": (("RBIF/CTTN", "CATIs/CATI"),),
    "BSTR": (("RBIF/SETN", "SEIFs/SEIF"), ("RBIF/STNM", "STIFs/STIF")),
}


@functools.cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_PATH)))


def validate(data: bytes, root: str) -> etree._Element:
    """Parse `data` (UTF-8 XML), check its root is `root`, the schema and the counts; the parsed
    document, or InvalidFiling with the first problems (line numbers included)."""
    try:
        doc = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise InvalidFiling(f"not well-formed XML: {exc}") from None
    if doc.tag != root:
        raise InvalidFiling(f"root element is {doc.tag}, expected {root}")
    schema = _schema()
    if not schema.validate(doc):
        problems = "; ".join(f"line {e.line}: {e.message}" for e in list(schema.error_log)[:5])
        raise InvalidFiling(f"{root} does not match the schema: {problems}")
    for count_path, children in COUNTS.get(root, ()):
        declared = int(doc.findtext(count_path))
        actual = len(doc.findall(children))
        if declared != actual:
            raise InvalidFiling(f"{count_path} says {declared}, the file has {actual} {children.rsplit('/', 1)[-1]}")
    for htcr in doc.iterfind("CATIs/CATI/HTCRs/HTCR"):
        if int(htcr.findtext("TTNM")) != len(htcr.findall("CCIFs/CCIF/TSDTs/TSDT")):
            raise InvalidFiling(f"HTCR {htcr.get('seqno')}: TTNM differs from its number of TSDT")
    return doc
