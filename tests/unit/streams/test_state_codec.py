"""The stored form of the rating state (streams.state.codec): every state round-trips exactly,
key order included, and the stored form is much smaller than the JSON it replaced."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from streams.state.codec import KEYS, decode_state, encode_state
from streams.state.store import compact_state

STATE = {
    "profile": {
        "customer_id": "C0000209",
        "kind": "individual",
        "updated_ms": 1785427200000,
        "country": "CN",
        "residence_country": "CN",
        "industry": "real_estate",
        "occupation": "professional",
        "products": ["self_service", "e_banking"],
        "declared_annual_income_fen": 25000000,
        "onboarded_ms": 1460442371000,
        "accounts": ["A0000209"],
    },
    "level": "normal",
    "since": 1785427200000,
    "next_review": 1911657600000,
    "score": 22.0,
    "mv": "default-2026.11+20942e027c90",
    "rated": 1793193168000,
    "peer_group": "individual:real_estate",
    "peer_sample": ["individual:real_estate", 20754, [0, 36, 52, 44, 53, 1, 0, 14]],
    "alerts": {"structuring": {"key": "C0000209:structuring:1", "first": 1, "last": 2, "n": 1, "tx": None, "severity": "high"}},
    "lv": {"0501|in|20754": [3, "x"]},
}

scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | st.text(max_size=12) | st.sampled_from(KEYS)
json_like = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5), max_leaves=25
)


def test_a_realistic_state_round_trips_in_order_and_is_a_third_of_its_json():
    raw = compact_state(STATE, "C0000209")
    back = decode_state(raw, "C0000209")
    assert back == STATE
    assert list(back) == list(STATE) and list(back["profile"]) == list(STATE["profile"])
    assert len(raw) * 2 < len(orjson.dumps(STATE))


def test_another_customer_id_and_another_sample_group_are_kept_as_they_are():
    state = {"profile": {"customer_id": "C-OTHER", "kind": "entity", "updated_ms": 1}, "peer_group": "entity:retail", "peer_sample": ["entity:finance", 3, [1]]}
    assert decode_state(encode_state(state, "C-1"), "C-1") == state


@given(st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), json_like, max_size=8), st.text(min_size=1, max_size=10))
def test_any_json_like_state_round_trips(state, customer_id):
    if isinstance(state.get("profile"), dict) and "customer_id" in state["profile"] and not isinstance(state["profile"]["customer_id"], str):
        state["profile"]["customer_id"] = customer_id + "x"  # always a string in a real state
    if isinstance(state.get("peer_sample"), list) and state["peer_sample"] and state["peer_sample"][0] is None:
        state["peer_sample"][0] = "g"  # a group name, always a string
    back = decode_state(encode_state(state, customer_id), customer_id)
    assert back == state
    assert orjson.dumps(back) == orjson.dumps(state)  # key order too
