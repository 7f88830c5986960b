"""Re-rate one customer over the events of a batch, in order, and decide what to emit.

The outcome depends only on the committed state and the events, never on how the stream was
cut into batches: each event is rated against the aggregates right after it. The rating state
(level, hysteresis, profile, alerts, detections, large-value accumulators, review date) is one
plain JSON-able dict, committed atomically with the batch.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from factors.large_value import ReportUpdate, forget_before, manual_reports, reports, revise, rules_from
from factors.model import Assessment, ExposureMeasurement, PatternHit, RecentTx, Snapshot, Transaction, Undid
from factors.network.edges import occurrence
from factors.patterns import detect_all
from factors.postings import undone
from factors.profile import PeerBaseline, Profile, peer_group
from factors.scoring import assess
from factors.standard import Standard
from factors.view import CustomerView

DAY_MS = 86_400_000
EDGE_K_KEEP_MS = 100 * DAY_MS  # a payment's edge occurrence is kept past the late-arrival window (90 days)
PROFILE_CACHE = 100_000  # parsed profiles kept between batches (a dict cleared when full: no clock, no LRU bookkeeping)


def digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Cause:
    kind: str  # transaction | profile | pattern | config | review
    ref: str


@dataclass(frozen=True, slots=True)
class RiskChange:
    cause: Cause
    occurred_ms: int
    previous: dict[str, Any] | None  # {level, score} or None for a first rating
    current: Assessment


@dataclass(frozen=True, slots=True)
class Alert:
    """A pattern hit after consolidation: a new alert, or a further occurrence of an open one.
    A network detection has no transaction of the customer's: `tx` is None, `occurred_ms` and
    `cause` say when and what, and `parties`/`role` name everyone in the pattern."""

    hit: PatternHit
    tx: Transaction | None
    alert_key: str
    occurrence: int
    first_ms: int
    occurred_ms: int = 0
    cause: Cause | None = None
    parties: tuple[dict[str, Any], ...] = ()
    role: str | None = None


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """An alert whose triggering leg was reversed: its latest occurrence no longer stands."""

    pattern: str
    alert_key: str
    occurrence: int
    severity: str
    original_tx_id: str
    tx: Transaction  # the reversal
    first_ms: int  # when the alert was first detected


@dataclass(frozen=True, slots=True)
class Report:
    tx: Transaction
    update: ReportUpdate
    report_key: str


@dataclass(frozen=True, slots=True)
class RatedItem:
    """One event to rate: a transaction, a profile update or a plain re-rating (config)."""

    status: str  # new | pend | done | late | stale | peek
    snapshot: Snapshot | None
    tx: Transaction | None = None
    profile: Profile | None = None
    business_day: int = 0
    event_ms: int = 0
    source: int = 0  # the shell's handle on the input message (opaque to the core)
    deletion: bool = False  # a profile deletion (tombstone)
    network: dict[str, Any] | None = None  # a network-stage event (aml.network-detections.v1) about this customer
    undid: Undid | None = None  # a reversal's or correction's: the leg it undid, as the state found it


@dataclass(slots=True)
class CustomerOutcome:
    customer_id: str
    state: dict[str, Any]
    changes: list[RiskChange] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    withdrawals: list[Withdrawal] = field(default_factory=list)
    pattern_events: list[Alert | Withdrawal] = field(default_factory=list)  # both, in the order they happened (one topic)
    reports: list[Report] = field(default_factory=list)
    late: list[RatedItem] = field(default_factory=list)
    stale_profiles: int = 0
    rescored: int = 0
    committed_items: list[RatedItem] = field(default_factory=list)
    # for the payment edges (factors.network.edges): a payment's identical legs before it in its
    # trail, when any; a reversal's original as (tx_id, event ms, occurrence) when it was a flow
    occurrences: dict[str, int] = field(default_factory=dict)
    reversed_legs: dict[str, tuple[str, int, int]] = field(default_factory=dict)


def _rank(standard: Standard, level: str | None) -> int:
    return -1 if level is None else standard.rank(level)


class Rater:
    """Rates the items of one customer against a standard; owns no I/O."""

    def __init__(
        self,
        standard: Standard,
        peers: dict[str, PeerBaseline] | None = None,
        trail_horizon_ms: int = 72 * 3_600_000,
        trail_max: int = 256,
        profiles: dict[tuple[str, Any], Profile] | None = None,
    ) -> None:
        self.standard = standard
        self.profiles = profiles if profiles is not None else {}
        self.peers = peers or {}
        self.trail_horizon_ms = trail_horizon_ms
        self.trail_max = trail_max
        self.lv_rules = rules_from(standard.large_value.model_dump(exclude_none=True))

    def rate(self, customer_id: str, committed: dict[str, Any], trail: tuple[RecentTx, ...], items: list[RatedItem]) -> CustomerOutcome:
        state = orjson.loads(orjson.dumps(committed))  # a working copy; the committed state stays as given
        out = CustomerOutcome(customer_id, state)
        self._profile = self._parse_profile(customer_id, state.get("profile"))
        self._profile_cache: dict[str, object] = {}  # profile-only factor measurements for this profile
        seqs = [r.seq for r in trail]
        for item in items:
            if item.status == "done":
                continue
            if item.status == "late":
                assert item.tx is not None
                out.late.append(item)
                if item.tx.tx_type in ("payment", "reversal"):
                    out.reports.extend(self._manual(customer_id, state, item))
                continue
            if item.status == "stale":
                out.stale_profiles += 1
                continue
            assert item.snapshot is not None
            if item.status != "peek":
                out.committed_items.append(item)
            if item.profile is not None:
                state["profile"] = item.profile.to_dict()
                self._profile = item.profile
                self._profile_cache = {}
            if item.deletion:
                # a tombstone carries no time: it is no earlier than the profile it deletes (a
                # customer without transactions has no watermark to date it by)
                deleted = (state.get("profile") or {}).get("updated_ms") or 0
                if deleted > item.event_ms:
                    item = replace(item, event_ms=deleted)
                state.pop("profile", None)
                self._profile = None
                self._profile_cache = {}
            # what this item sees of the trail depends on its own place in the sequence only: at
            # most trail_max entries up to it, none older than the horizon before its watermark
            # (the store may hold more or fewer, depending on when it was last trimmed)
            upto = bisect.bisect_right(seqs, item.snapshot.seq)
            start = max(0, bisect.bisect_left(seqs, item.snapshot.seq - self.trail_max + 1))
            since = item.snapshot.asof_ms - self.trail_horizon_ms
            while start < upto and trail[start].ts_ms < since:
                start += 1
            self._seen = trail[:upto]  # every entry up to this item: what reversals and corrections undid
            self._visible = trail[start:upto]  # where a reversal finds its original (as the state's script does)
            if item.tx is not None and item.status in ("new", "pend"):
                self._edge_identity(state, item, item.tx, out)
            self._rate_one(customer_id, state, item, behaviour(trail[start:upto], self._seen), out)
        return out

    def _edge_identity(self, state: dict[str, Any], item: RatedItem, tx: Transaction, out: CustomerOutcome) -> None:
        """What a payment edge's identity needs (factors.network.edges): a payment's occurrence
        (kept in the state while > 0, for the reversal that may undo it: "edge_k" tx_id -> [k,
        event ms], 100 days); a reversal's original, from the trail it sees or its original_ts."""
        assert item.snapshot is not None
        if tx.tx_type == "payment":
            k = occurrence(self._visible, item.snapshot.seq)
            if k:
                out.occurrences[tx.tx_id] = k
                kept = state.setdefault("edge_k", {})
                kept[tx.tx_id] = [k, tx.ts_ms]
                for old in [t for t, (_, ms) in kept.items() if ms < tx.ts_ms - EDGE_K_KEEP_MS]:
                    del kept[old]
        elif tx.tx_type == "reversal" and tx.original_tx_id:
            root = self._root(tx.original_tx_id)
            if root is not None and not root.kind:
                out.reversed_legs[tx.tx_id] = (root.tx_id, root.ts_ms, state.get("edge_k", {}).get(root.tx_id, [0])[0])
            elif root is None and tx.original_ts_ms is not None:
                out.reversed_legs[tx.tx_id] = (tx.original_tx_id, tx.original_ts_ms, state.get("edge_k", {}).get(tx.original_tx_id, [0])[0])

    def _parse_profile(self, customer_id: str, data: dict[str, Any] | None) -> Profile | None:
        """The stored profile as a record, parsed once per customer and profile version (the
        cache is the caller's, so it can outlive one batch)."""
        if not data:
            return None
        key = (customer_id, data.get("updated_ms"))
        parsed = self.profiles.get(key)
        if parsed is None:
            if len(self.profiles) >= PROFILE_CACHE:
                self.profiles.clear()
            parsed = self.profiles[key] = Profile.from_dict(data)
        return parsed

    def _view(self, customer_id: str, state: dict[str, Any], item: RatedItem, recent: tuple[RecentTx, ...]) -> CustomerView:
        profile = self._profile
        group = peer_group(profile.kind if profile else None, profile.industry if profile else None)
        assert item.snapshot is not None
        return CustomerView(
            customer_id,
            profile,
            item.tx,
            item.snapshot,
            recent,
            item.business_day,
            self.peers.get(group),
            dict(state.get("detections", {})),
            len(state.get("raised", [])),
            item.event_ms,
            ExposureMeasurement(**state["exposure"]) if state.get("exposure") else None,
        )

    def _rate_one(self, customer_id: str, state: dict[str, Any], item: RatedItem, recent: tuple[RecentTx, ...], out: CustomerOutcome) -> None:
        standard = self.standard
        view = self._view(customer_id, state, item, recent)
        before = assess(view, standard, self._profile_cache)
        out.rescored += 1
        cause = self._cause(customer_id, item)
        final = before
        posting = item.tx.tx_type if item.tx is not None else ""
        if item.network is not None:
            alerts = self._network(customer_id, state, item.network)
            out.alerts.extend(alerts)
            out.pattern_events.extend(alerts)
            if alerts or item.network.get("kind") == "exposure":
                view = self._view(customer_id, state, item, recent)  # the detection (or exposure) now counts
                final = assess(view, standard, self._profile_cache)
                if alerts and final.level != before.level:
                    cause = Cause("pattern", alerts[-1].alert_key)
        elif posting == "reversal":
            assert item.tx is not None
            self._undo(customer_id, state, view, item.tx, item.undid, out)
        elif posting == "correction":
            # the corrected leg, as if it had arrived with its amount now: the original's alerts
            # that it no longer brings about are withdrawn, and the ones it now does are raised
            assert item.tx is not None
            hits = detect_all(view, standard)
            self._undo(customer_id, state, view, item.tx, item.undid, out, frozenset(h.pattern for h in hits))
            alerts = self._alerts(customer_id, state, view, item.tx, [h for h in hits if h.pattern not in state.get("alerts", {})])
            out.alerts.extend(alerts)
            out.pattern_events.extend(alerts)
            if alerts:
                view = self._view(customer_id, state, item, recent)
                final = assess(view, standard, self._profile_cache)
                if final.level != before.level:
                    cause = Cause("pattern", alerts[-1].alert_key)
        elif item.tx is not None and posting in ("payment", ""):
            self._large_value(customer_id, state, view, item.tx, out)
            alerts = self._alerts(customer_id, state, view, item.tx)
            out.alerts.extend(alerts)
            out.pattern_events.extend(alerts)
            if alerts:
                view = self._view(customer_id, state, item, recent)  # detections now include these hits
                final = assess(view, standard, self._profile_cache)
                if final.level != before.level:
                    cause = Cause("pattern", alerts[-1].alert_key)
        self._apply_level(state, final, cause, item.event_ms, out)

    @staticmethod
    def _cause(customer_id: str, item: RatedItem) -> Cause:
        if item.tx is not None:
            return Cause("reversal" if item.tx.tx_type in ("reversal", "correction") else "transaction", item.tx.tx_id)
        if item.profile is not None:
            return Cause("profile", f"{customer_id}@{item.profile.updated_ms}")
        if item.deletion:
            return Cause("profile_deleted", f"{customer_id}@{item.event_ms}")
        if item.network is not None:
            return Cause("network", str(item.network.get("detection_key") or item.network.get("event_id")))
        return Cause("config", "")

    def _apply_level(self, state: dict[str, Any], assessment: Assessment, cause: Cause, event_ms: int, out: CustomerOutcome) -> None:
        """Upgrade at once; downgrade only after the cooling period (no flapping near a cut-off)."""
        standard = self.standard
        current = state.get("level")
        computed = assessment.level
        cooling_ms = int(standard.hysteresis.downgrade_cooling_days * DAY_MS)
        change = False
        if current is None or _rank(standard, computed) > _rank(standard, current):
            change = True
        elif computed == current:
            state.pop("pending_down", None)
        else:
            pending = state.get("pending_down")
            if pending is None:
                state["pending_down"] = {"since": event_ms}
            elif event_ms - pending["since"] >= cooling_ms:
                change = True
        if cause.kind == "config":
            cause = Cause("config", standard.model_version)
        if change:
            previous = {"level": current, "score": state.get("score")} if current is not None else None
            out.changes.append(RiskChange(cause, event_ms, previous, assessment))
            state.update(level=computed, since=event_ms)
            state.pop("pending_down", None)
            months = standard.review_months(computed)
            state["next_review"] = event_ms + int(months * 30.4375 * DAY_MS)
        state["score"] = assessment.score
        state["mv"] = standard.model_version
        state["rated"] = event_ms

    def _alerts(self, customer_id: str, state: dict[str, Any], view: CustomerView, tx: Transaction, hits: list[PatternHit] | None = None) -> list[Alert]:
        settings = self.standard.alerts
        period_ms = int(settings.monitoring_days * DAY_MS)
        consolidate = settings.consolidate
        open_alerts: dict[str, Any] = state.setdefault("alerts", {})
        detections: dict[str, int] = state.setdefault("detections", {})
        raised: list[int] = state.setdefault("raised", [])
        alerts = []
        for hit in detect_all(view, self.standard) if hits is None else hits:
            current = open_alerts.get(hit.pattern)
            consolidates = "*" in consolidate or hit.pattern in consolidate
            if current and consolidates and tx.ts_ms - current["first"] < period_ms:
                current["n"] += 1
                current["last"] = tx.ts_ms
                current["tx"] = tx.tx_id
                alerts.append(Alert(hit, tx, current["key"], current["n"], current["first"]))
            else:
                key = digest("alert", customer_id, hit.pattern, hit.key)
                open_alerts[hit.pattern] = {"key": key, "first": tx.ts_ms, "last": tx.ts_ms, "n": 1, "tx": tx.tx_id, "severity": hit.severity}
                if hit.severity in ("high", "critical"):
                    raised.append(tx.ts_ms)  # counts towards the repeated-reports hard rule
                alerts.append(Alert(hit, tx, key, 1, tx.ts_ms))
            detections[hit.pattern] = max(detections.get(hit.pattern, 0), tx.ts_ms)
        horizon = tx.ts_ms - int(self.standard.hard_rules.repeated_within_days * DAY_MS)
        state["raised"] = [t for t in raised if t >= horizon]
        return alerts

    def _network(self, customer_id: str, state: dict[str, Any], event: dict[str, Any]) -> list[Alert]:
        """A network-stage event about this customer. An exposure measurement is kept for the
        exposure factor; a detection becomes this customer's alert (its own role, every party
        named), consolidated like any alert within the monitoring period, and feeds the score."""
        occurred = event["occurred_ms"]
        if event.get("kind") == "exposure":
            e = event["exposure"]
            fen = round(e["exposure_cny"] * 100)
            state["exposure"] = {"measured_ms": occurred, "exposure_fen": fen, "counterparties": e["counterparties"], "window_days": e["window_days"]}
            return []
        window = (event["window_start_ms"], event["window_end_ms"])
        truncated = bool(event.get("tx_ids_truncated"))
        hit = PatternHit(event["pattern"], event["detection_key"], *window, event["metrics"], event["thresholds"], tuple(event["tx_ids"]), event["severity"], truncated)
        cause = Cause("network", event["detection_key"])
        open_alerts: dict[str, Any] = state.setdefault("alerts", {})
        detections: dict[str, int] = state.setdefault("detections", {})
        settings = self.standard.alerts
        current = open_alerts.get(hit.pattern)
        consolidates = "*" in settings.consolidate or hit.pattern in settings.consolidate
        if current and consolidates and occurred - current["first"] < int(settings.monitoring_days * DAY_MS):
            current["n"] += 1
            current["last"] = occurred
            current["tx"] = None
            alert = Alert(hit, None, current["key"], current["n"], current["first"], occurred, cause, tuple(event["parties"]), event.get("role"))
        else:
            key = digest("alert", customer_id, hit.pattern, hit.key)
            open_alerts[hit.pattern] = {"key": key, "first": occurred, "last": occurred, "n": 1, "tx": None, "severity": hit.severity}
            if hit.severity in ("high", "critical"):
                state.setdefault("raised", []).append(occurred)
            alert = Alert(hit, None, key, 1, occurred, occurred, cause, tuple(event["parties"]), event.get("role"))
        detections[hit.pattern] = max(detections.get(hit.pattern, 0), occurred)
        return [alert]

    def _undo(
        self, customer_id: str, state: dict[str, Any], view: CustomerView, tx: Transaction, undid: Undid | None, out: CustomerOutcome, still: frozenset[str] = frozenset()
    ) -> None:
        """A reversal or correction: the reports of the original's day are revised (or withdrawn
        when the day fell below the line), and the alerts the original triggered no longer stand."""
        assert tx.original_tx_id is not None
        original = self._root(tx.original_tx_id)
        if undid is None:  # not said by the state (a test's item): the trail's, else the contract's convention
            opposite = "out" if tx.direction == "in" else "in"
            undid = Undid(original.direction, original.is_cash, original.cross_border) if original else Undid(opposite, tx.is_cash, tx.cross_border)
        direction, is_cash, cross_border = undid.direction, undid.is_cash, undid.cross_border
        revisions = state.setdefault("lv", {})
        for update in revise(revisions, direction, is_cash, cross_border, self._kind(), view.business_day, view.snapshot.day, view.recent, self.lv_rules):
            out.reports.append(Report(tx, update, report_key(customer_id, update)))
        open_alerts: dict[str, Any] = state.get("alerts", {})
        detections: dict[str, int] = state.get("detections", {})
        undone = {tx.original_tx_id, original.tx_id if original else tx.original_tx_id}
        for pattern, current in list(open_alerts.items()):
            if current.get("tx") not in undone or pattern in still:  # `still`: patterns the corrected leg brings about too
                continue
            withdrawal = Withdrawal(pattern, current["key"], current["n"], current.get("severity", "medium"), current["tx"], tx, current["first"])
            out.withdrawals.append(withdrawal)
            out.pattern_events.append(withdrawal)
            if current["n"] <= 1:
                del open_alerts[pattern]
                detections.pop(pattern, None)  # the detection no longer feeds the score
                if current.get("severity") in ("high", "critical"):
                    raised = state.get("raised", [])
                    if current["first"] in raised:
                        raised.remove(current["first"])
            else:
                current["n"] -= 1
                current["tx"] = None

    def _root(self, tx_id: str) -> RecentTx | None:
        """The leg `tx_id` undoes, from the trail: itself when a flow or a return, the root of a
        chain of corrections (each correcting the one before) when a correction; None if absent."""
        for _ in range(16):
            entry = next((r for r in reversed(self._visible) if r.tx_id == tx_id), None)
            if entry is None or entry.kind != "k":
                return entry if entry is not None and entry.kind in ("", "t") else None
            tx_id = entry.ref
        return None

    def _kind(self) -> str:
        """The customer's kind for large-value rules: a customer without a profile is a natural person unless configured."""
        return self._profile.kind if self._profile else self.standard.large_value.unknown_profile_kind

    def _large_value(self, customer_id: str, state: dict[str, Any], view: CustomerView, tx: Transaction, out: CustomerOutcome) -> None:
        revisions = state.setdefault("lv", {})
        for update in reports(revisions, tx, self._kind(), view.business_day, view.snapshot.day, view.recent, self.lv_rules):
            out.reports.append(Report(tx, update, report_key(customer_id, update)))
        forget_before(revisions, view.business_day)

    def _manual(self, customer_id: str, state: dict[str, Any], item: RatedItem) -> list[Report]:
        """Manual reports for a leg older than the late-arrival window, or for a reversal of one
        (dated by its original_ts: the report of the original's day and direction is to be revised
        by hand, the reversal posted against the original's direction)."""
        assert item.tx is not None
        leg = item.tx
        if leg.tx_type == "reversal":
            leg = replace(leg, direction="out" if leg.direction == "in" else "in")
        updates = manual_reports(state.get("lv", {}), leg, self._kind(), item.business_day, self.lv_rules, self.standard.fx)
        return [Report(item.tx, update, report_key(customer_id, update)) for update in updates]


def behaviour(window: tuple[RecentTx, ...], seen: tuple[RecentTx, ...]) -> tuple[RecentTx, ...]:
    """The legs of a trail window that are the customer's behaviour, as they stand after the
    entries up to the window's end (`seen`): no returns, reversals or corrections; a reversed leg
    gone, a corrected one with the amount of the correction in force (factors.postings.undone)."""
    if not any(r.kind for r in seen):
        return window
    reversed_ids, in_force = undone((r.tx_id, "reversal" if r.kind == "v" else "correction", r.ref) for r in seen if r.kind in ("v", "k"))
    fixes = {r.tx_id: r for r in seen if r.kind == "k"}
    out = []
    for r in window:
        if r.kind or r.tx_id in reversed_ids:
            continue
        fix = fixes.get(in_force.get(r.tx_id, ""))
        out.append(replace(r, amount_fen=fix.amount_fen, amount=fix.amount, currency=fix.currency, round_amount=fix.round_amount) if fix else r)
    return tuple(out)


def report_key(customer_id: str, update: ReportUpdate) -> str:
    return digest("large_value", customer_id, update.rule.code, update.direction, str(update.business_day))
