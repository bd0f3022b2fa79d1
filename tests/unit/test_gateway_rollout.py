"""Canary statistics, the judge and the traffic split (services/inference_gateway/rollout.py)."""

from __future__ import annotations

import itertools

import pytest

from switchyard.proto.v1 import gateway_pb2
from switchyard.services.inference_gateway.rollout import (
    RESERVOIR,
    RevisionStats,
    TrafficSplit,
    Verdict,
    judge,
)


def stats(requests: int, errors: int = 0, latency_s: float = 0.010) -> RevisionStats:
    s = RevisionStats()
    for i in range(requests):
        s.record(latency_s, i < errors)
    return s


def rules(**fields: float) -> gateway_pb2.RolloutRules:
    return gateway_pb2.RolloutRules(**fields)  # type: ignore[arg-type]


def test_stats_count_and_rate() -> None:
    s = RevisionStats()
    assert (s.requests, s.errors, s.error_rate(), s.p99_ms(), s.samples) == (0, 0, 0.0, 0.0, 0)
    s.record(0.002, False)
    s.record(0.004, True)
    assert (s.requests, s.errors, s.error_rate(), s.samples) == (2, 1, 0.5, 2)
    s.reset()
    assert (s.requests, s.errors, s.samples, s.p99_ms()) == (0, 0, 0, 0.0)


def test_p99_is_the_nearest_rank() -> None:
    s = RevisionStats()
    for ms in range(1, 101):  # 1..100 ms
        s.record(ms / 1000, False)
    assert s.p99_ms() == pytest.approx(99.0)
    s.record(5.0, False)  # 101 samples: rank ceil(99.99) = 100 -> 100 ms
    assert s.p99_ms() == pytest.approx(100.0)
    one = RevisionStats()
    one.record(0.25, False)
    assert one.p99_ms() == pytest.approx(250.0)


def test_the_reservoir_keeps_the_latest_latencies() -> None:
    s = RevisionStats()
    for _ in range(RESERVOIR):
        s.record(1.0, False)  # slow, then
    for _ in range(RESERVOIR):
        s.record(0.001, False)  # fast: the slow ones are all gone
    assert s.samples == RESERVOIR and s.requests == 2 * RESERVOIR
    assert s.p99_ms() == pytest.approx(1.0)
    small = RevisionStats(capacity=3)
    for latency in (0.1, 0.2, 0.3, 0.004):
        small.record(latency, False)
    assert small.samples == 3 and small.p99_ms() == pytest.approx(300.0)
    with pytest.raises(ValueError):
        RevisionStats(capacity=0)


def test_no_verdict_before_min_requests() -> None:
    broken = stats(49, errors=49)
    v = judge(stats(100), broken, rules())  # min_requests 0 -> 50
    assert v == Verdict("none", "canary has 49 of the 50 requests needed to judge it")
    assert judge(stats(100), stats(9, errors=9), rules(min_requests=10)).action == "none"
    assert judge(stats(100), stats(10, errors=10), rules(min_requests=10)).action == "rollback"


def test_error_rate_rollback_with_the_default_margin() -> None:
    v = judge(stats(100), stats(120, errors=37), rules())
    assert v.action == "rollback"
    assert v.reason == "canary error rate 0.31 exceeds stable 0.00 + margin 0.05 over 120 requests"


def test_error_rate_boundary_is_not_a_rollback() -> None:
    stable = stats(100, errors=5)  # 0.05
    assert judge(stable, stats(100, errors=10), rules()).action == "none"  # 0.10 = 0.05 + 0.05
    assert judge(stable, stats(100, errors=11), rules()).action == "rollback"
    assert judge(stable, stats(100, errors=10), rules(max_error_rate_margin=0.04)).action == (
        "rollback"
    )
    zero = rules(max_error_rate_margin=0.0)  # set to 0: any excess rolls back
    assert judge(stats(100), stats(100, errors=1), zero).action == "rollback"
    assert judge(stats(100), stats(100), zero).action == "none"


