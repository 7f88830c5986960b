"""Edge batches (streams.network.batches) and their decoding (streams.network.decode.decode_message):
placement equal to Kafka's keyed placement, order kept per partition, size cap, and dead letters
per copy or per message."""

from __future__ import annotations

import orjson
import pytest

from factors.network.edges import edge_messages, edge_value, edges_for_leg
from streams.events import Source, iso
from streams.network.batches import Partitioner, pack, partition_of
from streams.network.decode import decode_message

TS = 1_793_927_700_000


def copies(n: int) -> list[tuple[str, bytes]]:
    """(owner party, encoded copy) of n book transfers C-i -> C-(i+1)."""
    out = []
    for i in range(n):
        edge = edges_for_leg(tx_id=f"T-{i}", customer_id=f"C-{i}", ts_ms=TS + i, direction="out", amount_fen=100_00 + i, method="transfer", counterparty_id=f"C-{i + 1}")
        assert edge is not None
        out += [(key, orjson.dumps(value)) for key, value in edge_messages(edge, iso(edge.ts_ms))]
    return out


@pytest.mark.parametrize(
    ("key", "java"),  # org.apache.kafka.common.utils.UtilsTest#testMurmur2 (signed 32-bit results)
    [(b"21", -973932308), (b"foobar", -790332482), (b"a-little-bit-long-string", -985981536), (b"a-little-bit-longer-string", -1486304829), (b"abc", 479470107)],
)
def test_placement_is_kafkas_default_partitioner(key: bytes, java: int) -> None:
    for partitions in (1, 4, 12, 7):
        assert partition_of(key.decode(), partitions) == (java & 0x7FFFFFFF) % partitions


def test_pack_groups_by_partition_in_order() -> None:
    given = copies(40)
    batches = pack(given, 4, Partitioner())
    assert sum(n for _, _, n in batches) == len(given) and len({p for p, _, _ in batches}) == len(batches)
    for partition, value, n in batches:
        doc = orjson.loads(value)
        assert (doc["event_type"], doc["schema_version"], doc["partitions"], len(doc["copies"])) == ("edge_batch", 1, 4, n)
        expected = [orjson.loads(v) for owner, v in given if partition_of(owner, 4) == partition]
        assert doc["copies"] == expected  # the partition's copies, in production order


def test_pack_splits_at_the_size_cap_keeping_order() -> None:
    given = copies(30)
    batches = pack(given, 1, Partitioner(), max_bytes=4_000)
    assert len(batches) > 1 and all(len(value) <= 4_000 for _, value, _ in batches)
    assert [c for _, value, _ in batches for c in orjson.loads(value)["copies"]] == [orjson.loads(v) for _, v in given]
    with pytest.raises(ValueError, match="partitions"):
        pack(given, 0, Partitioner())


def batch_source(partition: int, value: bytes) -> Source:
    return Source("aml.edges.v1", partition, 17, None, value, None)


def test_decode_message_reads_every_copy_with_its_own_source() -> None:
    given = copies(10)
    for partition, value, n in pack(given, 3, Partitioner()):
        good, refused = decode_message(batch_source(partition, value))
        assert not refused and len(good) == n
        for edge, copy, ref in good:
            owner, src = edge.party(copy), ref.source()
            assert (src.partition, src.offset, src.key) == (partition, 17, owner.encode())
            assert orjson.loads(src.value)["edge_id"] == edge.edge_id


def test_a_bad_copy_is_refused_alone_and_a_misplaced_one_too() -> None:
    (owner, first), (_, second) = copies(1)
    bad = orjson.dumps({**orjson.loads(second), "amount_fen": -5})
    partition = partition_of(owner, 4)
    value = b'{"event_type":"edge_batch","schema_version":1,"partitions":4,"copies":[%s,%s]}' % (first, bad)
    good, refused = decode_message(batch_source(partition, value))
    assert [copy for _, copy, _ in good] == ["payer"]
    assert [(err.code, orjson.loads(src.value)["key_role"]) for src, err in refused] == [("invalid_amount", "payee")]
    wrong = (partition + 1) % 4
    good, refused = decode_message(batch_source(wrong, value))
    assert not good and {err.code for _, err in refused} == {"key_mismatch", "invalid_amount"}
    good, refused = decode_message(batch_source(wrong, value), check_keys=False)
    assert len(good) == 1  # placement is only checked with the keys


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (b"{", "invalid_json"),
        (b'{"event_type":"edge_batch","schema_version":2,"partitions":4,"copies":[]}', "invalid_value"),
        (b'{"event_type":"edge_batch","schema_version":1,"partitions":0,"copies":[]}', "invalid_type"),
        (b'{"event_type":"edge_batch","schema_version":1,"partitions":4,"copies":{}}', "invalid_type"),
    ],
)
def test_a_bad_envelope_refuses_the_whole_message(value: bytes, code: str) -> None:
    src = batch_source(0, value)
    good, refused = decode_message(src)
    assert not good and [(s, e.code) for s, e in refused] == [(src, code)]


def test_a_keyed_single_copy_is_still_read_and_its_key_checked() -> None:
    (owner, first), _ = copies(1)
    good, refused = decode_message(Source("aml.edges.v1", 0, 3, owner.encode(), first))
    assert len(good) == 1 and not refused
    good, refused = decode_message(Source("aml.edges.v1", 0, 3, b"id:someone-else", first))
    assert not good and refused[0][1].code == "key_mismatch"


@pytest.mark.parametrize(("tx_id", "accepted"), [("T" * 128, True), ("T" * 129, False), ("T\x001", False)])
def test_a_copys_tx_id_is_held_to_the_schema(tx_id: str, accepted: bool) -> None:
    (owner, first), _ = copies(1)
    value = orjson.loads(first) | {"tx_id": tx_id}
    good, refused = decode_message(Source("aml.edges.v1", 0, 3, owner.encode(), orjson.dumps(value)))
    assert (len(good), len(refused)) == ((1, 0) if accepted else (0, 1))
    if not accepted:
        assert refused[0][1].code == "invalid_value" and "1-128 printable characters" in refused[0][1].detail


@pytest.mark.parametrize("name_id", [None, "acme"])
def test_the_payee_copy_is_the_payer_copy_with_its_role(name_id: str | None) -> None:
    edge = edges_for_leg(
        tx_id="T-1", customer_id="C-1", ts_ms=TS, direction="in", amount_fen=5_00, method="transfer", counterparty_account="6222 0001", counterparty_name=name_id
    )
    assert edge is not None
    (payer_key, payer), (payee_key, payee) = edge_messages(edge, iso(edge.ts_ms))
    assert (payer_key, payee_key) == (edge.payer, edge.payee)
    assert orjson.dumps(payee) == orjson.dumps(edge_value(edge, "payee", iso(edge.ts_ms)))  # same fields, same order
    assert orjson.dumps(payer) == orjson.dumps(edge_value(edge, "payer", iso(edge.ts_ms)))
    assert payer["key_role"] == "payer" and payee["key_role"] == "payee"
    assert ("counterparty_name_id" in payee) is (name_id is not None)
