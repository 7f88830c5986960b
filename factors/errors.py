"""The one root exception of the core, and what a refused scoring standard reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class FactorsError(Exception):
    """Base of every error raised by the pure core."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the standard: where (a TOML path such as `factors[3].bands[1].min`
    or `patterns.structuring.threshold_cny`) and what was expected. Never the value itself:
    the standard is confidential."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class StandardError(FactorsError):
    """The scoring standard (model config) is invalid; `problems` lists every offending entry."""

    def __init__(self, problems: str | Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = (Problem("", problems),) if isinstance(problems, str) else tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
