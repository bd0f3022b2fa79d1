"""A tuner SIGKILLed mid-study, as `switchyard up` meets it: the supervisor restarts
it, the study is taken up again from its stored trials, the trials that were
running are followed to their end (their events were durable), and the study
finishes with exactly the trials it asked for, none repeated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import switchyard as sy
from switchyard.core.config import Settings

pytestmark = pytest.mark.e2e


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for: {what}"
        time.sleep(0.2)


def slow_quadratic(params: dict[str, Any]) -> float:
    import time

    time.sleep(0.4)  # long enough for the kill to land while trials run
    return (params["x"] - 0.3) ** 2


def test_a_killed_tuner_is_restarted_and_its_study_completes_exactly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
    env["SWITCHYARD_HOME"] = str(home)
    up = subprocess.Popen(
        [sys.executable, "-m", "switchyard.cli.main", "up"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        _until(lambda: (home / "up.json").exists() or up.poll() is not None, 90, "up started")
        _until(lambda: (home / "logs" / "worker.log").exists(), 60, "the worker started")
        settings = Settings(home=home)
        study = sy.tune(
            slow_quadratic,
            {"x": sy.space.uniform(-1, 1)},
            metric="loss",
            num_trials=12,
            parallel=2,
            seed=3,
            name="killed-midway",
            settings=settings,
        )
        _until(lambda: sum(t.state == "COMPLETED" for t in study.trials) >= 3, 90, "3 trials")
        children = json.loads((home / "up.json").read_text())["children"]
        os.kill(children["tuner"]["pid"], signal.SIGKILL)

        def restarted() -> bool:
            return bool(json.loads((home / "up.json").read_text())["restarts"].get("tuner"))

        _until(restarted, 60, "the tuner restarted")
        assert study.wait(timeout=180).state == "COMPLETED", study.message
        trials = study.trials
        assert [t.number for t in trials] == list(range(12))
        assert [t.state for t in trials] == ["COMPLETED"] * 12, [
            (t.number, t.state) for t in trials
        ]
        for t in trials:
            assert t.value == pytest.approx((t.params["x"] - 0.3) ** 2)
        # A sampler rebuilt after the kill does not replay the first suggestions.
        assert len({round(t.params["x"], 12) for t in trials}) == 12
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(90)
