"""The field cases (tests/integration/cases/, copied from ../shared/cases): inputs that broke
earlier versions where banks hurt most, run through `replay` (the worker's engine) on the real
Redis, with the outcomes their README expects. Each case is one instance of a kind of fault; the
tests around them in tests/integration/test_state_*.py cover the kind."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import orjson
import pytest

from streams.model import load_model
from streams.replay import replay
from streams.settings import load_settings
from tests.services import redis_url

CASES = Path(__file__).parent / "cases"
CASE_DB = 10  # no other test uses it


def read(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()] if path.exists() else []


@pytest.fixture
def run_case(local_services, tmp_path):
    """run_case(name, batch_size=500, skew_s=None, transactions=None, customers=None, messages=False | True | a file, config=None)
    -> outputs by kind, in order, and the customers' final rating states ("final-states")."""
    from redis.asyncio import Redis

    async def run(
        name: str,
        *,
        batch_size: int = 500,
        skew_s: float | None = None,
        transactions: Path | None = None,
        customers: Path | None = None,
        messages: bool | Path = False,
        config: Path | None = None,
    ) -> dict[str, list[dict]]:
        client = Redis.from_url(redis_url(CASE_DB))
        await client.flushdb()
        await client.aclose()
        env = {"AMLSTREAM_REDIS_URL": redis_url(CASE_DB)}
        if skew_s is not None:
            env["AMLSTREAM_MAX_CLOCK_SKEW_S"] = str(skew_s)
        settings = load_settings(env)
        case = CASES / name
        customers = customers or case / "customers.jsonl"
        out = tmp_path / f"{name}-{batch_size}-{skew_s}-{len(list(tmp_path.iterdir()))}"
        result = await replay(
            settings,
            load_model(config),
            None if messages else str(transactions or case / "transactions.jsonl"),
            str(customers) if customers.exists() and not messages else None,
            out,
            batch_size=batch_size,
            messages=str(messages if isinstance(messages, Path) else case / "messages.jsonl") if messages else None,
        )
        outputs = {kind: read(out / f"{kind}.jsonl") for kind in ("risk-changes", "suspicious-patterns", "large-value-reports", "dead-letter")}
        return {**outputs, "final-states": result.final}  # type: ignore[dict-item]

    return run


def reports_of(outputs: dict[str, list[dict]], customer: str, rule: str = "0501", direction: str = "in") -> list[dict]:
    return [r for r in outputs["large-value-reports"] if r["customer_id"] == customer and r["rule_code"] == rule and r["direction"] == direction]


def last_by_date(reports: list[dict]) -> dict[str, dict]:
    latest: dict[str, dict] = {}
    for r in reports:
        if r["business_date"] not in latest or r["revision"] > latest[r["business_date"]]["revision"]:
            latest[r["business_date"]] = r
    return latest


def assert_ids_identify_content(outputs: dict[str, list[dict]]) -> None:
    """No two events that say different things share an event_id."""
    by_id: dict[str, bytes] = {}
    for kind, events in outputs.items():
        if kind == "final-states":
            continue
        for e in events:
            content = orjson.dumps({k: v for k, v in e.items() if k != "emitted_at"}, option=orjson.OPT_SORT_KEYS)
            assert by_id.setdefault(e["event_id"], content) == content


async def test_future_timestamp_never_moves_the_clock(run_case, tmp_path):
    out = await run_case("future-timestamp")
    [dead] = out["dead-letter"]
    assert dead["error_code"] == "future_timestamp" and orjson.loads(dead["payload"])["tx_id"] == "F-2"
    days = last_by_date(reports_of(out, "C-F1"))
    assert {d: (r["total_cny"], r["tx_count"]) for d, r in days.items()} == {"2026-11-02": (60_000.0, 2), "2026-11-03": (90_000.0, 2)}
    # the alerts are those of the same stream without the bad leg
    clean = tmp_path / "clean.jsonl"
    clean.write_bytes(b"\n".join(line for line in (CASES / "future-timestamp" / "transactions.jsonl").read_bytes().splitlines() if b'"F-2"' not in line))
    without = await run_case("future-timestamp", transactions=clean)
    patterns = [(a["pattern"], a["metrics"]) for a in out["suspicious-patterns"]]
    assert patterns == [(a["pattern"], a["metrics"]) for a in without["suspicious-patterns"]]
    assert {"structuring", "same_day_cash"} <= {p for p, _ in patterns}


