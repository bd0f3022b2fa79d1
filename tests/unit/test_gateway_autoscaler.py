"""The gateway's KPA arithmetic (services/inference_gateway/autoscaler.py), on a fake clock."""

from __future__ import annotations

import itertools

import pytest

from switchyard.proto.v1 import gateway_pb2
from switchyard.services.inference_gateway.autoscaler import Autoscaler, Decision, Policy


def policy(**overrides: float) -> Policy:
    base: dict[str, float] = {"target": 8, "min_replicas": 1, "max_replicas": 10}
    base.update(overrides)
    return Policy(**base)  # type: ignore[arg-type]


class Sim:
    """Samples once a second and decides every two, as the gateway's loop would;
    `ready` follows the decision at once (replicas start instantly here)."""

    def __init__(self, scaler: Autoscaler, ready: int, now: float = 1000.0) -> None:
        self.scaler, self.ready, self.now = scaler, ready, now
        self.decisions: list[Decision] = []

    def run(self, seconds: int, load: float, *, follow: bool = True) -> Decision:
        decision = None
        for _ in range(seconds):
            self.now += 1.0
            self.scaler.record(self.now, load)
            if int(self.now) % 2 == 0:
                decision = self.scaler.decide(self.now, self.ready)
                self.decisions.append(decision)
                if follow:
                    self.ready = decision.desired
        assert decision is not None
        return decision


def test_load_step_panics_and_scales_up_at_once() -> None:
    sim = Sim(Autoscaler(policy()), ready=1)
    sim.run(10, 4)  # half the target: one replica is right
    assert sim.decisions[-1] == Decision(1, 4.0, False, "load")
    first = sim.run(2, 40)  # 40 in flight at target 8: the panic window sees it first
    assert (first.panic, first.reason) == (True, "panic")
    assert first.desired >= 2  # ceil((4 x 4 + 2 x 40) / 6 / 8) at least: up already
    sim.run(4, 40)  # one panic window (6 s) into the step: all five
    assert sim.ready == 5
    assert [d.desired for d in sim.decisions[-3:]] == sorted(d.desired for d in sim.decisions[-3:])
    assert sim.decisions[-1] == Decision(5, 40.0, True, "panic")
    sim.run(20, 40)
    assert sim.ready == 5  # steady: no overshoot


def test_a_load_step_with_no_history_gets_every_replica_on_the_first_decision() -> None:
    scaler = Autoscaler(policy())
    scaler.record(0.5, 40)
    scaler.record(1.0, 40)
    assert scaler.decide(1.0, 1) == Decision(5, 40.0, True, "panic")


def test_panic_never_scales_down_and_stable_window_scales_down_gradually() -> None:
    sim = Sim(Autoscaler(policy()), ready=1)
    sim.run(2, 40)
    assert sim.ready == 5
    sim.run(20, 40)  # 5 x 8 = 40: steady, but still inside the panic's stable window
    assert all(d.desired == 5 for d in sim.decisions)
    sim.run(30, 0)  # load gone: panic holds the five until a stable window passes
    assert sim.ready == 5 and all(d.panic for d in sim.decisions)
    counts = []
    for _ in range(60):
        counts.append(sim.run(2, 0).desired)
    assert counts[-1] == 1  # min_replicas
    steps = [b for a, b in itertools.pairwise([5, *counts]) if b != a]
    assert len(steps) >= 2, counts  # several steps, not 5 -> 1 at once
    for before, after in itertools.pairwise([5, *counts]):
        assert after >= before // 2  # no faster than halving per decision
    assert not sim.decisions[-1].panic
    assert sim.decisions[-1].reason == "min_replicas"


def test_scale_down_no_faster_than_the_rate() -> None:
    scaler = Autoscaler(policy(max_replicas=20, stable_window_s=10, panic_window_s=1))
    now = 0.0
    for _ in range(20):
        now += 1
        scaler.record(now, 0)
    assert scaler.decide(now, 16).desired == 8
    assert scaler.decide(now, 8).desired == 4
    assert scaler.decide(now, 3).desired == 1


