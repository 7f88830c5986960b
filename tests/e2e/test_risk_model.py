"""The risk model end to end: profile and transaction events rate customers with explained
contributions; a new scoring standard is picked up without a restart and `rescore-all`
re-rates everyone under it; reviews come due by level."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys

import orjson

from factors.standard import DEFAULT_STANDARD_PATH
from tests.e2e.harness import ROOT, output_events, produce, wait_until_committed


def profile(customer_id: str, kind: str = "individual", updated_at: str = "2026-11-01T09:00:00+08:00", **fields) -> tuple[bytes, bytes]:
    doc = {
        "customer_id": customer_id,
        "kind": kind,
        "country": "CN",
        "residence_country": "CN",
        "industry": "education",
        "occupation": "employee",
        "onboarded_at": "2020-01-01T00:00:00+08:00",
        "declared_annual_income": 200000,
        "updated_at": updated_at,
    } | fields
    return customer_id.encode(), orjson.dumps(doc)


def transaction(tx_id: str, customer_id: str, ts: str, amount: str = "100") -> tuple[bytes, bytes]:
    doc = {"tx_id": tx_id, "customer_id": customer_id, "ts": ts, "direction": "out", "amount": amount, "currency": "CNY", "method": "transfer"}
    return customer_id.encode(), orjson.dumps(doc)


async def changes(topics, n: int) -> list[dict]:
    events = await output_events(topics, until=n, timeout_s=60)
    return [e for e in events if e["event_type"] == "risk_change"]


def cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "streams.cli", *args], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_profiles_and_transactions_rate_customers_and_a_new_standard_applies_without_restart(pipeline_env, tmp_path):
    env = pipeline_env
    topics = env["topics"]
    standard = tmp_path / "standard.toml"
    shutil.copy(DEFAULT_STANDARD_PATH, standard)
    os.chmod(standard, 0o600)
    worker = env["start_worker"](AMLSTREAM_MODEL_CONFIG=str(standard), AMLSTREAM_MODEL_WATCH_INTERVAL_S="0.5")

    await produce(
        topics.customers,
        [
            profile("ind-1"),
            profile("pep-1", pep=True, occupation="pep_domestic"),
            profile("ent-1", kind="entity", industry="casino", country="KY", residence_country="KY", products=["bearer"], declared_annual_turnover=5_000_000),
            profile("listed-1", listed=True),
            profile("odd-1", industry="space_mining"),
        ],
    )
    first = {e["customer_id"]: e for e in await changes(topics, 5)}
    await produce(topics.transactions, [transaction("T1", "ind-1", "2026-11-02T10:00:00+08:00")])  # same level: no event
    assert {c: (e["current"]["level"], e["cause"]["kind"]) for c, e in first.items()} == {
        "ind-1": ("normal", "profile"),
        "pep-1": ("watch", "profile"),
        "ent-1": ("suspicious", "profile"),
        "listed-1": ("prohibited", "profile"),
        "odd-1": ("normal", "profile"),
    }
    pep = first["pep-1"]
    assert {c["factor"]: c["points"] for c in pep["contributions"]} == {"pep": 25, "occupation": 25}
    assert pep["hard_rules"] == [{"rule": "pep", "min_level": "watch"}]
    ent = {c["factor"]: c for c in first["ent-1"]["contributions"]}
    assert {k: c["points"] for k, c in ent.items()} == {"industry": 40, "customer_country": 15, "products": 12}
    assert ent["customer_country"]["evidence"]["list"] == "tax_havens" and ent["customer_country"]["group"] == "country"
    assert first["listed-1"]["hard_rules"] == [{"rule": "listed", "min_level": "prohibited"}]
    assert first["odd-1"]["current"]["score"] == 10  # unknown industry code: flagged and scored, not refused
    for e in first.values():
        assert e["current"]["score"] == sum(c["points"] for c in e["contributions"])
        assert e["cause"]["ref"].startswith(e["customer_id"] + "@")

    # a profile update that adds a risk flag re-rates at once; an older update is ignored
    await produce(topics.customers, [profile("ind-1", updated_at="2026-11-03T09:00:00+08:00", false_documents=True)])
    await produce(topics.customers, [profile("ind-1", updated_at="2026-10-01T09:00:00+08:00", listed=True)])
    ind = [e for e in await changes(topics, 6) if e["customer_id"] == "ind-1"]
    assert [(e["previous"]["level"] if e["previous"] else None, e["current"]["level"], e["cause"]["kind"]) for e in ind] == [
        (None, "normal", "profile"),
        ("normal", "watch", "profile"),
    ]
    await wait_until_committed(topics, env["group"])
    assert worker.counter("amlstream_transactions_total", outcome="stale_profile") == 1

    # a new standard, picked up without a restart: false documents now weigh 60 points
    old_version = ind[-1]["model_version"]
    text = DEFAULT_STANDARD_PATH.read_text().replace('version = "default-2026.11"', 'version = "bank-2026.12"')
    text = text.replace('id = "false_documents"\nbands = [{ min = 1, points = 40 }]', 'id = "false_documents"\nbands = [{ min = 1, points = 60 }]')
    standard.write_text(text)
    await asyncio.sleep(2)
    await produce(topics.transactions, [transaction("N1", "new-1", "2026-11-04T10:00:00+08:00")])
    fresh = [e for e in await changes(topics, 7) if e["customer_id"] == "new-1"]
    assert fresh and fresh[0]["model_version"].startswith("bank-2026.12+") and fresh[0]["model_version"] != old_version

    out = cli(worker.env, "rescore-all")
    assert "re-rated 6 customers" in out
    rescored = [e for e in await changes(topics, 8) if e["cause"]["kind"] == "config"]
    assert [(e["customer_id"], e["previous"]["level"], e["current"]["level"]) for e in rescored] == [("ind-1", "watch", "suspicious")]
    assert rescored[0]["cause"]["ref"] == rescored[0]["model_version"] == fresh[0]["model_version"]

    # reviews: the prohibited customer (6 months) is due first
    due = cli(worker.env, "reviews-due", "--asof", "2027-06-01T00:00:00Z")
    assert due.splitlines()[0].startswith("listed-1\tprohibited") and "1 reviews due" in due
    assert "6 reviews due" in cli(worker.env, "reviews-due", "--asof", "2031-01-01T00:00:00Z")


def test_a_readable_standard_is_refused(local_services, tmp_path):
    standard = tmp_path / "standard.toml"
    shutil.copy(DEFAULT_STANDARD_PATH, standard)
    os.chmod(standard, 0o644)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMLSTREAM_")} | {"AMLSTREAM_MODEL_CONFIG": str(standard)}
    result = subprocess.run([sys.executable, "-m", "streams.cli", "worker"], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 2
    assert "readable by other users" in result.stderr and "confidential" in result.stderr
    assert "version" not in result.stderr.split("chmod")[0].split("(mode")[0].replace(str(standard), "")
