"""The filing stage: turns large-value report events, analysts' decisions and the centre's
receipts into report files and statuses. Shared by the worker (Kafka) and `filings render`.

Exactly-once in effect: every file name comes from `FilingStore.allocate` keyed by what the
file is (the report and its revision, the case and its report number), file bytes depend only
on the inputs, and a pending item is removed only after its file and status are stored. A
redelivered or retried input therefore rewrites the same bytes under the same name, or finds the
work done; never a second file or a second sequence number.

Statuses (kind large_value / suspicious), open ones count towards the deadline metrics:
    open:   waiting_transactions, missing_identity, manual_required, leg_mismatch, invalid,
            needs_correction, consolidating, waiting_evidence
    closed: written, packed, accepted, withdrawn_unfiled, dismissed
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from factors.calendar import BusinessCalendar
from factors.money import FxTable
from filings.calendar import WorkingCalendar, end_of_day_ms, local_date
from filings.config import FilingConfig
from filings.errors import CalendarGap, InvalidFiling
from filings.identity import Identity
from filings.legs import select
from filings.model import Leg, ReportEvent
from filings.naming import Name
from filings.outbox import Outbox
from filings.receipts import Receipt
from filings.schema import validate
from filings.store import FilingStore
from filings.xml import Customer, build_hvtr

log = logging.getLogger("amlstream.filings")
OPEN = frozenset(("waiting_transactions", "missing_identity", "manual_required", "leg_mismatch", "invalid", "needs_correction", "consolidating", "waiting_evidence"))
KINDS = ("large_value", "suspicious", "first_rating")


@dataclass
class DeadLetter:
    code: str
    detail: str
    customer_id: str | None
    source: dict[str, Any] | None  # {topic, partition, offset, key, value} of the input, when known


@dataclass
class Outcome:
    written: list[str] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    calendar_gaps: int = 0


class Filer:
    def __init__(
        self,
        store: FilingStore,
        config: FilingConfig,
        fx: FxTable,
        business: BusinessCalendar,
        calendar: WorkingCalendar,
        outbox: Outbox,
        archive_days: int = 100,
        own_bank: tuple[str, ...] = (),
    ) -> None:
        self.own_bank = own_bank  # the standard's large_value.own_bank: own-account moves are at this bank only
        self.store = store
        self.config = config
        self.fx = fx
        self.business = business
        self.calendar = calendar
        self.outbox = outbox
        self.archive_days = archive_days
        self.outcome = Outcome()
        # first ratings are counted only where risk changes are read (the worker; `render` with
        # --risk-changes): without them no one can tell whether a customer was rated
        self.track_first_ratings = True

    def drain(self) -> Outcome:
        out, self.outcome = self.outcome, Outcome()
        return out

    # --- deadlines ---------------------------------------------------------------------------------
    def due_ms(self, start: date, working_days: int) -> tuple[int, str]:
        """(end of the due day in epoch ms, the due date) or (0, reason) when the calendar has a gap:
        an unknown deadline counts as overdue, so it is seen at once, never guessed."""
        try:
            due = self.calendar.add_working_days(start, working_days)
        except CalendarGap as gap:
            self.outcome.calendar_gaps += 1
            log.error("deadline unknown: %s", gap)
            return 0, f"unknown ({gap})"
        return end_of_day_ms(due, self.config.timezone), due.isoformat()

    # --- inputs that only update state -----------------------------------------------------------
    async def on_leg(self, leg: Leg) -> None:
        await self.store.add_leg(leg, self.archive_days)

    async def on_profile(self, customer_id: str, profile: dict[str, Any] | None) -> None:
        """`profile`: {kind, country, occupation, industry, updated_ms, onboarded_ms, identity}."""
        old = await self.store.profile(customer_id)
        if profile is not None and old is not None and profile["updated_ms"] < old["updated_ms"]:
            return  # an older profile than the one kept
        await self.store.set_profile(customer_id, profile)
        if profile is None:
            return
        onboarded = profile.get("onboarded_ms")
        since = self.config.deadlines.first_rating_tracked_since
        if self.track_first_ratings and onboarded is not None and not await self.store.rated(customer_id):
            start = local_date(onboarded, self.config.timezone)
            if since is None or start >= since:
                due_ms, _ = self.due_ms(start, self.config.deadlines.first_rating_working_days)
                await self.store.set_open("first_rating", customer_id, due_ms)
        await self.retry_corrections(customer_id, profile["updated_ms"])

    async def on_risk_change(self, customer_id: str, occurred_ms: int) -> None:
        await self.store.mark_rated(customer_id, occurred_ms)
        await self.store.set_open("first_rating", customer_id, None)

    async def customer(self, customer_id: str) -> Customer | None:
        profile = await self.store.profile(customer_id)
        if not profile or not profile.get("identity"):
            return None
        return Customer(
            customer_id, profile["kind"], Identity.model_validate(profile["identity"]), profile.get("country"), profile.get("occupation"), profile.get("industry")
        )

    # --- large-value reports -------------------------------------------------------------------------
    async def on_report(self, event: ReportEvent, source: dict[str, Any] | None = None) -> None:
        await self.store.pend("reports", event.event_id, {"event": event.model_dump(), "source": source})

    async def process_reports(self, file_date: str) -> None:
        by_key: dict[str, list[tuple[str, ReportEvent, Any]]] = {}
        manual: list[tuple[str, ReportEvent, Any]] = []
        for item_id, doc in (await self.store.pending("reports")).items():
            event = ReportEvent.model_validate(doc["event"])
            if event.action == "manual":  # an obligation of its own: never superseded by a revision
                manual.append((item_id, event, doc.get("source")))
            else:
                by_key.setdefault(event.report_key, []).append((item_id, event, doc.get("source")))
        for item_id, event, _ in sorted(manual, key=lambda i: (i[1].business_date, i[1].customer_id, i[1].report_key, i[0])):
            await self._manual(event)
            await self.store.unpend("reports", item_id)
        # a stable order (not the hash's), so the same inputs always get the same numbers
        for _, items in sorted(by_key.items(), key=lambda kv: (kv[1][0][1].business_date, kv[1][0][1].customer_id, kv[1][0][1].rule_code, kv[1][0][1].direction, kv[0])):
            items.sort(key=lambda i: (i[1].revision, i[1].action != "report"))
            *older, (item_id, event, source) = items
            for old_id, _, _ in older:  # a later revision supersedes them
                await self.store.unpend("reports", old_id)
            if await self._report(event, source, file_date):
                await self.store.unpend("reports", item_id)

    async def _manual(self, event: ReportEvent) -> None:
        """`action: manual`: a leg older than the customer stage's state changed a day it can no
        longer count, so a person completes the report. Kept apart from the day's filed report
        (`lv:{report_key}:manual`, its status untouched), each late leg named once."""
        fid = f"lv:{event.report_key}:manual"
        filing = await self.store.filing(fid) or _new_report(fid, event, late_tx_ids=[])
        late = list(dict.fromkeys([*filing["late_tx_ids"], *event.tx_ids]))
        if filing.get("status") == "manual_required" and late == filing["late_tx_ids"]:
            return  # a redelivery
        filing["late_tx_ids"] = late
        due_ms, filing["due"] = self.due_ms(date.fromisoformat(event.business_date), self.config.deadlines.large_value_working_days)
        filed = await self.store.filing(f"lv:{event.report_key}")
        about = f"; the day's report is {filed['status']} ({filed.get('file') or 'no file'})" if filed else ""
        note = f"leg(s) {', '.join(late)} arrived older than the customer stage's state: a manual {event.rule_code} report for {event.business_date} is needed{about}"
        await self._set(filing, "manual_required", note, due_ms)

    async def _report(self, event: ReportEvent, source: Any, file_date: str) -> bool:
        """Handle one report event; True when it is done with (filed, or parked in a final status)."""
        fid = f"lv:{event.report_key}"
        filing = await self.store.filing(fid) or _new_report(fid, event, last_action=None)
        if filing["revision"] >= event.revision and filing["status"] not in OPEN - {"needs_correction"}:
            return True  # this revision or a later one is handled already (redelivery)
        due_ms, due = self.due_ms(date.fromisoformat(event.business_date), self.config.deadlines.large_value_working_days)
        filing["due"] = due
        filed = filing.get("last_action") in ("N", "C")
        if event.action == "withdraw":
            filing["revision"] = event.revision
            if not filed:
                await self._set(filing, "withdrawn_unfiled", "withdrawn before any file was written", None)
                return True
            # D: the filed report deleted, under the date and number of its N file, with the content it was filed with
            return await self._write_large_value(filing, "D", filing["event"], [Leg(**leg) for leg in filing["legs"]], file_date, source, due_ms)
        if event.cause_tx is None:
            detail = f"report {event.report_key} revision {event.revision}: its cause {event.cause} names no transaction, so its legs cannot be selected"
            self.outcome.dead_letters.append(DeadLetter("invalid_report", detail, event.customer_id, source))
            await self._set(filing, "invalid", detail, due_ms)
            return True
        found = await self.store.legs(event.customer_id, [event.cause_tx])  # a reversal or correction may be posted on another day
        cause = found.get(event.cause_tx)
        if cause is None:
            await self._set(filing, "waiting_transactions", f"the leg archive does not hold {event.cause_tx} yet", due_ms)
            return False
        day_legs = await self.store.legs_of_day(event.customer_id, _epoch_day(event.business_date))  # business days are local dates counted from 1970-01-01
        undoings = await self.store.undoings(event.customer_id, [leg.tx_id for leg in day_legs])
        profile = await self.store.profile(event.customer_id) or {}
        selection = select(event, day_legs, cause.seq, undoings, profile.get("accounts") or (), self.fx, self.own_bank)
        if selection.problem:
            self.outcome.dead_letters.append(
                DeadLetter("filing_leg_mismatch", f"report {event.report_key} revision {event.revision}: {selection.problem}", event.customer_id, source)
            )
            await self._set(filing, "leg_mismatch", selection.problem, due_ms)
            return True
        if await self.customer(event.customer_id) is None:
            await self._set(filing, "missing_identity", "the customer profile has no identity: no file is written with invented data", due_ms)
            return False
        if selection.set_aside:
            log.info("report %s revision %s: undoing(s) %s set aside, the event does not count them", event.report_key, event.revision, ", ".join(selection.set_aside))
        filing["revision"] = event.revision
        filing["set_aside"] = list(selection.set_aside)  # reversals or corrections the customer stage refused: the audit trail says which
        return await self._write_large_value(filing, "C" if filed else "N", event.model_dump(), list(selection.legs), file_date, source, due_ms)

    async def _write_large_value(self, filing: dict[str, Any], action: str, event: dict[str, Any], legs: list[Leg], file_date: str, source: Any, due_ms: int) -> bool:
        customer = await self.customer(filing["customer_id"])
        if customer is None:
            await self._set(filing, "missing_identity", "the customer profile has no identity", due_ms)
            return False
        data = build_hvtr(self.config, self.fx, customer, event["rule_code"], event["business_date"], legs)
        try:
            validate(data, "HVTR")
        except InvalidFiling as exc:
            self.outcome.dead_letters.append(DeadLetter("filing_schema_invalid", f"{filing['id']}: {exc}", filing["customer_id"], source))
            await self._set(filing, "invalid", str(exc), due_ms)
            return True
        name = await self._name(filing, action, "BH", f"{filing['id']}:{event['revision']}", file_date)
        self.outbox.write(name, data)
        await self.store.set_owner(name.key, filing["id"])
        filing.update(file=name.xml, key=name.key, last_action=action, event=event, legs=[_leg_dict(leg) for leg in legs])
        self.outcome.written.append(name.xml)
        aside = f"; undoing(s) the customer stage refused, not applied: {', '.join(filing['set_aside'])}" if action != "D" and filing.get("set_aside") else ""
        await self._set(filing, "written", f"{action} file written: {len(legs)} transaction(s){aside}", None)
        return True

    async def _name(self, filing: dict[str, Any], action: str, kind: str, purpose: str, file_date: str) -> Name:
        """N: a new sequence number (once per purpose); C and D: the corrected file's date and number."""
        if action != "N" and filing.get("key"):
            return Name.parse("N" + filing["key"]).as_action(action)
        seq = await self.store.allocate(f"{purpose}:N", f"{kind}:{file_date}")
        return Name("N", kind, self.config.institution.code, file_date, seq)

    async def _set(self, filing: dict[str, Any], status: str, note: str, due_ms: int | None) -> None:
        filing["status"] = status
        filing["detail"] = note
        await self.store.put_filing(filing, note, due_ms if status in OPEN else None)

    # --- receipts and corrections ----------------------------------------------------------------
    async def apply_receipt(self, receipt: Receipt) -> list[str]:
        """Move the statuses of the filings a receipt answers; returns their ids."""
        answered = receipt.answered
        files = await self.outbox.package_files(self.store, answered.stem)
        names = [Name.parse(f) for f in files] if files is not None else [answered]
        flagged = {n.key for n in receipt.files}
        arrived = datetime.strptime(receipt.arrived, "%Y%m%d%H%M%S").date() if receipt.arrived else None
        touched = []
        for name in names:
            fid = await self.store.owner(name.key)
            filing = await self.store.filing(fid) if fid else None
            if filing is None:
                log.warning("receipt %s names %s, which this stage did not write", receipt.kind, name.xml)
                continue
            if receipt.kind == "FDSC" or (flagged and name.key not in flagged):
                await self._set(filing, "accepted", f"{receipt.kind}: accepted", None)
            elif receipt.deadline:  # a manual correction notice names its own deadline
                deadline = datetime.strptime(receipt.deadline, "%Y%m%d").date()
                due_ms, due = end_of_day_ms(deadline, self.config.timezone), deadline.isoformat()
                filing["due"] = due
                filing["receipt_at"] = receipt.arrived
                await self._set(filing, "needs_correction", f"{receipt.kind} {receipt.result}: {receipt.detail}", due_ms)
            else:
                # ASSUMED: a correction is due like a report, 5 working days after the receipt arrived
                due_ms, due = self.due_ms(arrived or date.today(), self.config.deadlines.large_value_working_days)
                filing["due"] = due
                filing["receipt_at"] = receipt.arrived
                await self._set(filing, "needs_correction", f"{receipt.kind} {receipt.result}: {receipt.detail}", due_ms)
            touched.append(filing["id"])
        return touched

    async def retry_corrections(self, customer_id: str, profile_updated_ms: int | None = None, force: bool = False) -> list[str]:
        """Write the C file of each of the customer's filings that needs correction, once the data
        was fixed (a profile update after the receipt arrived), or when forced by an operator."""
        written = []
        for fid in await self.store.customer_filings(customer_id):
            filing = await self.store.filing(fid)
            if not filing or filing["status"] != "needs_correction" or not filing.get("key"):
                continue
            if not force and not _after_receipt(profile_updated_ms, filing.get("receipt_at"), self.config.timezone):
                continue
            from filings.suspicious import rewrite_suspicious  # here: filings.suspicious builds on this module

            legs = [Leg(**leg) for leg in filing["legs"]]
            today = package_date(timezone=self.config.timezone)
            if filing["kind"] == "large_value":
                ok = await self._write_large_value(filing, "C", filing["event"], legs, today, None, 0)
            else:
                ok = await rewrite_suspicious(self, filing, "C", today)
            if ok:
                written.append(filing["file"])
        return written

    async def mark_packed(self, packages: list[tuple[str, list[str]]]) -> None:
        for package, files in packages:
            for file in files:
                fid = await self.store.owner(Name.parse(file).key)
                filing = await self.store.filing(fid) if fid else None
                if filing and filing.get("file") == file and filing["status"] == "written":
                    filing["package"] = package
                    await self._set(filing, "packed", f"packed in {package}", None)

    # --- metrics -----------------------------------------------------------------------------------
    async def deadline_counts(self, now_ms: int) -> dict[str, tuple[int, int]]:
        """(open and not yet due, overdue) per kind, against `now_ms` (wall clock, operational)."""
        out = {}
        for kind in KINDS if self.track_first_ratings else KINDS[:2]:
            items = await self.store.open_items(kind)
            overdue = sum(1 for _, due in items if due <= now_ms)
            out[kind] = (len(items) - overdue, overdue)
        return out


