"""The ISO 20022 adapter through a real Kafka: pacs.008 and camt.054 messages in, every leg checked
field by field, bad messages dead-lettered with a reason and the XPath, offsets committed."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import urllib.request
import uuid

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from tests.e2e.conftest import free_port
from tests.e2e.harness import BOOTSTRAP, ROOT, env_for, produce, provision, read_all, unique_topics
from tests.iso20022_samples import ACCOUNTS, CAMT054_LEGS, PACS008_LEGS, camt054, pacs008


def profile(customer_id: str, accounts: list[str], updated_at: str = "2026-11-01T00:00:00+08:00") -> tuple[bytes, bytes]:
    doc = {"customer_id": customer_id, "kind": "individual", "country": "CN", "updated_at": updated_at, "accounts": accounts}
    return customer_id.encode(), orjson.dumps(doc)


def new_customer_payment(account: str) -> bytes:
    """One transfer from outside to `account`, whose profile is produced after the adapter started."""
    raw = pacs008(msg_id="MSG-P-3").decode()
    start, end = raw.index("  <CdtTrfTxInf>\n   <PmtId><EndToEndId>NOTPROVIDED"), raw.index("  <CdtTrfTxInf>\n   <PmtId><EndToEndId>E2E-4")
    one = raw[start:end].replace("6222021000001234", account)
    head = raw[: raw.index("  <CdtTrfTxInf>")].replace("<NbOfTxs>4</NbOfTxs>", "<NbOfTxs>1</NbOfTxs>")
    return (head + one + " </FIToFICstmrCdtTrf>\n</Document>\n").encode()


def metric(port: int, name: str, **labels: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
        text = response.read().decode()
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    total = 0.0
    for line in text.splitlines():
        if line.startswith((name + "{", name + " ")) and (not labels or "{" + want + "}" in line):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def committed(group: str, topics: list[str], partitions: int = 4) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return {TopicPartition(t, p): (await consumer.committed(TopicPartition(t, p))) or 0 for t in topics for p in range(partitions)}
    finally:
        await consumer.stop()


async def test_adapter_maps_messages_to_legs_and_dead_letters_bad_ones(e2e_redis, tmp_path):
    url, _ = e2e_redis
    tag = uuid.uuid4().hex[:8]
    topics = unique_topics().model_copy(update={"iso20022_pacs008": f"t{tag}.iso.pacs008", "iso20022_camt054": f"t{tag}.iso.camt054"})
    await provision(topics)
    group = f"e2e-iso-{tag}"
    port = free_port()
    env = env_for(
        topics,
        url,
        f"e2e-unused-{tag}",
        port,
        AMLSTREAM_TOPIC_ISO20022_PACS008=topics.iso20022_pacs008,
        AMLSTREAM_TOPIC_ISO20022_CAMT054=topics.iso20022_camt054,
        AMLSTREAM_ISO20022_GROUP_ID=group,
    )
    # the directory: three customers, and one whose profile is deleted (tombstone) before any payment
    await produce(topics.customers, [profile(c, a) for c, a in ACCOUNTS.items()] + [profile("C-GONE", ["NOBODY-1"]), (b"C-GONE", None)])
    log = open(tmp_path / "adapter.log", "wb")  # noqa: SIM115 - the child owns it
    adapter = subprocess.Popen([sys.executable, "-m", "streams.cli", "iso20022", "adapter"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        malformed = pacs008()[:-40]
        invalid = pacs008().replace(b"<ChrgBr>SHAR</ChrgBr>", b"<ChrgBr>HALF</ChrgBr>", 1)
        await produce(
            topics.iso20022_pacs008,
            [
                (b"MSG-P-1", pacs008()),
                (b"MSG-P-2", pacs008("pacs.008.001.13", msg_id="MSG-P-2")),  # the same payments again, newest version
                (b"BAD-1", malformed),
                (b"BAD-2", invalid),
                (b"BAD-3", camt054()),  # a camt.054 on the pacs.008 topic
            ],
        )
        await produce(topics.iso20022_camt054, [(b"MSG-C-1", camt054())])
        # a customer whose profile arrives while the adapter runs: acknowledged before its payment, so applied first
        await produce(topics.customers, [profile("C-4", ["NEW-ACCT-4"])])
        await produce(topics.iso20022_pacs008, [(b"MSG-P-3", new_customer_payment("NEW-ACCT-4"))])

        expected = list(PACS008_LEGS)
        second = [dict(leg) for leg in PACS008_LEGS]
        second[3]["tx_id"] = "MSG-P-2/NOTPROVIDED/3:CRDT"  # only the id derived from MsgId differs: the rest are the same legs (deduplicated downstream)
        new = dict(PACS008_LEGS[3], tx_id="MSG-P-3/NOTPROVIDED/1:CRDT", customer_id="C-4", account_id="NEW-ACCT-4")
        expected += second + CAMT054_LEGS + [new]
        records = await read_all([topics.transactions], until=len(expected), timeout_s=90)
        dead = await read_all([topics.dead_letter], until=3, timeout_s=30)
        assert adapter.poll() is None, (tmp_path / "adapter.log").read_text()

        legs = [orjson.loads(value) for *_, value in records]
        assert all(key == orjson.loads(value)["customer_id"].encode() for *_, key, value in records)
        order = lambda leg: (leg["tx_id"], leg["customer_id"])  # noqa: E731
        assert sorted(legs, key=order) == sorted(expected, key=order)
        assert {(orjson.loads(value)["event_type"], orjson.loads(value)["source"]["topic"]) for *_, value in dead} == {("dead_letter", topics.iso20022_pacs008)}
        letters = {orjson.loads(value)["key"]: orjson.loads(value) for *_, value in dead}
        assert {k: v["error_code"] for k, v in letters.items()} == {"BAD-1": "iso20022_malformed", "BAD-2": "iso20022_schema_invalid", "BAD-3": "iso20022_unsupported"}
        assert letters["BAD-2"]["error_detail"].startswith("/Document/FIToFICstmrCdtTrf/CdtTrfTxInf[2]/ChrgBr: pacs.008.001.08:")
        assert letters["BAD-3"]["error_detail"].startswith("/Document: a camt.054.001.08 message on the pacs.008 topic")
        assert letters["BAD-1"]["error_detail"].startswith("/Document/FIToFICstmrCdtTrf")
        assert letters["BAD-2"]["payload"] == invalid.decode() and letters["BAD-2"]["source"]["topic"] == topics.iso20022_pacs008

        # the offsets move only after the legs were acknowledged: wait for the commit of the last batch
        deadline = time.monotonic() + 30
        while sum((await committed(group, [topics.iso20022_pacs008, topics.iso20022_camt054])).values()) < 7:
            assert time.monotonic() < deadline, "the adapter did not commit its input"
            await asyncio.sleep(0.5)
        assert metric(port, "amlstream_iso20022_messages_total", message_type="pacs.008", outcome="mapped") == 3
        assert metric(port, "amlstream_iso20022_messages_total", message_type="camt.054", outcome="mapped") == 1
        assert metric(port, "amlstream_iso20022_dead_letters_total") == 3
        assert metric(port, "amlstream_iso20022_legs_total") == len(expected)
        assert metric(port, "amlstream_iso20022_skipped_sides_total", message_type="camt.054", reason="not_booked") == 1
        assert metric(port, "amlstream_iso20022_directory_updates_total", outcome="deleted") == 1
        assert metric(port, "amlstream_iso20022_directory_accounts") == 5  # C-1 1, C-2 2, C-3 1, C-4 1; C-GONE deleted
    finally:
        adapter.send_signal(signal.SIGTERM)
        code = adapter.wait(timeout=30)
    assert code == 0, (tmp_path / "adapter.log").read_text()
