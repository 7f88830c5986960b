"""Score a customer: every weighted factor's points, summed, mapped to a level."""

from __future__ import annotations

from factors.catalog import FACTORS
from factors.model import Assessment, Contribution
from factors.standard import Standard
from factors.view import CustomerView


def assess(view: CustomerView, standard: Standard) -> Assessment:
    """The customer's score and level with the contributions that sum to it.

    Points are rounded to hundredths per contribution and the score is the sum of the rounded
    points, so an analyst adding up the explanation gets the score exactly.
    """
    contributions: list[Contribution] = []
    for setting in standard.factors:
        measured = FACTORS[setting.id].measure(view, setting.params)
        if measured is None:
            continue
        band_points, band = setting.bands.points_for(measured.value)
        points = round(band_points * setting.weight, 2)
        if points == 0:
            continue
        evidence = dict(measured.evidence)
        evidence["value"] = measured.value
        evidence["band_min"] = band.min if band else None
        contributions.append(Contribution(setting.group, setting.id, points, evidence))
    score = round(sum(c.points for c in contributions), 2)
    return Assessment(score=score, level=standard.level_for(score), contributions=tuple(contributions))
