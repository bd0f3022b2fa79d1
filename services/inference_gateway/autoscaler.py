"""How many replicas a deployment wants: Knative's KPA, as plain arithmetic.

The gateway samples the requests in flight for a revision (summed over its
ready replicas, plus those held in the buffer waiting for one, as Knative's
activator counts them) every half second or so and asks for a decision
every tick. Times are monotonic seconds passed in, so the rules are
deterministic and the tests need no clock.

- Stable mode: the mean concurrency over the stable window (60 s) divided by
  the target per replica, rounded up.
- Panic mode: the same over the panic window (6 s, a tenth of the stable
  window). Entered when it asks for `panic_threshold` (2x) the replicas that
  are ready; while panicking the count never goes down, and panic ends once a
  whole stable window passes without crossing the threshold again.
- Up at once (at most `max_scale_up_rate` x ready, and from zero always to
  one or more); down at most to ready / `max_scale_down_rate` per decision,
  and only once a whole stable window of samples is there to average.
- To zero, at `min_replicas` 0 only, once nothing arrived and nothing was in
  flight for `scale_to_zero_grace_s`: an idle deployment has nothing to
  average, so this does not wait for the stable window to drain.
- A request arriving while no replica is ready asks for one at once.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from switchyard.proto.v1 import gateway_pb2

DEFAULT_TARGET = 8.0
DEFAULT_STABLE_WINDOW_S = 60.0
PANIC_WINDOW_FRACTION = 0.1  # Knative's panic-window-percentage, 10 %
DEFAULT_PANIC_THRESHOLD = 2.0
DEFAULT_GRACE_S = 30.0
# Samples come every 0.5-1 s: a panic window shorter than that may hold none.
SAMPLE_SLACK_S = 1.0
# ceil(40 / 8) must be 5, not 6 from a float that came out as 5.0000000001.
_EPSILON = 1e-9


@dataclass(frozen=True)
class Policy:
    target: float  # requests in flight per replica
    min_replicas: int
    max_replicas: int
    stable_window_s: float = DEFAULT_STABLE_WINDOW_S
    panic_window_s: float = DEFAULT_STABLE_WINDOW_S * PANIC_WINDOW_FRACTION
    panic_threshold: float = DEFAULT_PANIC_THRESHOLD
    scale_to_zero_grace_s: float = DEFAULT_GRACE_S
    max_scale_up_rate: float = 1000.0
    max_scale_down_rate: float = 2.0

    def __post_init__(self) -> None:
        # Divisors and windows; a spec passed validation.check_spec, so only code trips these.
        if not (self.target > 0 and self.max_scale_down_rate > 0 and self.panic_window_s > 0):
            raise ValueError(f"target, max_scale_down_rate and panic_window_s must be > 0: {self}")
        if not 0 <= self.min_replicas <= self.max_replicas:
            raise ValueError(f"replicas must be 0 <= min <= max: {self}")

    @classmethod
    def from_spec(cls, spec: gateway_pb2.DeploymentSpec) -> Policy:
        """The policy a (validated) spec asks for; zero fields take the defaults."""
        a = spec.autoscaling
        stable = a.stable_window_s or DEFAULT_STABLE_WINDOW_S
        minimum = max(spec.min_replicas, 0)
        return cls(
            target=spec.target_concurrency or DEFAULT_TARGET,
            min_replicas=minimum,
            max_replicas=max(spec.max_replicas, minimum, 1),
            stable_window_s=stable,
            panic_window_s=min(a.panic_window_s or stable * PANIC_WINDOW_FRACTION, stable),
            panic_threshold=a.panic_threshold or DEFAULT_PANIC_THRESHOLD,
            scale_to_zero_grace_s=a.scale_to_zero_grace_s or DEFAULT_GRACE_S,
        )


@dataclass(frozen=True)
class Decision:
    desired: int
    observed: float  # the concurrency the decision used (panic or stable average)
    panic: bool
    # "load", "panic", "cold start", "scale to zero", "idle", "min_replicas",
    # "max_replicas": what settled the count, for the scaled event and metric.
    reason: str


class Autoscaler:
    """The KPA state of one revision: its samples, its last activity, its panic."""

    def __init__(self, policy: Policy, *, active_at: float | None = None) -> None:
        """`active_at` starts the idle clock (e.g. a gateway restart finding replicas
        running); without it a deployment at min_replicas 0 starts idle, at zero."""
        self.policy = policy
        self._samples: deque[tuple[float, float]] = deque()
        self._first_sample: float | None = None
        self._last_active = active_at  # last arrival or non-zero sample
        self._panic_since: float | None = None  # last time the threshold was crossed
        self._max_panic = 0  # the most asked for during this panic

    def set_policy(self, policy: Policy) -> None:
        """A new spec: the samples and the panic carry over."""
        self.policy = policy

    def record(self, now: float, in_flight: float) -> None:
        """One sample of the requests in flight (ready replicas plus the buffer)."""
        self._samples.append((now, in_flight))
        if self._first_sample is None:
            self._first_sample = now
        if in_flight > 0:
            self._mark(now)
        self._prune(now)

    def request_arrived(self, now: float) -> None:
        """Any request, even one held while at zero, is activity."""
        self._mark(now)

    def decide(self, now: float, ready: int) -> Decision:
        p = self.policy
        self._prune(now)
        stable_avg = self._average(now - p.stable_window_s)
        panic_avg = self._average(now - p.panic_window_s)
        if panic_avg is None:
            panic_avg = self._latest(now)
        stable_avg = stable_avg or 0.0
        want_stable = math.ceil(stable_avg / p.target - _EPSILON)
        want_panic = math.ceil(panic_avg / p.target - _EPSILON)

        ready = max(ready, 0)
        base = max(ready, 1)
        up_cap = max(math.ceil(p.max_scale_up_rate * base - _EPSILON), 1)
        down_floor = math.floor(ready / p.max_scale_down_rate + _EPSILON)
        stable_n = min(max(want_stable, down_floor), up_cap)
        panic_n = min(max(want_panic, down_floor), up_cap)

        if want_panic >= p.panic_threshold * base - _EPSILON and want_panic > 0:
            self._panic_since = now  # entered, or extended
        elif self._panic_since is not None and now - self._panic_since > p.stable_window_s:
            self._panic_since = None  # the surge is in the stable average now
            self._max_panic = 0
        panic = self._panic_since is not None

        desired, observed, reason = stable_n, stable_avg, "load"
        if desired < ready and not self._full_window(now):
            desired = ready  # too little history to average yet (e.g. just restarted)
        if panic:
            # Never down while panicking: the most asked for, or what is ready.
            desired = max(stable_n, panic_n, self._max_panic, ready)
            self._max_panic = desired
            observed, reason = max(panic_avg, stable_avg), "panic"

        if p.min_replicas == 0 and not panic and self._idle(now):
            return Decision(0, observed, False, "scale to zero" if ready else "idle")
        # Not idle: at least one replica even at min_replicas 0.
        floor = max(p.min_replicas, 1)
        if desired > p.max_replicas:
            desired, reason = p.max_replicas, "max_replicas"
        elif desired < floor:
            desired = floor
            reason = "min_replicas" if p.min_replicas else reason
        if ready == 0 and p.min_replicas == 0:
            reason = "cold start"  # woken from zero by a request
        return Decision(desired, observed, panic, reason)

    def _mark(self, now: float) -> None:
        if self._last_active is None or now > self._last_active:
            self._last_active = now

    def _full_window(self, now: float) -> bool:
        first = self._first_sample
        return first is not None and now - first >= self.policy.stable_window_s

    def _idle(self, now: float) -> bool:
        # Strict, so a request arriving at `now` wakes the deployment even at grace 0.
        last = self._last_active
        return last is None or now - last > self.policy.scale_to_zero_grace_s

    def _prune(self, now: float) -> None:
        horizon = now - self.policy.stable_window_s
        samples = self._samples
        while samples and samples[0][0] <= horizon:
            samples.popleft()

    def _latest(self, now: float) -> float:
        """The newest sample, when a short panic window fell between two samples."""
        if not self._samples:
            return 0.0
        t, value = self._samples[-1]
        return value if now - t <= self.policy.panic_window_s + SAMPLE_SLACK_S else 0.0

    def _average(self, since: float) -> float | None:
        """The mean of the samples after `since`; None when there are none."""
        total, count = 0.0, 0
        for t, value in reversed(self._samples):
            if t <= since:
                break
            total += value
            count += 1
        return total / count if count else None