def _leg_dict(leg: Leg) -> dict[str, Any]:
    return asdict(leg)


def _epoch_day(iso_date: str) -> int:
    return (date.fromisoformat(iso_date) - date(1970, 1, 1)).days


def _after_receipt(updated_ms: int | None, receipt_at: str | None, timezone: str) -> bool:
    if updated_ms is None:
        return False
    if not receipt_at:
        return True
    arrived = datetime.strptime(receipt_at, "%Y%m%d%H%M%S").replace(tzinfo=ZoneInfo(timezone))
    return updated_ms >= int(arrived.timestamp() * 1000)


def package_date(now: datetime | None = None, timezone: str = "Asia/Shanghai") -> str:
    """Today's date in the bank's timezone, YYYYMMDD: the submission date of new files."""
    return (now or datetime.now(ZoneInfo(timezone))).astimezone(ZoneInfo(timezone)).strftime("%Y%m%d")


__all__ = ["DeadLetter", "Filer", "Outcome", "package_date"]


def _new_report(fid: str, event: ReportEvent, **more: Any) -> dict[str, Any]:
    """A large-value filing record before anything was filed for it."""
    return {
        "id": fid,
        "kind": "large_value",
        "customer_id": event.customer_id,
        "report_key": event.report_key,
        "rule_code": event.rule_code,
        "direction": event.direction,
        "business_date": event.business_date,
        "revision": 0,
        "file": None,
        **more,
    }
