"""The rating state as stored in a customer's state hash (field `r`, layout 3): MessagePack.

One copy per customer, so its size is Redis memory per customer: JSON of the rating state was
about 540 bytes at 90 days, of which key names were a third and the customer id, the peer group and
the timestamps (13 digits as text) most of the rest. Stored instead:

- MessagePack (integers in at most 9 bytes, no quotes or separators);
- every dict key named in `KEYS` as its index there, a one-byte integer (a key not in the table
  stays a string: a MessagePack integer key cannot be mistaken for one, so any state round-trips);
- the profile's `customer_id`, when it is the customer's own id, and the group of `peer_sample`,
  when it is `peer_group`, as nil in their place (key order is kept).

`decode_state(encode_state(s, c), c) == s` (same key order) for every JSON-like `s` whose profile
`customer_id` and `peer_sample` group, where present, are strings (they always are). Changing `KEYS` other than by appending
changes the layout.
"""

from __future__ import annotations

from typing import Any

import msgpack

KEYS: tuple[str, ...] = (
    # the rating state (factors.rating, streams.engine)
    "profile",
    "level",
    "since",
    "next_review",
    "score",
    "mv",
    "rated",
    "peer_group",
    "peer_sample",
    "alerts",
    "detections",
    "raised",
    "exposure",
    "pending_down",
    "lv",
    # the profile (factors.profile.Profile.to_dict)
    "customer_id",
    "kind",
    "updated_ms",
    "country",
    "residence_country",
    "industry",
    "occupation",
    "pep",
    "listed",
    "under_investigation",
    "criminal_record",
    "ownership_opaque",
    "doubtful_funds",
    "high_risk_partners",
    "refused_cdd",
    "anonymous_account_request",
    "false_documents",
    "products",
    "declared_annual_income_fen",
    "declared_annual_turnover_fen",
    "onboarded_ms",
    "accounts",
    # open alerts, exposure, pending downgrades
    "key",
    "first",
    "last",
    "n",
    "tx",
    "severity",
    "measured_ms",
    "exposure_fen",
    "counterparties",
    "window_days",
)
CODES = {name: i for i, name in enumerate(KEYS)}
_PROFILE, _CUSTOMER_ID, _PEER_GROUP, _PEER_SAMPLE = CODES["profile"], CODES["customer_id"], CODES["peer_group"], CODES["peer_sample"]


def _keys_out(value: Any) -> Any:
    if isinstance(value, dict):
        return {CODES.get(k, k): _keys_out(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_keys_out(v) for v in value]
    return value


def _keys_in(value: Any) -> Any:
    if isinstance(value, dict):
        return {KEYS[k] if isinstance(k, int) else k: _keys_in(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys_in(v) for v in value]
    return value


def encode_state(state: dict[str, Any], customer_id: str) -> bytes:
    """The stored form of a rating state (JSON-like: str keys, str/int/float/bool/None/list/dict)."""
    out = _keys_out(state)
    profile = out.get(_PROFILE)
    if isinstance(profile, dict) and profile.get(_CUSTOMER_ID) == customer_id:
        profile[_CUSTOMER_ID] = None
    sample = out.get(_PEER_SAMPLE)
    if isinstance(sample, list) and sample and sample[0] is not None and sample[0] == out.get(_PEER_GROUP):
        sample[0] = None
    return msgpack.packb(out, use_bin_type=True)


def decode_state(raw: bytes, customer_id: str) -> dict[str, Any]:
    """The rating state from its stored form (`encode_state`)."""
    state = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    profile = state.get(_PROFILE)
    if isinstance(profile, dict) and _CUSTOMER_ID in profile and profile[_CUSTOMER_ID] is None:
        profile[_CUSTOMER_ID] = customer_id
    sample = state.get(_PEER_SAMPLE)
    if isinstance(sample, list) and sample and sample[0] is None:
        sample[0] = state.get(_PEER_GROUP)
    return _keys_in(state)
