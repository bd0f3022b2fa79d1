"""Tuner benchmarks against a real `switchyard up`, each beside its anchor.

    python tests/bench/bench_tuner.py [--quick] [--peers]

Starts `switchyard up` in a temporary home and a worker of 4 CPUs on a pool
of its own, then prints medians for:

- 100 trivial Branin trials, 4 at a time, end to end through `sy.tune`
  (from the call to the study's end): each trial its own job process, and
  with `reuse_processes=True` ("n/a" while `sy.tune` refuses it);
- suggest latency after 1,000 finished trials: the tuner's own path
  (`services.tuner.optimizer.Optimizer.ask`, which asks Optuna and suggests
  the space's dimensions) beside Optuna in-process (`study.ask()` and the
  same `suggest_float` calls), median of the 20 asks after the 1,000th,
  on Branin (2-D) and Hartmann-6 (6-D); and the time to rebuild the
  optimizer from 1,000 stored trials (what a restart or a takeover costs);
- best values: TPE on Branin through `sy.tune` (one trial at a time) beside
  Optuna in-process with the same sampler, seed and budget, over 5 seeds;
- with `--peers`: Ray Tune on the same 100 trials, via
  /work/shared/bench/tuning_peers.sh (a cached venv; "n/a" if it cannot be
  built or run in `--peers-timeout` seconds), and the ratios.

`--quick`: one round, fewer trials and seeds (the figures say which).
The machine is shared and noisy: compare ratios taken in one run.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.testing.workers import WorkerProcess

PEERS = Path("/work/shared/bench")
BRANIN_MIN = 0.397887
HARTMANN6_MIN = -3.32237
RESULTS: list[tuple[str, str, str]] = []


def report(name: str, value: str, anchor: str = "") -> None:
    RESULTS.append((name, value, anchor))
    print(f"{name:<62} {value:>14}   {anchor}", flush=True)


def start_platform(home: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
    env["SWITCHYARD_HOME"] = str(home)
    proc = subprocess.Popen(
        [sys.executable, "-m", "switchyard.cli.main", "up"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while not (home / "endpoints.json").exists():
        if proc.poll() is not None:
            raise SystemExit("switchyard up failed")
        time.sleep(0.05)
    return proc


# -- objectives ------------------------------------------------------------------


def branin(params: dict[str, float]) -> float:
    x1, x2 = params["x1"], params["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H_ALPHA = [1.0, 1.2, 3.0, 3.2]
_H_A = [
    [10, 3, 17, 3.5, 1.7, 8],
    [0.05, 10, 17, 0.1, 8, 14],
    [3, 3.5, 1.7, 10, 17, 8],
    [17, 8, 0.05, 10, 0.1, 14],
]
_H_P = [
    [1312, 1696, 5569, 124, 8283, 5886],
    [2329, 4135, 8307, 3736, 1004, 9991],
    [2348, 1451, 3522, 2883, 3047, 6650],
    [4047, 8828, 8732, 5743, 1091, 381],
]


def hartmann6(params: dict[str, float]) -> float:
    x = [params[f"x{j}"] for j in range(6)]
    total = 0.0
    for i in range(4):
        inner = sum(_H_A[i][j] * (x[j] - 1e-4 * _H_P[i][j]) ** 2 for j in range(6))
        total += _H_ALPHA[i] * math.exp(-inner)
    return -total


BRANIN_SPACE = {"x1": (-5.0, 10.0), "x2": (0.0, 15.0)}
HARTMANN6_SPACE = {f"x{j}": (0.0, 1.0) for j in range(6)}


# -- (a) 100 trivial trials end to end -------------------------------------------


def tune_branin(
    settings: Settings, pool: str, trials: int, parallel: int, seed: int, **extra: Any
) -> sy.Study:
    space = {k: sy.space.uniform(lo, hi) for k, (lo, hi) in BRANIN_SPACE.items()}
    return sy.tune(
        branin,
        space,
        metric="branin",
        num_trials=trials,
        parallel=parallel,
        algorithm="tpe",
        seed=seed,
        pool=pool,
        name=f"bench-{uuid.uuid4().hex[:8]}",
        settings=settings,
        **extra,
    )


def end_to_end(settings: Settings, pool: str, rounds: int, reuse: bool) -> list[float] | str:
    times = []
    for r in range(rounds):
        began = time.perf_counter()
        try:
            study = tune_branin(settings, pool, 100, 4, r, reuse_processes=reuse)
        except (sy.errors.FailedPrecondition, sy.errors.InvalidArgument, TypeError) as e:
            return f"n/a ({e})"
        study.wait(timeout=900, poll=0.1)
        times.append(time.perf_counter() - began)
        done = [t for t in study.trials if t.state == "COMPLETED"]
        if study.state != "COMPLETED" or len(done) != 100:
            return f"n/a (study {study.state}, {len(done)} completed: {study.message})"
    return times


def bench_end_to_end(settings: Settings, pool: str, rounds: int) -> dict[str, float]:
    found: dict[str, float] = {}
    for reuse, anchor in (
        (False, "target ≤ 10 s; Ray Tune 2.60 62.4 s"),
        (True, "target ≤ 3 s; Ray Tune reuse_actors 7.3 s"),
    ):
        name = (
            f"100 Branin trials, 4 at a time, {'reused processes' if reuse else 'a job each'} (s)"
        )
        times = end_to_end(settings, pool, rounds, reuse)
        if isinstance(times, str):
            report(name, "n/a", f"{anchor}; {times}"[:160])
            continue
        found["reuse" if reuse else "jobs"] = statistics.median(times)
        report(name, f"{statistics.median(times):.2f}", anchor)
    return found


# -- (b) suggest latency ---------------------------------------------------------


def _spec(ranges: dict[str, tuple[float, float]]) -> Any:
    from switchyard.proto.v1 import scheduler_pb2 as spb
    from switchyard.proto.v1 import tuner_pb2 as pb
    from switchyard.services.tuner import validation

    raw = pb.StudySpec(
        params=[
            pb.Param(name=k, float=pb.FloatRange(low=lo, high=hi)) for k, (lo, hi) in ranges.items()
        ],
        objectives=[pb.Objective(metric="loss")],
        algorithm="tpe",
        trial=spb.JobSpec(command=["true"]),
        parallel=1,
        max_trials=100_000,
        has_seed=True,
        seed=0,
    )
    return validation.study_spec(raw)


def tuner_latency(
    fn: Callable[[dict[str, float]], float], ranges: dict[str, tuple[float, float]], n: int
) -> tuple[float, float]:
    """Median ms of Optimizer.ask over the 20 asks after `n` told trials; ms to rebuild."""
    from switchyard.proto.v1 import tuner_pb2 as pb
    from switchyard.services.tuner.optimizer import Optimizer, TrialRecord

    spec, space = _spec(ranges)
    opt = Optimizer(spec, space)
    asks, records = [], []
    for i in range(n + 20):
        began = time.perf_counter()
        number, params = opt.ask()
        asks.append(time.perf_counter() - began)
        value = fn(params)  # type: ignore[arg-type]
        opt.tell(number, pb.TRIAL_COMPLETED, [value])
        if i < n:
            records.append(TrialRecord(number, pb.TRIAL_COMPLETED, params, [value]))
    began = time.perf_counter()
    Optimizer(spec, space, records)
    rebuild = time.perf_counter() - began
    return statistics.median(asks[n:]) * 1e3, rebuild * 1e3


def optuna_latency(
    fn: Callable[[dict[str, float]], float], ranges: dict[str, tuple[float, float]], n: int
) -> float:
    import optuna

    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    asks = []
    for _ in range(n + 20):
        began = time.perf_counter()
        trial = study.ask()
        params = {k: trial.suggest_float(k, lo, hi) for k, (lo, hi) in ranges.items()}
        asks.append(time.perf_counter() - began)
        study.tell(trial, fn(params))
    return statistics.median(asks[n:]) * 1e3


def bench_suggest(n: int) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for label, fn, ranges, anchor in (
        ("Branin", branin, BRANIN_SPACE, "Optuna 5.3 ms (peers run)"),
        ("Hartmann-6", hartmann6, HARTMANN6_SPACE, "Optuna 8.3 ms (peers run)"),
    ):
        ours, rebuild = tuner_latency(fn, ranges, n)
        theirs = optuna_latency(fn, ranges, n)
        report(
            f"suggest after {n:,} trials, {label}: tuner / Optuna (ms)",
            f"{ours:.2f} / {theirs:.2f}",
            f"target ≤ 2x: {ours / theirs:.2f}x; {anchor}",
        )
        report(f"rebuild the optimizer from {n:,} stored trials, {label} (ms)", f"{rebuild:.0f}")


# -- (c) best values --------------------------------------------------------------


def bench_best(settings: Settings, pool: str, trials: int, seeds: int) -> None:
    import optuna

    ours, theirs, equal = [], [], 0
    for seed in range(seeds):
        study = tune_branin(settings, pool, trials, 1, seed)
        study.wait(timeout=1800, poll=0.2)
        best = study.best_trial
        reference = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
        reference.optimize(
            lambda t: branin(
                {k: t.suggest_float(k, lo, hi) for k, (lo, hi) in BRANIN_SPACE.items()}
            ),
            n_trials=trials,
        )
        value = best.value if best is not None and best.value is not None else math.nan
        ours.append(value)
        theirs.append(reference.best_value)
        equal += value == reference.best_value
    report(
        f"best Branin, {trials} TPE trials, median of {seeds} seeds: tuner / Optuna",
        f"{statistics.median(ours):.4f} / {statistics.median(theirs):.4f}",
        f"equal in {equal}/{seeds} seeds; optimum {BRANIN_MIN}; peers 0.417",
    )


# -- (d) peers ---------------------------------------------------------------------

_RAY = re.compile(
    r"RAYTUNE branin (\S+)\s+reuse_actors=(\w+)\s+seed \d+: (\d+) trials .*? in ([\d.]+) s"
)


def bench_peers(quick: bool, timeout: float, ours: dict[str, float]) -> None:
    script = PEERS / "tuning_peers.sh"
    if not script.exists():
        report("Ray Tune, 100 Branin trials, 4 at a time (s)", "n/a", f"no {script}")
        return
    args = ["bash", str(script), "ray", *(["--quick"] if quick else [])]
    env = {**os.environ, "QUIET_WAIT_S": os.environ.get("QUIET_WAIT_S", "20")}
    proc = subprocess.Popen(
        args,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)  # the script stops what it started on TERM
        proc.communicate()
        report("Ray Tune, Branin trials, 4 at a time (s)", "n/a", f"not done in {timeout:.0f} s")
        return
    walls: dict[bool, list[tuple[int, float]]] = {False: [], True: []}
    for m in _RAY.finditer(out):
        if m.group(1) == "optuna-tpe":
            walls[m.group(2) == "True"].append((int(m.group(3)), float(m.group(4))))
    if not walls[False]:
        tail = " | ".join(out.strip().splitlines()[-3:])
        report("Ray Tune, Branin trials, 4 at a time (s)", "n/a", tail[:160])
        return
    for reuse, key in ((False, "jobs"), (True, "reuse")):
        if not walls[reuse]:
            continue
        count = walls[reuse][0][0]
        wall = statistics.median(w for _, w in walls[reuse])
        per_100 = wall * 100 / count
        ratio = f"tuner / Ray: {ours[key] / per_100:.2f}x" if key in ours else "tuner n/a"
        report(
            f"Ray Tune {count} Branin trials, reuse_actors={reuse}, per 100 (s)",
            f"{per_100:.2f}",
            ratio,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one round, smaller sizes")
    parser.add_argument("--peers", action="store_true", help="Ray Tune via tuning_peers.sh")
    parser.add_argument("--peers-timeout", type=float, default=300.0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"{'figure':<62} {'median':>14}   anchor")
    home = Path(tempfile.mkdtemp(prefix="sy-bench-tuner-"))
    platform = start_platform(home)
    pool = f"bench-tune-{uuid.uuid4().hex[:6]}"
    worker = WorkerProcess(home, pool, home / "bench-worker.log", cpus=4, memory="8G")
    try:
        worker.wait_ready(60)
        settings = Settings(home=home)
        ours = bench_end_to_end(settings, pool, 1 if args.quick else 3)
        bench_suggest(200 if args.quick else 1000)
        if args.quick:
            bench_best(settings, pool, trials=20, seeds=2)
        else:
            bench_best(settings, pool, trials=100, seeds=5)
        if args.peers:
            bench_peers(args.quick, args.peers_timeout, ours)
    finally:
        worker.stop()
        platform.send_signal(signal.SIGTERM)
        platform.wait(60)


if __name__ == "__main__":
    main()