@pytest.mark.parametrize("skew_s", [None, 200 * 86_400.0])
async def test_late_postings_revise_their_day_and_never_lapse(run_case, skew_s):
    """With the default skew, replay's reference clock (the stream's high-water mark) sets aside
    the legs several days ahead of the rest and nothing arrives late; with a 200-day skew the
    clocks move and the deposits arrive 4, 4, 10 and 105 days late. The reports agree."""
    out = await run_case("late-posting-large-value", skew_s=skew_s)
    assert_ids_identify_content(out)
    l1 = reports_of(out, "C-L1")
    assert [(r["revision"], r["total_cny"], r["tx_count"]) for r in l1] == [(1, 60_000.0, 3), (2, 80_000.0, 4)]
    [l2] = reports_of(out, "C-L2")
    assert (l2["revision"], l2["total_cny"], l2["tx_count"]) == (1, 55_000.0, 2)
    l3 = reports_of(out, "C-L3")
    assert [(r["revision"], r["total_cny"], r["tx_count"]) for r in l3] == [(1, 60_000.0, 1), (2, 115_000.0, 2)]
    assert l3[0]["event_id"] != l3[1]["event_id"]
    [l4] = reports_of(out, "C-L4")
    dead = {orjson.loads(d["payload"])["tx_id"]: d["error_code"] for d in out["dead-letter"]}
    if skew_s is None:
        assert (l4["action"], l4["revision"], l4["total_cny"]) == ("report", 1, 60_000.0)
        assert dead == {"L-4": "future_timestamp", "M-2": "future_timestamp", "N-2": "future_timestamp", "P-1": "future_timestamp"}
    else:
        # 105 days late: past the late-arrival window, but the obligation does not lapse
        assert (l4["action"], l4["revision"], l4["total_cny"], l4["tx_ids"]) == ("manual", 0, 60_000.0, ["P-2"])
        assert dead == {"P-2": "too_late"}
        assert l1[1]["tx_ids_truncated"] is True  # L-1..L-3 left the 72-hour trail; the totals did not


@pytest.mark.parametrize("batch_size", [500, 1])
async def test_late_copies_are_separate_dead_letters(run_case, batch_size):
    out = await run_case("late-copies-in-one-batch", batch_size=batch_size)
    dead = out["dead-letter"]
    assert [d["error_code"] for d in dead] == ["too_late", "too_late"]
    assert len({d["source"]["offset"] for d in dead}) == 2
    assert len({d["payload"] for d in dead}) == 2
    assert len({d["event_id"] for d in dead}) == 2


async def test_any_customer_id_works(run_case):
    out = await run_case("customer-id-with-braces")
    assert out["dead-letter"] == []
    assert {e["customer_id"] for e in out["risk-changes"]} == {"C-OK-1", "}C-1001", "C-OK-2"}
    [report] = reports_of(out, "C-OK-2")
    assert report["total_cny"] == 60_000.0


