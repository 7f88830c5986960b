"""Every dead-letter code the code base can emit is in the dead_letter schema's `error_code` enum,
and the enum lists no code nothing emits. The codes are read from the sources, not from a list
kept by hand: every call of a callable that takes a `code` parameter (DecodeError, IsoError,
InvalidInput, DeadLetter, events.dead_letter, BatchResult.dead_letter, filings.model.parse, ...)
in streams/, filings/ and iso20022/ (factors/, the pure core, builds no dead letter), with its code argument resolved to the strings it
can be (a literal, a module constant, a dict of them, either branch of a conditional)."""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("streams", "filings", "iso20022")
SCHEMA = ROOT / "streams" / "schemas" / "dead_letter.v1.schema.json"


def _modules() -> dict[str, ast.Module]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            out[name] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return out


def _position(args: ast.arguments, method: bool) -> int | None:
    names = [a.arg for a in (*args.posonlyargs, *args.args)]
    if "code" not in names:
        return None
    return names.index("code") - (1 if method and names and names[0] in ("self", "cls") else 0)


def code_parameters(modules: dict[str, ast.Module]) -> dict[str, int]:
    """Callable name -> position of its `code` parameter among a call's positional arguments."""
    found: dict[str, int] = {}
    for tree in modules.values():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("__"):
                position = _position(node.args, method=True)
                if position is not None:
                    found[node.name] = position
            elif isinstance(node, ast.ClassDef):
                init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
                if init is not None:
                    position = _position(init.args, method=True)
                else:  # a dataclass: its annotated fields in order
                    fields = [n.target.id for n in node.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)]
                    position = fields.index("code") if "code" in fields else None
                if position is not None:
                    found[node.name] = position
    return found


def _values(node: ast.expr, module: str, where: str) -> set[str]:
    """The strings a code argument can be; an empty set for a code passed through (err.code)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _values(node.body, module, where) | _values(node.orelse, module, where)
    if isinstance(node, ast.JoinedStr):
        raise AssertionError(f"{where}: a dead-letter code built at run time cannot be checked; use a constant")
    if isinstance(node, ast.Subscript):
        return _values(node.value, module, where)
    if isinstance(node, ast.Name):
        value = getattr(importlib.import_module(module), node.id, None)
        if isinstance(value, str):
            return {value}
        if isinstance(value, dict):
            return {v for v in value.values() if isinstance(v, str)}
        return set()  # a parameter or local variable: the code is the caller's
    return set()  # an attribute such as err.code: passed through


def emitted_codes() -> dict[str, set[str]]:
    """Code -> where it is emitted (module:line)."""
    modules = _modules()
    parameters = code_parameters(modules)
    codes: dict[str, set[str]] = {}
    for module, tree in modules.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) else None
            if name not in parameters:
                continue
            where = f"{module}:{node.lineno}"
            argument = next((k.value for k in node.keywords if k.arg == "code"), None)
            if argument is None and len(node.args) > parameters[name]:
                argument = node.args[parameters[name]]
            for code in _values(argument, module, where) if argument is not None else ():
                codes.setdefault(code, set()).add(where)
    return codes


def test_the_collector_finds_every_kind_of_emitter():
    codes = emitted_codes()
    expected = {
        "invalid_amount": "streams.decode",  # DecodeError
        "reversal_unmatched": "streams.engine",  # BatchResult.dead_letter
        "too_late": "streams.network.engine",  # events.dead_letter
        "iso20022_schema_invalid": "iso20022.",  # IsoError(SCHEMA_INVALID, ...): a module constant
        "iso20022_mapping_failed": "iso20022.process",
        "invalid_report": "filings.",  # parse(ReportEvent, doc, "invalid_report") and INVALID_INPUT[kind]
        "invalid_identity": "filings.identity",  # InvalidInput
        "filing_leg_mismatch": "filings.service",  # DeadLetter
    }
    for code, module in expected.items():
        assert any(w.startswith(module) for w in codes.get(code, ())), (code, codes.get(code))


def test_every_emitted_dead_letter_code_is_in_the_schema_and_every_listed_code_is_emitted():
    enum = json.loads(SCHEMA.read_text(encoding="utf-8"))["properties"]["error_code"]["enum"]
    codes = emitted_codes()
    missing = {code: sorted(where) for code, where in codes.items() if code not in enum}
    assert not missing, f"dead-letter codes missing from the schema's error_code enum: {missing}"
    assert set(enum) == set(codes), f"listed but never emitted: {sorted(set(enum) - set(codes))}"
    assert len(enum) == len(set(enum))