def test_scale_up_is_capped_by_the_rate() -> None:
    scaler = Autoscaler(policy(max_replicas=100, max_scale_up_rate=2.0))
    scaler.record(1.0, 400)
    d = scaler.decide(1.0, 3)
    assert (d.desired, d.panic) == (6, True)


def test_below_panic_threshold_follows_the_stable_window() -> None:
    sim = Sim(Autoscaler(policy()), ready=4)
    sim.run(58, 24)  # 24 in flight on 4 replicas: 3 are enough, once a window is averaged
    assert {d.desired for d in sim.decisions} == {4}
    sim.run(4, 24)
    assert sim.ready == 3 and not sim.decisions[-1].panic
    sim.decisions.clear()
    sim.run(60, 40)  # 5 wanted on 3 ready: under the 2x threshold, so the stable window rises
    counts = [d.desired for d in sim.decisions]
    assert not any(d.panic for d in sim.decisions)
    assert counts == sorted(counts) and counts[0] == 4 and counts[-1] == 5, counts
    assert counts.index(5) > 5  # not at once: the stable average catches up


def test_scale_to_zero_after_the_grace_then_cold_start() -> None:
    scaler = Autoscaler(policy(min_replicas=0, scale_to_zero_grace_s=30))
    scaler.request_arrived(0.0)
    for t in range(1, 11):
        scaler.record(float(t), 3)  # traffic until t=10
    d = scaler.decide(10.0, 1)
    assert (d.desired, d.reason) == (1, "load")
    for t in range(11, 41):
        scaler.record(float(t), 0)
    assert scaler.decide(40.0, 1).desired == 1  # idle 30 s: not more than the grace yet
    scaler.record(41.0, 0)
    assert scaler.decide(41.0, 1) == Decision(
        0, pytest.approx(3 * 10 / 41), False, "scale to zero"
    )  # the mean of the 41 samples in the stable window
    scaler.record(42.0, 0)
    assert scaler.decide(42.0, 0).reason == "idle"
    assert scaler.decide(42.0, 0).desired == 0
    # a request arrives while nothing is ready: one replica, at once
    scaler.request_arrived(43.0)
    d = scaler.decide(43.0, 0)
    assert (d.desired, d.reason) == (1, "cold start")


def test_a_burst_at_zero_asks_for_enough_at_once() -> None:
    scaler = Autoscaler(policy(min_replicas=0))
    scaler.request_arrived(5.0)
    scaler.record(5.0, 40)  # 40 held in the buffer
    d = scaler.decide(5.0, 0)
    assert (d.desired, d.reason, d.panic) == (5, "cold start", True)


def test_a_request_at_grace_zero_still_wakes_it() -> None:
    scaler = Autoscaler(policy(min_replicas=0, scale_to_zero_grace_s=0))
    assert scaler.decide(0.0, 0).desired == 0
    scaler.request_arrived(1.0)
    assert scaler.decide(1.0, 0).desired == 1
    assert scaler.decide(1.5, 1).desired == 0


def test_no_scale_to_zero_while_panicking_or_at_min_one() -> None:
    scaler = Autoscaler(policy(min_replicas=0, scale_to_zero_grace_s=5))
    scaler.record(0.0, 40)
    assert scaler.decide(0.0, 1).panic
    for t in range(1, 40):
        scaler.record(float(t), 0)
    d = scaler.decide(39.0, 5)
    assert d.panic and d.desired == 5  # idle for 39 s, but the panic holds
    scaler.record(61.0, 0)
    assert scaler.decide(61.0, 5).desired == 0  # panic over (60 s): to zero

    at_min = Autoscaler(policy(min_replicas=1, scale_to_zero_grace_s=5))
    at_min.record(0.0, 0)
    assert at_min.decide(100.0, 1) == Decision(1, 0.0, False, "min_replicas")


