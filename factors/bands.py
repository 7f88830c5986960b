"""Declarative bands: map a measured value to points (Tazama-style, inclusive lower limits)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from factors.errors import StandardError


@dataclass(frozen=True, slots=True)
class Band:
    min: float  # inclusive lower limit of the value
    points: float


@dataclass(frozen=True, slots=True)
class Bands:
    bands: tuple[Band, ...]  # ascending by min

    @classmethod
    def parse(cls, raw: object, where: str) -> Bands:
        if not isinstance(raw, list) or not raw:
            raise StandardError(f"{where}: bands must be a non-empty list of {{min, points}}")
        parsed = []
        for i, item in enumerate(raw):
            if not isinstance(item, dict) or set(item) != {"min", "points"}:
                raise StandardError(f"{where}[{i}]: each band needs exactly 'min' and 'points'")
            parsed.append(Band(float(item["min"]), float(item["points"])))
        if any(a.min >= b.min for a, b in itertools.pairwise(parsed)):
            raise StandardError(f"{where}: band limits must be strictly ascending")
        return cls(tuple(parsed))

    def points_for(self, value: float) -> tuple[float, Band | None]:
        """Points of the highest band whose lower limit the value reaches, and that band."""
        hit: Band | None = None
        for band in self.bands:
            if value >= band.min:
                hit = band
            else:
                break
        return (hit.points if hit else 0.0), hit