async def test_busy_merchant_daily_totals_are_exact(run_case):
    out = await run_case("busy-merchant-daily-total")
    h0 = reports_of(out, "C-H0", "0502")
    assert h0 and h0[-1]["total_cny"] == 2_100_000.0 and h0[-1]["tx_count"] == 300
    h1 = reports_of(out, "C-H1", "0502")
    assert h1[0]["revision"] == 1 and h1[0]["tx_count"] == 1_003  # the line is reached at the 1,003rd receipt
    assert (h1[-1]["total_cny"], h1[-1]["tx_count"], h1[-1]["revision"]) == (2_004_975.0, 1_005, 3)
    assert h1[-1]["tx_ids_truncated"] is True  # the evidence list is bounded, the totals are not
    totals = [r["total_cny"] for r in h1]
    assert totals == sorted(totals)  # no revision reports less than the one before
    assert_ids_identify_content(out)


async def test_outputs_do_not_depend_on_batching(run_case):
    """Byte-identical outputs (but emitted_at) for batches of 500, 7 and 1 on the busy case."""
    runs = [await run_case("busy-merchant-daily-total", batch_size=size) for size in (500, 7, 1)]

    def strip(outputs):
        return {k: [{f: v for f, v in e.items() if f != "emitted_at"} for e in events] for k, events in outputs.items() if k != "final-states"}

    assert strip(runs[0]) == strip(runs[1]) == strip(runs[2])


async def test_report_revisions_are_strictly_increasing_per_key(run_case):
    out = await run_case("late-posting-large-value", skew_s=200 * 86_400.0)
    revisions = defaultdict(list)
    for r in out["large-value-reports"]:
        if r["action"] != "manual":
            revisions[r["report_key"]].append(r["revision"])
    assert all(v == list(range(1, len(v) + 1)) for v in revisions.values())


async def test_own_account_moves_are_no_flows(run_case):
    """Four legs between C-O1's current account and its own time deposit (counterparty = itself):
    no large-value report, no pattern, turnover unchanged, the level the profile alone gives."""
    out = await run_case("own-account-transfers")
    assert out["large-value-reports"] == [] and out["suspicious-patterns"] == [] and out["dead-letter"] == []
    [first] = out["risk-changes"]
    assert first["cause"]["kind"] == "profile" and first["current"]["level"] == "normal"
    assert not any(c["factor"] in ("turnover_vs_declared", "activity_vs_baseline") for c in first["contributions"])


async def test_own_account_by_the_profiles_account_list(run_case, tmp_path):
    """The same moves named by account (counterparty_account in the profile's `accounts`), not by id."""
    case = CASES / "own-account-transfers"
    profile = orjson.loads((case / "customers.jsonl").read_bytes())
    profile["accounts"] = ["A-CURRENT", "A-TIMEDEP"]
    legs = [orjson.loads(line) for line in (case / "transactions.jsonl").read_bytes().splitlines()]
    for leg in legs:
        leg.pop("counterparty_id")
        leg["counterparty_account"] = "A-TIMEDEP" if leg["account_id"] == "A-CURRENT" else "a-current"  # written differently
    (tmp_path / "customers.jsonl").write_bytes(orjson.dumps(profile) + b"\n")
    tx_file = tmp_path / "transactions.jsonl"
    tx_file.write_bytes(b"\n".join(orjson.dumps(leg) for leg in legs) + b"\n")
    # the legs name their bank "THIS BANK": an own account only once the standard knows the name
    out = await run_case("own-account-transfers", transactions=tx_file, customers=tmp_path / "customers.jsonl")
    assert {(r["rule_code"], r["direction"], r["total_cny"]) for r in out["large-value-reports"]} >= {("0503", "out", 1_200_000.0), ("0503", "in", 1_200_000.0)}
    config = tmp_path / "standard.toml"
    default = (Path(__file__).parents[2] / "factors" / "standards" / "default.toml").read_text()
    config.write_text(default.replace("own_bank = []", 'own_bank = ["This Bank"]'))
    config.chmod(0o600)  # the scoring standard is confidential
    out = await run_case("own-account-transfers", transactions=tx_file, customers=tmp_path / "customers.jsonl", config=config)
    assert out["large-value-reports"] == [] and out["suspicious-patterns"] == []


