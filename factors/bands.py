"""Declarative bands: map a measured value to points (Tazama-style, inclusive lower limits)."""

from __future__ import annotations

import itertools
from functools import cached_property
from typing import Annotated

from pydantic import ConfigDict, Field, RootModel, field_validator

from factors.config import Points, Strict


class Band(Strict):
    min: Annotated[float, Field(ge=-1e15, le=1e15)]
    """Inclusive lower limit of the measured value (CNY, a count, a ratio, ... as the factor measures)."""
    points: Points
    """Points of a value at or above `min` and below the next band's `min`."""


class Bands(RootModel[tuple[Band, ...]]):
    """A non-empty list of `{min, points}`, strictly ascending by `min`."""

    model_config = ConfigDict(strict=True, frozen=True)
    root: Annotated[tuple[Band, ...], Field(min_length=1)]

    @field_validator("root")
    @classmethod
    def _ascending(cls, bands: tuple[Band, ...]) -> tuple[Band, ...]:
        if any(a.min >= b.min for a, b in itertools.pairwise(bands)):
            raise ValueError("band limits (min) must be strictly ascending")
        return bands

    @property
    def bands(self) -> tuple[Band, ...]:
        return self.root

    @cached_property
    def table(self) -> tuple[tuple[float, float, Band], ...]:
        """(min, points, band) per band: read per transaction, plain tuples are what is cheap."""
        return tuple((b.min, b.points, b) for b in self.root)

    def points_for(self, value: float) -> tuple[float, Band | None]:
        """Points of the highest band whose lower limit the value reaches, and that band."""
        return points_for(self.table, value)


def points_for(table: tuple[tuple[float, float, Band], ...], value: float) -> tuple[float, Band | None]:
    """Points of the highest band of `table` (Bands.table) whose lower limit the value reaches, and that band."""
    points, hit = 0.0, None
    for low, band_points, band in table:
        if value >= low:
            points, hit = band_points, band
        else:
            break
    return points, hit
