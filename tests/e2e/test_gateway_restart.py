"""A gateway SIGKILLed under `switchyard up`: the supervisor restarts it, it
rebuilds its deployments from its schema, the running replicas register with
it again (their heartbeats), and predictions resume with no new replica."""

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

import numpy as np
import pytest

import switchyard as sy
from switchyard import errors
from switchyard.core.config import Settings
from switchyard.sdk import fluent

pytestmark = pytest.mark.e2e


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for: {what}"
        time.sleep(0.2)


def tripled(x: Any) -> Any:
    import numpy as np

    return np.asarray(x, dtype=np.float64).sum(axis=1) * 3


def test_a_killed_gateway_comes_back_with_its_deployments_and_replicas(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
    env["SWITCHYARD_HOME"] = str(home)
    up = subprocess.Popen(
        [sys.executable, "-m", "switchyard.cli.main", "up"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    settings = Settings(home=home)
    try:
        _until(lambda: (home / "up.json").exists() or up.poll() is not None, 90, "up started")
        _until(lambda: (home / "logs" / "worker.log").exists(), 60, "the worker started")
        fluent.reset(settings)
        with sy.start_run():
            sy.log_model(tripled, "m", registered_model_name="tripled", flavor="python_function")
        deployment = sy.deploy("models:/tripled/1", "kept", settings=settings)
        deployment.wait_ready(timeout=90)
        row = np.array([[1.0, 2.0]])
        np.testing.assert_allclose(sy.predict("kept", row, settings=settings), [9.0])
        (replica,) = deployment.refresh().replica_list

        children = json.loads((home / "up.json").read_text())["children"]
        os.kill(children["gateway"]["pid"], signal.SIGKILL)
        _until(
            lambda: bool(json.loads((home / "up.json").read_text())["restarts"].get("gateway")),
            60,
            "the gateway restarted",
        )

        def answers() -> bool:
            try:
                got = sy.predict("kept", row, timeout=5, settings=settings)
            except errors.SwitchyardError:
                return False
            return bool(np.allclose(got, [9.0]))

        _until(answers, 60, "predictions through the restarted gateway")
        after = sy.get_deployment("kept", settings=settings)
        _until(lambda: after.refresh().state == "READY", 10, "the deployment READY again")
        assert [r.job_id for r in after.replica_list] == [replica.job_id]  # the same replica
    finally:
        fluent.reset()
        up.send_signal(signal.SIGTERM)
        up.wait(90)
