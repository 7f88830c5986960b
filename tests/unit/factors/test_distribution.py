"""Population distributions: bucket math, quantiles from histograms, the published metrics."""

from __future__ import annotations

import random

import pytest

from factors.distribution import EXACT, METRIC_NAMES, METRICS, Distribution, bucket_bounds, bucket_of, sample
from factors.model import WindowStats
from tests.unit.factors.helpers import snapshot


def test_buckets_are_exact_below_eight_and_log_linear_above():
    assert [bucket_of(v) for v in range(8)] == list(range(8))
    assert bucket_of(-5) == 0
    assert bucket_bounds(bucket_of(8)) == (8, 10) and bucket_bounds(bucket_of(15)) == (14, 16) and bucket_bounds(bucket_of(16)) == (16, 20)
    assert bucket_bounds(bucket_of(10_000)) == (8_192, 10_240)


def test_every_value_lies_in_its_bucket_and_buckets_tile_the_integers():
    rng = random.Random(7)
    values = [*range(0, 5_000), *(rng.randrange(10**12) for _ in range(5_000)), 10**12]
    for v in values:
        low, high = bucket_bounds(bucket_of(v))
        assert low <= v < high
        assert high - low <= max(1, low // 4)  # at most a quarter of the lower bound wide
    for b in range(0, 200):
        assert bucket_bounds(b)[1] == bucket_bounds(b + 1)[0]
    assert bucket_of(10**12) < 170


def test_quantile_of_exact_values_lies_inside_the_bucket_of_the_rank():
    # 100 samples: 90 zeros, 8 threes, 2 sevens; p90 is in 0's bucket, p95 in 3's, p99 in 7's
    dist = Distribution.from_counts({0: 90, 3: 8, bucket_of(7): 2})
    assert dist.total == 100
    assert 0 < dist.quantile(0.9) <= 1
    assert 3 < dist.quantile(0.95) < 4
    assert dist.quantile(0.99) == pytest.approx(7.5)  # rank 99: the first of the two sevens' bucket [7, 8)


def test_quantile_interpolates_inside_a_wide_bucket():
    b = bucket_of(10_000)  # [8192, 10240)
    dist = Distribution.from_counts({0: 50, b: 50})
    assert dist.quantile(0.75) == pytest.approx(8_192 + (10_240 - 8_192) * 0.5)
    assert Distribution.from_counts({}).quantile(0.99) is None


def test_quantile_is_close_to_the_exact_one_on_a_skewed_population():
    rng = random.Random(3)
    values = sorted(int(rng.lognormvariate(9, 1.5)) for _ in range(20_000))
    counts: dict[int, int] = {}
    for v in values:
        counts[bucket_of(v)] = counts.get(bucket_of(v), 0) + 1
    dist = Distribution.from_counts(counts)
    for q in (0.5, 0.9, 0.99, 0.999):
        exact = values[int(q * len(values)) - 1]
        assert dist.quantile(q) == pytest.approx(exact, rel=0.25)


def test_counts_round_trip_and_drop_empty_buckets():
    dist = Distribution.from_counts([(12, 3), (0, 5), (4, 0), (9, -1)])
    assert dist.counts() == [[0, 5], [12, 3]]
    assert Distribution.from_counts(tuple(tuple(p) for p in dist.counts())) == dist


def test_a_sample_has_one_bucket_per_metric_from_the_windows():
    snap = snapshot(
        w24h=WindowStats(count=3, in_fen=5_000_00, out_fen=1_000_00),
        w7d=WindowStats(count=9, in_fen=12_345_67, out_fen=3_00, counterparties_in=4, counterparties_out=11),
        w30d=WindowStats(count=40),
    )
    values = {m: METRICS[m].value(snap) for m in METRIC_NAMES}
    assert values == {"in_24h": 5_000, "sum_24h": 6_000, "in_7d": 12_345, "out_7d": 3, "sum_7d": 12_348, "payers_7d": 4, "payees_7d": 11, "count_30d": 40}
    assert sample(snap) == tuple(bucket_of(values[m]) for m in METRIC_NAMES)
    assert EXACT == 8
