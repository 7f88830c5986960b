"""Validation errors of the standard as operators read them: `<toml.path>: <what was expected>`.

The path follows the TOML file (`factors[3].bands[1].min`, `patterns.structuring.threshold_cny`),
the message says what the entry must be, with the allowed range or choices taken from the
standard's JSON Schema. No message ever contains the value that was found: the standard is
confidential, and a log or a terminal is not the place for its figures.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from pydantic import ValidationError

from factors.errors import Problem

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
TYPE_WORDS = {
    "int_type": "an integer",
    "int_from_float": "an integer (no fraction)",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "string_type": "a string (in quotes)",
    "bool_type": "true or false (without quotes)",
    "bool_parsing": "true or false (without quotes)",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "dataclass_type": "a table",
    "list_type": "an array",
    "tuple_type": "an array",
    "set_type": "an array",
    "frozen_set_type": "an array",
    "decimal_type": 'a decimal number (a string such as "7.10", or a number)',
    "decimal_parsing": 'a decimal number (a string such as "7.10", or a number)',
    "none_required": "nothing",
}
NUMBER_ERRORS = {
    "int_type",
    "int_from_float",
    "int_parsing",
    "float_type",
    "float_parsing",
    "finite_number",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
}


def toml_key(key: str) -> str:
    return key if BARE_KEY.match(key) else '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _walk(loc: tuple[str | int, ...], data: Any) -> tuple[list[str | int], bool]:
    """The loc as parts of the data's path (dropping union tags), and whether it names a dict key."""
    parts: list[str | int] = []
    node = data
    is_key = False
    for part in loc:
        if part == "[key]":
            is_key = True
            continue
        if isinstance(part, int):
            parts.append(part)
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
        elif isinstance(node, dict) and part in node:
            parts.append(part)
            node = node[part]
        elif isinstance(node, dict) and node.get("id") == part:
            continue  # the tag of a discriminated union (a factor entry chosen by its id)
        elif isinstance(part, str) and part.startswith("~"):
            continue  # the tag of a number-or-table union (factors.thresholds)
        else:
            parts.append(part)
            node = None
    return parts, is_key


