"""Relative thresholds: a rule's amount or count line as a population quantile of the customer's
peer group and/or a multiple of the customer's own history, never below an absolute floor.

Where no regulation sets the line (fan-in sources, pass-through amounts, bursts), an absolute
number is wrong for most customers: too high for a retail mule moving tens of thousands, too low
for a wholesaler. A threshold of such a rule is written either as a number (the absolute line,
as before) or as a table:

    min_in_cny = 100000                                                # absolute, CNY
    min_in_cny = { quantile = 0.99, own_multiple = 3, floor = 20000 }  # relative

- `quantile` q: the value that a share q of the peer group's customer-days stays at or below
  (`factors.distribution`: the published distribution of the rule's own figure, e.g. the 7-day
  inflow, over the group's customer-days of the last 30 business days). The line is exceeded when
  the customer's figure is above it.
- `own_multiple` m: m x the customer's own average over the same span, from its history in the
  90-day window outside the current window (for a 7-day figure: (90-day total - 7-day total) /
  83 days x 7 days; for a 30-day figure: (90-day - 30-day) / 60 x 30; shorter rules: outside the
  7-day window, per day x the rule's window, at least one day). The days are those the customer
  has been active (since `active_since_ms`, the start of its current run of activity, in whole
  days rounded up, at most the 90), less the current window: a customer of 20 days has 13 days
  of history outside its 7-day window, not 83 of which 70 empty. With fewer than
  `MIN_HISTORY_DAYS` the part drops out (an average of one or two days is no habit). Not for
  distinct counterparties, which do not add up over time.
- `floor` (required): the line is never below it, so a quiet customer (an own average near 0) or
  a group where nearly everybody is near 0 does not alert on pocket money.
- `peer_groups` (optional, with `quantile`): the groups (kind:industry, e.g. "entity:retail") whose
  customers the quantile applies to; for others it drops out. An industry that is not in the
  standard's `[industries]` (nor "unknown") is an error when the standard is loaded.

**The line is the largest of them**: max(floor, quantile value, own multiple), each relative part
exceeded strictly. Unusual for its peers *and* unusual for itself: a customer whose size puts it
above the group's p99 every week is held to its own history, a customer whose burst is large for
it but ordinary in its group is held to the group. (The smaller of the two would alert every
large customer every week, and every customer on any spike of its own.) A part that cannot be
measured drops out: no published baseline for the group, a distribution with fewer samples than
the quantile needs (1 / (1 - q): 100 for p99), no history of its own (an average of 0). With
neither part measurable the line is the floor.

The resolved line and where it came from go into the event's `thresholds`: the number under the
parameter's own key (as before) and, under `relative.<key>`, the floor, the quantile (q, metric,
value, peer group, baseline version, samples) and the own history (multiple, metric, average,
days, span) with the part that set the line (`from`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from factors.config import Cny, Count, Multiple, Strict
from factors.distribution import METRICS, Distribution
from factors.money import FEN_PER_YUAN
from factors.profile import peer_group
from factors.view import CustomerView

WINDOW_DAYS = {"24h": 1, "7d": 7, "30d": 30, "90d": 90}
HISTORY = "90d"
MIN_HISTORY_DAYS = 7  # days of own history outside the current window before the own part counts
DAY_MS = 86_400_000
Quantile = Annotated[float, Field(ge=0.5, le=0.9999)]
# a peer group as factors.profile.peer_group names it: kind ":" industry code (or "unknown");
# whether the industry is one of the standard's is checked by factors.standard
PeerGroupName = Annotated[str, Field(pattern=r"^(individual|entity):[a-z0-9_]{1,64}$")]


class Relative(Strict):
    """A relative threshold: `floor` and at least one of `quantile` and `own_multiple`."""

    quantile: Quantile | None = None
    """Population quantile of the peer group, 0.5 to 0.9999 (0.99: above 99 % of the group's customer-days)."""
    own_multiple: Multiple | None = None
    """Multiple of the customer's own average over the same span, from the 90-day history outside the current window."""
    peer_groups: Annotated[tuple[PeerGroupName, ...], Field(min_length=1, max_length=200)] | None = None
    """The peer groups (kind:industry, e.g. "individual:unknown", "entity:retail") whose customers the quantile applies to; absent: every group."""

    @model_validator(mode="after")
    def _relative(self) -> Relative:
        if self.quantile is None and self.own_multiple is None:
            raise ValueError("a relative threshold needs quantile and/or own_multiple (a plain number is an absolute threshold)")
        if self.peer_groups is not None and self.quantile is None:
            raise ValueError("peer_groups needs quantile (it says whose customers the quantile applies to)")
        return self


class RelativeCny(Relative):
    """`{ quantile, own_multiple, floor }` for an amount in CNY."""

    floor: Cny
    """The line is never below this, CNY."""


class RelativeCount(Relative):
    """`{ quantile, own_multiple, floor }` for a number of transactions."""

    floor: Count
    """The line is never below this many."""


class RelativeDistinct(Relative):
    """`{ quantile, floor }` for a number of distinct counterparties."""

    floor: Count
    """The line is never below this many."""
    own_multiple: SkipJsonSchema[Multiple | None] = None  # refused with a reason (not in the schema)

    @field_validator("own_multiple")
    @classmethod
    def _no_own(cls, value: float | None) -> float | None:
        if value is not None:
            raise ValueError("not available for distinct counterparties (they do not add up over time, so no own average can be taken): use quantile")
        return value


def _kind(value: Any) -> str:
    return "~table" if isinstance(value, dict | Relative) else "~number"


# A parameter that accepts either form: the number (absolute, as before) or the table. The tags
# ("~number", "~table") never show in error paths (factors.problems drops them).
CnyThreshold = Annotated[Annotated[Cny, Tag("~number")] | Annotated[RelativeCny, Tag("~table")], Discriminator(_kind)]
CountThreshold = Annotated[Annotated[Count, Tag("~number")] | Annotated[RelativeCount, Tag("~table")], Discriminator(_kind)]
DistinctThreshold = Annotated[Annotated[Count, Tag("~number")] | Annotated[RelativeDistinct, Tag("~table")], Discriminator(_kind)]


@dataclass(frozen=True, slots=True)
class Line:
    """A resolved threshold: `minimum` is inclusive, in fen for money and in units for counts
    (a figure fires when it is >= minimum); `basis` says where a relative line came from
    (None for an absolute one)."""

    minimum: int
    basis: dict[str, Any] | None = None

    def shown(self, unit: str) -> float | int:
        """The line as events show it: yuan for money, the count otherwise."""
        return self.minimum / FEN_PER_YUAN if unit == "cny" else self.minimum


def _above(value: float, unit: str) -> int:
    """The smallest figure strictly above `value` (given in yuan for money), in fen or units."""
    return math.floor(value * FEN_PER_YUAN) + 1 if unit == "cny" else math.floor(value) + 1


def _floor(value: float, unit: str) -> int:
    return round(value * FEN_PER_YUAN) if unit == "cny" else int(value)


def floor_of(threshold: float | Relative, metric: str) -> int:
    """The lowest line `resolve` can give (fen for money, units otherwise): the absolute line, or a
    relative one's floor. A figure below it cannot fire, whatever the group or the history, so a
    rule checks it first and resolves (a few microseconds) only when it is reached."""
    return _floor(threshold.floor if isinstance(threshold, Relative) else threshold, METRICS[metric].unit)


def resolve(threshold: float | Relative, metric: str, view: CustomerView, *, span_days: float | None = None) -> Line:
    """The line a figure must reach, for the customer in `view`.

    `metric` names the published distribution the rule's figure is compared with
    (`factors.distribution.METRICS`); `span_days` the rule's own span for the own-history part
    (default: the metric's window; at least one day).
    """
    spec = METRICS[metric]
    unit = spec.unit
    if not isinstance(threshold, Relative):
        return Line(_floor(threshold, unit))
    floor = _floor(threshold.floor, unit)
    line, source = floor, "floor"
    basis: dict[str, Any] = {"floor": threshold.floor}
    if threshold.quantile is not None:
        part = _quantile_part(threshold.quantile, metric, view, threshold.peer_groups)
        basis["quantile"] = part
        if part.get("value") is not None and (above := _above(part["value"], unit)) > line:
            line, source = above, "quantile"
    if threshold.own_multiple is not None:
        part = _own_part(threshold.own_multiple, metric, view, span_days)
        basis["own"] = part
        if part["value"] > 0 and (above := _above(part["value"], unit)) > line:
            line, source = above, "own"
    basis["from"] = source
    return Line(line, basis)


def _quantile_part(q: float, metric: str, view: CustomerView, groups: tuple[str, ...] | None) -> dict[str, Any]:
    peer = view.peer
    part: dict[str, Any] = {"q": q, "metric": metric, "value": None}
    if groups is not None:
        profile = view.profile
        group = peer.group if peer is not None else peer_group(profile.kind if profile else None, profile.industry if profile else None)
        if group not in groups:
            return part | {"peer_group": group, "unavailable": "the customer's peer group is not among the threshold's peer_groups"}
    if peer is None:
        return part | {"unavailable": "no published peer baseline for the customer's group"}
    part |= {"peer_group": peer.group, "peer_version": peer.version}
    dist: Distribution | None = peer.distributions.get(metric)
    samples = dist.total if dist is not None else 0
    part["samples"] = samples
    needed = math.ceil(1 / (1 - q) - 1e-9)
    if samples < needed:
        return part | {"unavailable": f"fewer than {needed} samples"}
    value = dist.quantile(q) if dist is not None else None
    part["value"] = round(value, 2) if value is not None else None
    return part


def _own_part(multiple: float, metric: str, view: CustomerView, span_days: float | None) -> dict[str, Any]:
    spec = METRICS[metric]
    windows = view.snapshot.windows
    current = spec.window if WINDOW_DAYS[spec.window] >= 7 else "7d"  # the window left out of the history
    snap = view.snapshot
    observed = WINDOW_DAYS[HISTORY]
    if snap.active_since_ms is not None:  # whole days active, rounded up (event time)
        observed = min(max(-((snap.active_since_ms - snap.asof_ms) // DAY_MS), 1), observed)
    days = observed - WINDOW_DAYS[current]
    span = max(span_days if span_days is not None else WINDOW_DAYS[spec.window], 1)
    part: dict[str, Any] = {"multiple": multiple, "metric": metric}
    if days < MIN_HISTORY_DAYS:
        return part | {
            "daily_average": None,
            "history_days": max(days, 0),
            "span_days": span,
            "value": 0,
            "unavailable": f"fewer than {MIN_HISTORY_DAYS} days of own history outside the {current} window",
        }
    history = max(spec.of(windows[HISTORY]) - spec.of(windows[current]), 0)
    per_day = history / days / (FEN_PER_YUAN if spec.unit == "cny" else 1)
    return part | {"daily_average": round(per_day, 2), "history_days": days, "span_days": span, "value": round(multiple * per_day * span, 2)}


def thresholds(entries: dict[str, tuple[Line, str] | Any], **more: Any) -> dict[str, Any]:
    """An event's `thresholds`: each entry as given, a resolved (line, unit) as its number, then
    `more`, then `relative` -> key -> basis for the lines that are relative (in that order, so an
    absolute standard gives the same thresholds as before relative lines existed)."""
    out: dict[str, Any] = {}
    relative: dict[str, Any] = {}
    for key, entry in {**entries, **more}.items():
        if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], Line):
            line, unit = entry
            out[key] = line.shown(unit)
            if line.basis is not None:
                relative[key] = line.basis
        else:
            out[key] = entry
    if relative:
        out["relative"] = relative
    return out