def test_clamps_to_min_and_max() -> None:
    scaler = Autoscaler(policy(min_replicas=2, max_replicas=3))
    assert scaler.decide(0.0, 0) == Decision(2, 0.0, False, "min_replicas")
    scaler.record(1.0, 800)
    d = scaler.decide(1.0, 2)
    assert (d.desired, d.reason, d.panic) == (3, "max_replicas", True)


def test_no_samples_in_a_short_panic_window_uses_the_latest() -> None:
    scaler = Autoscaler(policy(panic_window_s=0.5))
    scaler.record(10.0, 40)
    assert scaler.decide(10.9, 1).desired == 5  # the 0.5 s window is empty: latest sample
    fresh = Autoscaler(policy(panic_window_s=0.5))
    fresh.record(10.0, 40)
    fresh.record(10.0, 0)
    assert not fresh.decide(30.0, 1).panic  # a sample that old is not the panic window


def test_set_policy_keeps_the_samples() -> None:
    scaler = Autoscaler(policy(target=8))
    for t in range(10):
        scaler.record(float(t), 16)
    assert scaler.decide(9.0, 2).desired == 2
    scaler.set_policy(policy(target=4))
    assert scaler.decide(9.0, 2).desired == 4  # same 16 in flight, half the target
    scaler.set_policy(policy(target=4, max_replicas=3))
    assert scaler.decide(9.0, 3).desired == 3


def test_samples_older_than_the_stable_window_are_dropped() -> None:
    scaler = Autoscaler(policy(stable_window_s=10, panic_window_s=1))
    scaler.record(0.0, 80)
    scaler.record(20.0, 8)
    d = scaler.decide(20.0, 1)
    assert d.observed == 8 and d.desired == 1


def test_policy_from_spec_defaults_and_values() -> None:
    spec = gateway_pb2.DeploymentSpec(name="m", model_uri="models:/m/1")
    p = Policy.from_spec(spec)
    assert p == Policy(target=8, min_replicas=0, max_replicas=1)
    assert (p.stable_window_s, p.panic_window_s, p.panic_threshold) == (60, 6, 2.0)
    assert p.scale_to_zero_grace_s == 30
    spec.min_replicas = 3
    assert Policy.from_spec(spec).max_replicas == 3
    spec.max_replicas = 7
    spec.target_concurrency = 2.5
    spec.autoscaling.stable_window_s = 20
    spec.autoscaling.panic_threshold = 3
    spec.autoscaling.scale_to_zero_grace_s = 5
    p = Policy.from_spec(spec)
    assert (p.target, p.min_replicas, p.max_replicas) == (2.5, 3, 7)
    assert (p.stable_window_s, p.panic_window_s) == (20, 2)  # panic: 10 % of stable
    assert (p.panic_threshold, p.scale_to_zero_grace_s) == (3, 5)
    spec.autoscaling.panic_window_s = 4
    assert Policy.from_spec(spec).panic_window_s == 4


def test_no_scale_down_before_a_whole_stable_window_of_samples() -> None:
    # e.g. the gateway restarted and finds three replicas running
    scaler = Autoscaler(policy(stable_window_s=10, panic_window_s=1), active_at=100.0)
    scaler.record(100.0, 0)
    assert scaler.decide(105.0, 3).desired == 3
    scaler.record(110.0, 0)
    assert scaler.decide(110.0, 3).desired == 1


def test_active_at_starts_the_idle_clock() -> None:
    idle = Autoscaler(policy(min_replicas=0, scale_to_zero_grace_s=30))
    assert idle.decide(100.0, 2) == Decision(0, 0.0, False, "scale to zero")
    kept = Autoscaler(policy(min_replicas=0, scale_to_zero_grace_s=30), active_at=100.0)
    assert kept.decide(100.0, 2).desired == 2
    assert kept.decide(129.0, 0) == Decision(1, 0.0, False, "cold start")
    assert kept.decide(131.0, 2).desired == 0


@pytest.mark.parametrize(
    "bad", [{"target": 0}, {"max_scale_down_rate": 0}, {"panic_window_s": 0}, {"min_replicas": 11}]
)
def test_a_policy_that_cannot_work_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        policy(**bad)
