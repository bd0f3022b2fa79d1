"""Successive halving (ASHA) on a synthetic learning-curve benchmark.

100 configurations x 27 steps; configuration i's loss at step t is
b_i + a_i / (t + 1). The curves cross: the best configuration (the lowest
b, so the lowest final loss) starts behind two others, which plateau
higher. Each trial is a Python function run as its own job; it logs one
value per step (flushed at once, so the tuner sees it) and writes the step
to a file *before* running it, so the file counts every step a trial
actually ran, the ones it ran while its pruning was on its way included.

Grid search over the configuration index gives each configuration exactly
one trial; with `parallel=4` and Optuna's SuccessiveHalvingPruner
(`early_stopping="asha"`: reduction factor 4, min_resource learned from the
first completed trial) Optuna in-process runs 13 % of the steps for this
set and order, and keeps the best configuration to its last step.

Two shares are checked: the steps the pruner let run (up to the step it
pruned at), at most 20 %; and the steps that ran, which also count what a
pruned trial runs while the prune reaches its process (the metric's event,
the tuner's verdict, the job's cancel: ~0.3 s, some five of these 70-ms
steps, on the 2-core machine), bounded loosely.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.testing.workers import WorkerProcess, new_pool

CONFIGS = 100
STEPS = 27
PAUSE_S = 0.05  # after each step: the tuner's verdict on it can arrive before the next
SEED = 3  # the grid's order: the best configuration comes 69th, among enough rivals


def curves(n: int = CONFIGS) -> list[tuple[float, float]]:
    """(b, a) per configuration; loss(t) = b + a / (t + 1)."""
    rng = random.Random(27)
    found = [(rng.uniform(0.5, 3.0), rng.uniform(0.5, 10.0)) for _ in range(n)]
    found[n // 3] = (0.2, 4.0)  # ends best; at step 1 two others are ahead of it
    return found


def learning_curve(record: Path, configs: list[tuple[float, float]]) -> Callable[..., None]:
    def objective(params: dict[str, Any]) -> None:
        i = params["config"]
        b, a = configs[i]
        for t in range(STEPS):
            with record.open("a") as out:  # one short append: atomic
                out.write(f"{i} {t} {time.time():.3f}\n")
            sy.log_metric("loss", b + a / (t + 1), step=t)
            sy.flush()
            if t < STEPS - 1:
                time.sleep(PAUSE_S)

    return objective


@pytest.fixture(scope="module")
def pool(switchyard_workers: Callable[..., list[WorkerProcess]]) -> str:
    return switchyard_workers(new_pool("tune-halving"), cpus=4)[0].pool


def test_asha_runs_a_fifth_of_the_steps_and_keeps_the_best(
    pool: str, switchyard_settings: Settings, uniq: Callable[..., str], tmp_path: Path
) -> None:
    configs = curves()
    loss = [[b + a / (t + 1) for t in range(STEPS)] for b, a in configs]
    best = min(range(CONFIGS), key=lambda i: loss[i][-1])
    at_step_1 = sorted(range(CONFIGS), key=lambda i: loss[i][1])
    assert at_step_1.index(best) == 2, "the curves must cross: the best starts third"

    record = tmp_path / "steps.txt"
    record.touch()
    began = time.monotonic()
    study = sy.tune(
        learning_curve(record, configs),
        {"config": sy.space.randint(0, CONFIGS - 1)},
        metric="loss",
        num_trials=CONFIGS,
        parallel=4,
        algorithm="grid",  # each configuration once
        early_stopping="asha",
        seed=SEED,
        cpus=1,
        pool=pool,
        name=uniq("asha"),
        settings=switchyard_settings,
    )
    assert study.wait(timeout=240).state == "COMPLETED", study.message
    took = time.monotonic() - began
    trials = study.trials
    assert sorted(t.params["config"] for t in trials) == list(range(CONFIGS))
    states = Counter(t.state for t in trials)
    assert set(states) <= {"COMPLETED", "PRUNED"}, [(t.state, t.message) for t in trials]
    assert states["PRUNED"] >= CONFIGS // 2, states

    lines = [line.split() for line in record.read_text().split("\n") if line]
    ran = Counter(int(i) for i, _, _ in lines)
    at = {(int(i), int(t)): float(when) for i, t, when in lines}
    executed = sum(ran.values())
    judged = 0  # the steps the pruner let run: up to the one it pruned at, or all
    lags = []  # from the judged step's start to the last step the trial began
    for t in trials:
        i = t.params["config"]
        if t.state == "PRUNED":
            m = re.fullmatch(r"pruned at step (\d+)", t.message)
            assert m, t.message
            judged += int(m.group(1)) + 1
            lags.append(at[(i, ran[i] - 1)] - at[(i, int(m.group(1)))])
        else:
            judged += STEPS
    lags.sort()
    summary = (
        f"{executed} of {CONFIGS * STEPS} steps ran ({executed / (CONFIGS * STEPS):.1%}); the"
        f" pruner let {judged} run ({judged / (CONFIGS * STEPS):.1%}); {dict(states)};"
        f" a pruned trial ran on for {lags[len(lags) // 2]:.2f} s (median),"
        f" {lags[9 * len(lags) // 10]:.2f} s (p90); {took:.0f} s in all"
    )
    print(summary)
    # The schedule: what successive halving lets run.
    assert judged <= 0.20 * CONFIGS * STEPS, summary
    # What ran: each pruned trial also runs the steps it takes the prune to reach
    # its process (the report's event, the tuner's verdict, the job's cancel):
    # ~0.3 s here, five of these 70-ms steps. Loose: it catches a cancel that never lands.
    assert executed <= 0.40 * CONFIGS * STEPS, summary

    kept = next(t for t in trials if t.params["config"] == best)
    assert kept.state == "COMPLETED" and ran[best] == STEPS, (kept, ran[best], summary)
    assert kept.last_step == STEPS - 1, kept
    found = study.best_trial
    assert found is not None and found.params == {"config": best}, (found, best)
    assert found.value == loss[best][-1]
