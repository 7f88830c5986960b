"""`amlstream check-standard FILE`: the scoring standard's linter, for a bank's change process.

Runs exactly the validation a worker runs at start and on reload, then the linter's warnings
(`factors.lint`). Prints paths and expectations only, never the standard's values: the file is
confidential and the output goes to change tickets and CI logs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from factors.errors import StandardError
from factors.lint import lint
from factors.standard import DEFAULT_STANDARD_PATH, SCHEMA_PATH, parse_standard, standard_schema
from streams.errors import ConfigError
from streams.model import MODEL_VARIABLES, changed_inputs, model_inputs, read_standard, readable_by_others
from streams.settings import load_settings, unknown_variables


@dataclass
class CheckResult:
    exit_code: int
    lines: list[str] = field(default_factory=list)


def check_standard(path: Path, trail_horizon_hours: float | None = None, env: Mapping[str, str] | None = None) -> CheckResult:
    """Exit 0 with a summary line (and `warning:` lines) for a valid standard, 2 with one
    `error:` line per problem otherwise.

    The summary's model_version is the one a worker with the environment `env` carries: of the
    environment only the settings that go into it are read (`streams.model.MODEL_SETTINGS`); a
    `note:` line names those that differ from their defaults. `trail_horizon_hours` defaults to
    the environment's AMLSTREAM_TRAIL_HORIZON_HOURS. An AMLSTREAM_* variable that is nobody's (a
    typo) is a `warning:` line: the worker would refuse it, the standard is still valid."""
    try:
        settings = load_settings({k: v for k, v in (env or {}).items() if k.upper() in MODEL_VARIABLES})
        source, data = read_standard(path)
        standard = parse_standard(data, model_inputs(settings))
    except ConfigError as exc:
        return CheckResult(2, [f"error: {line}" for line in exc.lines])
    except StandardError as exc:
        lines = [f"error: {problem}" for problem in exc.problems]
        return CheckResult(2, [*lines, f"{path}: refused, {len(lines)} problem{'s' if len(lines) != 1 else ''}"])
    horizon = settings.trail_horizon_hours if trail_horizon_hours is None else trail_horizon_hours
    warnings = [f"warning: {w}" for w in lint(standard, trail_horizon_hours=horizon, timezone_override=settings.timezone)]
    warnings += [f"warning: {line}; a worker refuses to start with it" for line in unknown_variables(env or {})]
    if readable_by_others(source) and source.resolve() != DEFAULT_STANDARD_PATH.resolve():
        warnings.append("warning: the file is readable by other users: a worker refuses it (chmod 600, or AMLSTREAM_ALLOW_READABLE_MODEL=1)")
    patterns = standard.patterns.configured()
    summary = (
        f"{path}: valid, {standard.model_version}: {len(standard.levels)} levels, {len(standard.factors)} factors, "
        f"{len(patterns)} pattern rules ({sum(1 for p in patterns.values() if p.enabled)} enabled), {len(warnings)} warning{'s' if len(warnings) != 1 else ''}"
    )
    changed = changed_inputs(settings, standard.timezone)
    notes = [f"note: model_version also covers {', '.join(f'{k}={v}' for k, v in changed.items())} (not the default)"] if changed else []
    return CheckResult(0, [summary, *notes, *warnings])


def schema_text() -> str:
    """The standard's JSON Schema as shipped in `factors/standards/standard.schema.json`."""
    return json.dumps(standard_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # python -m streams.check: regenerate the shipped schema after changing a model
    SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
