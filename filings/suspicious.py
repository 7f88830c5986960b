"""Suspicious transaction reports from analysts' decisions, with the seed's consolidation rule.

Rule (training material, 可疑交易报告): for a customer already reported, repeat suspicious
activity within a monitoring period of at most 3 months need not be reported each time; the
institution analyses what accumulated over the period and then reports once. Here:
- the first confirmed decision for a customer is reported at once (TORP 1), due within
  `suspicious_working_days` working days of the decision, and opens a period of
  `consolidation_days` days;
- further confirmations inside the period are collected (status `consolidating`) and reported
  together when the period ends, as one continuing report (TORP n, ORXN = the first file),
  due within `suspicious_working_days` working days of the period's end;
- an urgent decision (特别紧急, e.g. terrorist financing) is never held back: reported at once;
- a dismissed decision is recorded, nothing is filed.
Transactions come from the alerts' evidence (their tx_ids) and the decision's own tx_ids, with
their details from the leg archive; missing evidence or identity holds the report (visible in
the status), never a file with invented data.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from filings.calendar import local_date
from filings.errors import InvalidFiling
from filings.model import Decision, Leg
from filings.schema import validate
from filings.service import DeadLetter, Filer, _leg_dict
from filings.xml import SuspiciousCase, amount3, build_bstr

DAY_MS = 86_400_000


async def on_decision(filer: Filer, decision: Decision, source: dict[str, Any] | None = None) -> None:
    await filer.store.pend("decisions", decision.decision_id, {"decision": decision.model_dump(mode="json"), "source": source})


async def process_decisions(filer: Filer, file_date: str, now_ms: int) -> None:
    pending = await filer.store.pending("decisions")
    items = sorted(((Decision.model_validate(d["decision"]), d.get("source"), k) for k, d in pending.items()), key=lambda i: (i[0].decided_ms, i[0].decision_id))
    held: set[str] = set()  # a customer's decisions are taken in order: none overtakes a held one
    for decision, source, item_id in items:
        if decision.customer_id in held:
            continue
        if await _decide(filer, decision, source, file_date):
            await filer.store.unpend("decisions", item_id)
        else:
            held.add(decision.customer_id)
    await close_periods(filer, file_date, now_ms)


async def _decide(filer: Filer, d: Decision, source: Any, file_date: str) -> bool:
    cid = d.customer_id
    if d.decision == "dismissed":
        filing = {"id": f"str:{cid}:{d.decision_id}", "kind": "suspicious", "customer_id": cid, "decision_ids": [d.decision_id], "revision": 0, "file": None}
        await filer._set(filing, "dismissed", f"dismissed by {d.analyst or 'an analyst'}", None)
        return True
    case = await filer.store.case(cid)
    decided_day = local_date(d.decided_ms, filer.config.timezone)
    if case and d.decided_ms < case["period_end_ms"] and not d.urgent:
        if d.decision_id in case["pending"]:
            return True  # redelivered
        case["pending"].append(d.decision_id)
        case["decisions"][d.decision_id] = d.model_dump(mode="json")
        await filer.store.put_case(cid, case)
        end_day = local_date(case["period_end_ms"], filer.config.timezone)
        due_ms, due = filer.due_ms(end_day, filer.config.deadlines.suspicious_working_days)
        filing = await filer.store.filing(_next_id(case)) or _new_filing(cid, _next_id(case), case["pending"])
        filing.update(due=due, decision_ids=list(case["pending"]))
        await filer._set(filing, "consolidating", f"repeat activity within the monitoring period: reported together when it ends ({end_day})", due_ms)
        return True
    fid = f"str:{cid}:{d.decision_id}"
    filing = await filer.store.filing(fid) or _new_filing(cid, fid, [d.decision_id])
    if filing.get("file"):
        return True  # written already (redelivery)
    due_ms, due = filer.due_ms(decided_day, filer.config.deadlines.suspicious_working_days)
    filing["due"] = due
    filing["render"] = {"decisions": [d.model_dump(mode="json")], "times_reported": 1, "first_file": None, "report_number": d.decision_id}
    if not await _write(filer, filing, "N", file_date, source, due_ms):
        return False
    if filer.config.suspicious.consolidation_days > 0 and not d.urgent:
        new_case = {
            "case_id": d.decision_id,
            "customer_id": cid,
            "first_file": filing["file"],
            "reports": 1,
            "period_end_ms": d.decided_ms + filer.config.suspicious.consolidation_days * DAY_MS,
            "pending": [],
            "decisions": {},
        }
        await filer.store.put_case(cid, new_case)
        await filer.store.track_case(cid, True)
    return True


def _next_id(case: dict[str, Any]) -> str:
    return f"str:{case['customer_id']}:{case['case_id']}:{case['reports'] + 1}"


def _new_filing(cid: str, fid: str, decision_ids: list[str]) -> dict[str, Any]:
    return {"id": fid, "kind": "suspicious", "customer_id": cid, "decision_ids": decision_ids, "revision": 0, "file": None, "last_action": None}


async def close_periods(filer: Filer, file_date: str, now_ms: int) -> None:
    """File the continuing report of every monitoring period that has ended at `now_ms`."""
    for cid in await filer.store.open_cases():
        case = await filer.store.case(cid)
        if case is None:
            await filer.store.track_case(cid, False)
            continue
        if now_ms < case["period_end_ms"]:
            continue
        if case["pending"]:
            fid = _next_id(case)
            filing = await filer.store.filing(fid) or _new_filing(cid, fid, case["pending"])
            decisions = [case["decisions"][k] for k in case["pending"]]
            filing["render"] = {
                "decisions": decisions,
                "times_reported": case["reports"] + 1,
                "first_file": case["first_file"],
                "report_number": f"{case['case_id']}-{case['reports'] + 1}",
            }
            end_day = local_date(case["period_end_ms"], filer.config.timezone)
            due_ms, due = filer.due_ms(end_day, filer.config.deadlines.suspicious_working_days)
            filing["due"] = due
            if not filing.get("file") and not await _write(filer, filing, "N", file_date, None, due_ms):
                continue  # held (evidence or identity missing): retried on the next pass
        await filer.store.put_case(cid, None)
        await filer.store.track_case(cid, False)


async def rewrite_suspicious(filer: Filer, filing: dict[str, Any], action: str, file_date: str) -> bool:
    return await _write(filer, filing, action, file_date, None, 0)


async def _write(filer: Filer, filing: dict[str, Any], action: str, file_date: str, source: Any, due_ms: int) -> bool:
    render = filing["render"]
    decisions = [Decision.model_validate(d) for d in render["decisions"]]
    cid = filing["customer_id"]
    legs = await _evidence(filer, cid, decisions)
    if isinstance(legs, str):
        await filer._set(filing, "waiting_evidence", legs, due_ms)
        return False
    customer = await filer.customer(cid)
    if customer is None:
        await filer._set(filing, "missing_identity", "the customer profile has no identity: no file is written with invented data", due_ms)
        return False
    unknown = sorted({c for d in decisions for c in d.crime_types} - set(filer.config.codes.crime_types))
    if unknown:
        filer.outcome.dead_letters.append(DeadLetter("invalid_decision", f"crime type(s) {unknown} not in codes.crime_types", cid, source))
        await filer._set(filing, "invalid", f"crime type(s) {unknown} not in the configured table", due_ms)
        return True
    case = SuspiciousCase(
        report_number=render["report_number"],
        urgent=any(d.urgent for d in decisions),
        times_reported=render["times_reported"],
        first_file=render["first_file"],
        behaviour=_behaviour(decisions, legs, render.get("patterns", [])),
        analysis="\n".join(d.analysis or "" for d in decisions),
        crime_types=tuple(dict.fromkeys(c for d in decisions for c in d.crime_types)),
        characteristic_codes=tuple(dict.fromkeys(c for d in decisions for c in d.characteristic_codes)),
        measures="; ".join(d.measures for d in decisions if d.measures) or None,
    )
    data = build_bstr(filer.config, filer.fx, customer, case, legs)
    try:
        validate(data, "BSTR")
    except InvalidFiling as exc:
        filer.outcome.dead_letters.append(DeadLetter("filing_schema_invalid", f"{filing['id']}: {exc}", cid, source))
        await filer._set(filing, "invalid", str(exc), due_ms)
        return True
    name = await filer._name(filing, action, "BS", filing["id"], file_date)
    filer.outbox.write(name, data)
    await filer.store.set_owner(name.key, filing["id"])
    filing.update(file=name.xml, key=name.key, last_action=action, legs=[_leg_dict(leg) for leg in legs])
    filer.outcome.written.append(name.xml)
    await filer._set(filing, "written", f"{action} file written: {len(legs)} transaction(s), TORP {case.times_reported}", None)
    return True


async def _evidence(filer: Filer, cid: str, decisions: list[Decision]) -> list[Leg] | str:
    """The legs the decisions confirm (alerts' evidence + named tx_ids), oldest first, or why not yet."""
    tx_ids: list[str] = []
    for d in decisions:
        for key in d.alert_keys:
            alert = await filer.store.alert(key)
            if alert is None:
                return f"alert {key} not received yet"
            tx_ids.extend(alert["tx_ids"])
        tx_ids.extend(d.tx_ids)
    tx_ids = list(dict.fromkeys(tx_ids))
    found = await filer.store.legs(cid, tx_ids)
    missing = [t for t in tx_ids if t not in found]
    if missing:
        return f"{len(missing)} of {len(tx_ids)} transaction(s) not in the leg archive, e.g. {missing[0]}"
    return sorted(found.values(), key=lambda leg: (leg.ts_ms, leg.seq))


def _behaviour(decisions: list[Decision], legs: list[Leg], patterns: list[str]) -> str:
    given = [d.behaviour for d in decisions if d.behaviour]
    if given:
        return "\n".join(given)
    total = sum(Decimal(leg.amount_fen) for leg in legs) / 100
    return f"{len(legs)} 笔交易，折合人民币 {amount3(total)} 元，确认为可疑交易的决定 {len(decisions)} 项。"