def render_path(parts: list[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + toml_key(part)
    return out


def _resolve(schema: dict[str, Any], node: dict[str, Any] | None) -> dict[str, Any] | None:
    while node is not None and "$ref" in node:
        node = schema.get("$defs", {}).get(node["$ref"].rsplit("/", 1)[-1])
    return node


def _branch(schema: dict[str, Any], node: dict[str, Any] | None, datum: Any) -> dict[str, Any] | None:
    """The branch of a union that `datum` took: a factor entry by its id, a number-or-table by
    whether it is a table, X | None the non-null one."""
    node = _resolve(schema, node)
    if node is None:
        return None
    for branch in node.get("anyOf", ()):  # X | None: the non-null branch
        if branch.get("type") != "null":
            node = _resolve(schema, branch)
            break
    if node is not None and "oneOf" in node:
        mapping = node.get("discriminator", {}).get("mapping")
        if mapping is not None:  # a factor entry: the branch of its id
            ref = mapping.get(datum.get("id")) if isinstance(datum, dict) else None
            return _resolve(schema, {"$ref": ref}) if ref else node
        branches = [_resolve(schema, b) or {} for b in node["oneOf"]]
        tables = [b for b in branches if b.get("type") == "object"]
        others = [b for b in branches if b.get("type") != "object"]
        pick = tables if isinstance(datum, dict) else others
        return pick[0] if pick else node
    return node


def _step(schema: dict[str, Any], node: dict[str, Any] | None, part: str | int, datum: Any) -> dict[str, Any] | None:
    node = _branch(schema, node, datum)
    if node is None:
        return None
    if isinstance(part, int):
        return node.get("items")
    if part in node.get("properties", {}):
        return node["properties"][part]
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        return extra
    pattern_props = node.get("patternProperties", {})
    return next(iter(pattern_props.values()), None)


def _schema_at(schema: dict[str, Any], parts: list[str | int], data: Any) -> dict[str, Any] | None:
    node: dict[str, Any] | None = schema
    datum = data
    for part in parts:
        node = _step(schema, node, part, datum)
        if isinstance(part, int):
            datum = datum[part] if isinstance(datum, list) and 0 <= part < len(datum) else None
        else:
            datum = datum.get(part) if isinstance(datum, dict) else None
    return _branch(schema, node, datum)


def _number(n: float) -> str:
    return f"{n:,.0f}" if float(n).is_integer() and abs(n) < 1e15 else f"{n:g}"


def _range(leaf: dict[str, Any] | None, kind: str) -> str:
    """'an integer from 1 to 1,000,000', 'a number above 0 and at most 1' from the schema's bounds."""
    leaf = leaf or {}
    low = f"at least {_number(leaf['minimum'])}" if "minimum" in leaf else f"above {_number(leaf['exclusiveMinimum'])}" if "exclusiveMinimum" in leaf else ""
    high = f"at most {_number(leaf['maximum'])}" if "maximum" in leaf else f"below {_number(leaf['exclusiveMaximum'])}" if "exclusiveMaximum" in leaf else ""
    if "minimum" in leaf and "maximum" in leaf:
        return f"{kind} from {_number(leaf['minimum'])} to {_number(leaf['maximum'])}"
    return " ".join(filter(None, (kind, " and ".join(filter(None, (low, high))))))


def _or_table(schema: dict[str, Any], parts: list[str | int], data: Any) -> str:
    """', or a table { ... }' when the entry also takes a table (a relative threshold)."""
    if not parts or isinstance(parts[-1], int):
        return ""
    parent = _schema_at(schema, parts[:-1], data)
    entry = _resolve(schema, (parent or {}).get("properties", {}).get(parts[-1]))
    tables = [b for b in (_resolve(schema, x) or {} for x in (entry or {}).get("oneOf", ())) if b.get("type") == "object"]
    if not tables or (entry or {}).get("discriminator"):
        return ""
    return ", or a table { " + ", ".join(tables[0].get("properties", {})) + " }"


def _keys_at(schema: dict[str, Any], parts: list[str | int], data: Any) -> list[str]:
    node = _schema_at(schema, parts, data)
    if node and "oneOf" in node:
        return ["id"]
    return list((node or {}).get("properties", {}))


def _message(error: dict[str, Any], parts: list[str | int], is_key: bool, data: Any, schema: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "missing: this key is required"
    if kind == "extra_forbidden":
        allowed = _keys_at(schema, parts[:-1], data)
        hint = difflib.get_close_matches(str(parts[-1]), allowed, n=1)
        where = "section" if len(parts) == 1 else "pattern rule" if len(parts) == 2 and parts[0] == "patterns" else "key"
        return f"unknown {where}" + (f" (did you mean {hint[0]}?)" if hint else "") + (f"; expected one of: {', '.join(allowed)}" if allowed else "")
    if kind == "union_tag_invalid":
        tags = [t.strip().strip("'") for t in str(ctx.get("expected_tags", "")).split(",") if t.strip()]
        hint = difflib.get_close_matches(str(ctx.get("tag", "")), tags, n=1)
        return "unknown factor id" + (f" (did you mean {hint[0]}?)" if hint else "") + f"; expected one of: {', '.join(tags)}"
    if kind == "union_tag_not_found":
        return "missing: every factor needs an id"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"]))
    if kind == "standard":
        return error["msg"]
    leaf = _schema_at(schema, parts, data)
    prefix = "key: expected" if is_key else "expected"
    if kind in NUMBER_ERRORS:
        integer = (leaf or {}).get("type") == "integer" or kind.startswith("int")
        return f"{prefix} " + _range(leaf, "an integer" if integer else "a number") + _or_table(schema, parts, data)
    if kind in TYPE_WORDS:
        return f"{prefix} {TYPE_WORDS[kind]}"
    if kind in ("literal_error", "enum"):
        return f"{prefix} one of {ctx.get('expected', '')}"
    if kind == "string_pattern_mismatch":
        described = (leaf or {}).get("description") if not is_key else None
        return f"{prefix} {described}" if described and len(described) < 120 else f"{prefix} a string matching {ctx.get('pattern', '')}"
    if kind in ("string_too_short", "too_short"):
        return f"{prefix} at least {ctx.get('min_length')} {'character' if kind.startswith('string') else 'item'}(s)"
    if kind in ("string_too_long", "too_long"):
        return f"{prefix} at most {ctx.get('max_length')} {'character' if kind.startswith('string') else 'item'}(s)"
    return str(error["msg"]).replace("Input should be", "expected")


def problems_from(error: ValidationError, data: Any, schema: dict[str, Any]) -> list[Problem]:
    """Every error of a validation, as (TOML path, expectation), in file order, without values."""
    problems = []
    errors = error.errors(include_input=False, include_url=False)
    locs = [tuple(e["loc"]) for e in errors]
    for e in errors:
        loc = tuple(e["loc"])
        if e["type"] == "too_short" and any(other[: len(loc)] == loc and len(other) > len(loc) for other in locs):
            continue  # pydantic counts the items left after their own errors: those errors say it
        parts, is_key = _walk(loc, data)
        if e["type"] in ("union_tag_invalid", "union_tag_not_found"):
            parts.append("id")
        problems.append(Problem(render_path(parts), _message(dict(e), parts, is_key, data, schema)))
    return list(dict.fromkeys(problems))
