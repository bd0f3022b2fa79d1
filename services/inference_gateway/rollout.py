"""Canary rollouts: per-revision request statistics, the judge, the traffic split.

`RevisionStats.record` runs once per proxied request, so it is O(1): two
counters and a slot in a ring of the latest latencies. The percentile is
computed only when the judge (or a Get) asks. `judge` applies the
RolloutRules of the deployment's spec; the service acts on its verdict and
publishes the rollout event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from switchyard.proto.v1 import gateway_pb2

RESERVOIR = 2048  # latencies kept per revision: the p99 of the latest requests
DEFAULT_MIN_REQUESTS = 50
DEFAULT_ERROR_RATE_MARGIN = 0.05
# 0.10 > 0.05 + 0.05 must not hold because of how floats add up.
_EPSILON = 1e-9


class RevisionStats:
    """Requests, errors and recent latencies of one revision since its rollout began."""

    __slots__ = ("_capacity", "_latencies", "_next", "errors", "requests")

    def __init__(self, capacity: int = RESERVOIR) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.requests = 0
        self.errors = 0
        self._latencies: list[float] = []
        self._next = 0  # the slot the next latency overwrites once the ring is full
        self._capacity = capacity

    def record(self, latency_s: float, error: bool) -> None:
        self.requests += 1
        if error:
            self.errors += 1
        ring = self._latencies
        if len(ring) < self._capacity:
            ring.append(latency_s)
        else:
            ring[self._next] = latency_s
            self._next = (self._next + 1) % self._capacity

    @property
    def samples(self) -> int:
        """How many latencies the p99 is computed over."""
        return len(self._latencies)

    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def p99_ms(self) -> float:
        """The 99th percentile of the kept latencies (nearest rank), 0 when none."""
        ring = self._latencies
        if not ring:
            return 0.0
        ordered = sorted(ring)
        rank = math.ceil(0.99 * len(ordered))  # nearest-rank: 1-based, >= 1
        return ordered[rank - 1] * 1000.0

    def reset(self) -> None:
        self.requests = 0
        self.errors = 0
        self._latencies = []
        self._next = 0


@dataclass(frozen=True)
class Verdict:
    action: str  # "none" | "rollback" | "promote"
    reason: str


def judge(stable: RevisionStats, canary: RevisionStats, rules: gateway_pb2.RolloutRules) -> Verdict:
    """What the canary's numbers say, against the stable version's, under `rules`."""
    needed = rules.min_requests or DEFAULT_MIN_REQUESTS
    n = canary.requests
    if n < needed:
        return Verdict("none", f"canary has {n} of the {needed} requests needed to judge it")

    margin = (
        rules.max_error_rate_margin
        if rules.HasField("max_error_rate_margin")
        else DEFAULT_ERROR_RATE_MARGIN
    )
    canary_rate, stable_rate = canary.error_rate(), stable.error_rate()
    if canary_rate > stable_rate + margin + _EPSILON:
        return Verdict(
            "rollback",
            f"canary error rate {canary_rate:.2f} exceeds stable {stable_rate:.2f}"
            f" + margin {margin:.2f} over {n} requests",
        )

    latency = ""
    if rules.HasField("max_p99_margin"):
        if stable.samples >= math.ceil(needed / 2):
            canary_p99, stable_p99 = canary.p99_ms(), stable.p99_ms()
            limit = stable_p99 * (1.0 + rules.max_p99_margin)
            if canary_p99 > limit + _EPSILON:
                return Verdict(
                    "rollback",
                    f"canary p99 {canary_p99:.1f} ms exceeds stable {stable_p99:.1f} ms"
                    f" + {rules.max_p99_margin:.0%} ({limit:.1f} ms) over {n} requests",
                )
            latency = f", p99 {canary_p99:.1f} ms vs {stable_p99:.1f} ms"
        else:
            latency = (
                f", p99 not judged: stable has {stable.samples} of"
                f" {math.ceil(needed / 2)} latencies"
            )

    numbers = f"error rate {canary_rate:.2f} vs {stable_rate:.2f}{latency}"
    after = rules.promote_after_requests
    if after > 0 and n >= after:
        return Verdict("promote", f"canary served {n} requests within the margins ({numbers})")
    return Verdict("none", f"canary within the margins over {n} requests ({numbers})")


class TrafficSplit:
    """Per-request choices by percent, exact rather than random.

    A Bresenham-style accumulator: each call adds the percent and answers yes
    when it reaches 100, so 1,000 requests at 20 % send exactly 200, evenly
    spread. Random draws would be off by +-13 (one standard deviation) on the
    same 1,000. `phase` (0..100) offsets the pattern, e.g. per process.
    """

    __slots__ = ("_canary", "_mirror")

    def __init__(self, phase: float = 0.0) -> None:
        self._canary = phase % 100.0
        self._mirror = phase % 100.0

    def pick(self, percent: float) -> bool:
        """True: send this request to the canary."""
        self._canary, chosen = _step(self._canary, percent)
        return chosen

    def mirror(self, percent: float) -> bool:
        """True: also send a copy of this request to the shadow version."""
        self._mirror, chosen = _step(self._mirror, percent)
        return chosen


def _step(accumulator: float, percent: float) -> tuple[float, bool]:
    if not percent > 0.0:  # also NaN, which would poison the accumulator
        return accumulator, False
    if percent >= 100.0:
        return accumulator, True
    accumulator += percent
    if accumulator >= 100.0:
        return accumulator - 100.0, True
    return accumulator, False