async def test_reversal_withdraws_what_its_original_raised_and_a_return_is_no_pass_through(run_case):
    out = await run_case("reversal-and-return")
    r1 = reports_of(out, "C-R1")
    # E-2 took the day's cash to 60,000 before its reversal arrived: the report is withdrawn
    assert [(r["revision"], r["action"], r["total_cny"], r["tx_count"]) for r in r1] == [(1, "report", 60_000.0, 2), (2, "withdraw", 30_000.0, 1)]
    cash_alerts = [a for a in out["suspicious-patterns"] if a["customer_id"] == "C-R1" and a["pattern"] == "same_day_cash"]
    assert [a["status"] for a in cash_alerts] == ["open", "withdrawn"]
    assert cash_alerts[1]["alert_key"] == cash_alerts[0]["alert_key"] and cash_alerts[1]["cause"] == {"kind": "reversal", "ref": "E-2-REV"}
    # the return of R-1 is not a pass-through
    assert not [a for a in out["suspicious-patterns"] if a["customer_id"] == "C-R2"]
    levels = [c["current"]["level"] for c in out["risk-changes"] if c["customer_id"] == "C-R2"]
    assert levels == ["normal"]
    assert out["dead-letter"] == []


async def test_a_reversal_that_comes_first_waits_for_its_original(run_case, tmp_path):
    """Out of order: the reversal of E-2 arrives before E-2; E-2 then counts for nothing."""
    legs = (CASES / "reversal-and-return" / "transactions.jsonl").read_bytes().splitlines()
    reordered = [legs[0], legs[2], legs[1]]
    tx_file = tmp_path / "transactions.jsonl"
    tx_file.write_bytes(b"\n".join(reordered) + b"\n")
    out = await run_case("reversal-and-return", transactions=tx_file)
    assert reports_of(out, "C-R1") == [] and not [a for a in out["suspicious-patterns"] if a["customer_id"] == "C-R1"]
    assert out["dead-letter"] == []


async def test_a_profile_tombstone_deletes_the_profile(run_case):
    out = await run_case("profile-tombstone", messages=True)
    assert out["dead-letter"] == []
    changes = [c for c in out["risk-changes"] if c["customer_id"] == "PG"]
    first = changes[0]
    assert first["current"]["level"] == "watch" and {"rule": "pep", "min_level": "watch"} in first["hard_rules"]
    # after the tombstone PG is rated with no profile: the PEP floor is gone; the level comes
    # down after the standard's cooling period only, so the deletion shows in the state
    state = out["final-states"]["PG"]
    assert "profile" not in state
    assert state["score"] == 0.0 and state["level"] == "watch" and "pending_down" in state  # PEP's 25 points gone, the downgrade cooling


async def test_one_payer_written_ten_ways_is_one_source(run_case, tmp_path):
    """C-N1 receives ten transfers from one buyer whose name is spelt ten ways, then pays one
    supplier: one source and one sink, exactly as when the name is written the same way each time."""
    out = await run_case("counterparty-name-variants")
    assert not [a for a in out["suspicious-patterns"] if a["pattern"] in ("fan_in", "frequent_one_off")]
    legs = [orjson.loads(line) for line in (CASES / "counterparty-name-variants" / "transactions.jsonl").read_bytes().splitlines()]
    for leg in legs:
        if leg["direction"] == "in":
            leg["counterparty_name"] = "SHANGHAI HENGTONG TRADING CO., LTD."
    same = tmp_path / "same-name.jsonl"
    same.write_bytes(b"\n".join(orjson.dumps(leg) for leg in legs) + b"\n")
    uniform = await run_case("counterparty-name-variants", transactions=same)

    def essentials(outputs):
        return [(e["event_type"], e.get("current"), e.get("pattern"), e.get("metrics")) for kind in ("risk-changes", "suspicious-patterns") for e in outputs[kind]]

    assert essentials(out) == essentials(uniform)