def test_p99_rule_only_when_set() -> None:
    stable, slow = stats(100, latency_s=0.010), stats(100, latency_s=0.100)
    assert judge(stable, slow, rules()).action == "none"  # unset: no latency rule
    v = judge(stable, slow, rules(max_p99_margin=0.5))
    assert v.action == "rollback"
    assert v.reason == (
        "canary p99 100.0 ms exceeds stable 10.0 ms + 50% (15.0 ms) over 100 requests"
    )


def test_p99_boundary() -> None:
    stable = stats(100, latency_s=0.010)
    at_limit = stats(100, latency_s=0.015)
    assert judge(stable, at_limit, rules(max_p99_margin=0.5)).action == "none"
    assert judge(stable, stats(100, latency_s=0.0151), rules(max_p99_margin=0.5)).action == (
        "rollback"
    )


def test_p99_needs_half_min_requests_of_stable_latencies() -> None:
    slow = stats(100, latency_s=1.0)
    v = judge(stats(24), slow, rules(max_p99_margin=0.1))  # 24 < 50 / 2
    assert v.action == "none" and "p99 not judged: stable has 24 of 25 latencies" in v.reason
    assert judge(stats(25), slow, rules(max_p99_margin=0.1)).action == "rollback"


def test_errors_are_judged_before_latency() -> None:
    v = judge(stats(100), stats(100, errors=50, latency_s=1.0), rules(max_p99_margin=0.1))
    assert v.reason.startswith("canary error rate 0.50")


def test_promote_after_requests_within_the_margins() -> None:
    r = rules(promote_after_requests=200, max_p99_margin=0.5)
    assert judge(stats(100), stats(199), r).action == "none"
    v = judge(stats(100), stats(200), r)
    assert v.action == "promote"
    assert v.reason == (
        "canary served 200 requests within the margins"
        " (error rate 0.00 vs 0.00, p99 10.0 ms vs 10.0 ms)"
    )
    assert judge(stats(100), stats(200, errors=100), r).action == "rollback"
    # promote_after below min_requests waits for min_requests
    early = rules(promote_after_requests=10, min_requests=50)
    assert judge(stats(100), stats(49), early).action == "none"
    assert judge(stats(100), stats(50), early).action == "promote"
    # 0: never by itself
    assert judge(stats(100), stats(10_000), rules()).action == "none"


def test_stable_without_requests_compares_with_zero() -> None:
    assert judge(stats(0), stats(100, errors=5), rules()).action == "none"
    assert judge(stats(0), stats(100, errors=6), rules()).action == "rollback"


@pytest.mark.parametrize(("percent", "expected"), [(20.0, 200), (50.0, 500), (33.3, 333)])
def test_split_is_exact_over_1000_picks(percent: float, expected: int) -> None:
    split = TrafficSplit()
    picks = [split.pick(percent) for _ in range(1000)]
    assert abs(sum(picks) - expected) <= 1
    # and spread out: no run of canary picks at 20 % or 50 %
    if percent <= 50:
        assert not any(a and b for a, b in itertools.pairwise(picks))


@pytest.mark.parametrize("phase", [0.0, 37.5, 99.9, 250.0])
def test_split_any_phase_stays_within_one(phase: float) -> None:
    split = TrafficSplit(phase)
    assert abs(sum(split.pick(20.0) for _ in range(1000)) - 200) <= 1


def test_split_edges() -> None:
    split = TrafficSplit()
    assert not any(split.pick(0.0) for _ in range(100))
    assert all(split.pick(100.0) for _ in range(100))
    assert not any(split.pick(-5.0) for _ in range(10))
    assert all(split.pick(150.0) for _ in range(10))
    assert not any(split.pick(float("nan")) for _ in range(10))
    assert sum(split.pick(10.0) for _ in range(100)) == 10  # NaN left it unharmed


def test_mirror_has_its_own_accumulator() -> None:
    split = TrafficSplit()
    canary = mirrored = 0
    for _ in range(1000):
        canary += split.pick(20.0)
        mirrored += split.mirror(10.0)
    assert abs(canary - 200) <= 1 and abs(mirrored - 100) <= 1
