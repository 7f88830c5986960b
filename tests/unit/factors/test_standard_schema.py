"""The JSON Schema shipped with the package is the one the models generate, and it accepts the
default standard (so editors that check against it agree with the worker)."""

from __future__ import annotations

import tomllib

import jsonschema
import pytest

from factors.standard import DEFAULT_STANDARD_PATH, SCHEMA_PATH, as_json
from streams.check import schema_text
from tests.standard_mutations import MUTATIONS, mutated


def validator() -> jsonschema.Draft202012Validator:
    import json

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def as_document(text: str) -> object:
    import json

    return json.loads(as_json(tomllib.loads(text)))


def test_the_shipped_schema_is_the_generated_one():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), "regenerate it: python -m streams.check"


def test_the_default_standard_validates_against_the_schema():
    validator().validate(as_document(DEFAULT_STANDARD_PATH.read_text(encoding="utf-8")))


def test_the_default_names_the_schema_for_editors():
    assert DEFAULT_STANDARD_PATH.read_text(encoding="utf-8").splitlines()[0] == f"#:schema ./{SCHEMA_PATH.name}"


# The schema checks shapes, names, types and ranges; cross-checks (level names, unique factors,
# ascending bands, timezones) and strings that must parse as decimals are the models' alone.
SCHEMA_CATCHES = {m.id for m in MUTATIONS} - {"unknown_timezone", "unknown_level", "fx_rate_with_comma"}


@pytest.mark.parametrize("mutation", [m for m in MUTATIONS if m.id in SCHEMA_CATCHES], ids=lambda m: m.id)
def test_the_schema_flags_the_same_mistakes_in_an_editor(mutation):
    assert list(validator().iter_errors(as_document(mutated(mutation)))), mutation.id


def test_the_readme_tuning_steps_check_the_standard_and_point_to_the_schema():
    readme = (DEFAULT_STANDARD_PATH.parents[2] / "README.md").read_text(encoding="utf-8")
    tuning = readme.split("### How a bank tunes it", 1)[1].split("\n## ", 1)[0]
    assert "amlstream check-standard" in tuning and "standard.schema.json" in tuning
