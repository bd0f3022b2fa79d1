"""`switchyard up` owns its home and keeps its platform up.

As a user meets it: a second `up` on a live home refuses in one line and
touches nothing; a service that dies is restarted while the rest keep
serving (and `status` counts it); when `up` itself is SIGKILLed its
children die with it, and `down` finds nothing left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.testing.up import home_cli

pytestmark = pytest.mark.e2e


_cli = home_cli


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _cmd(pid: int) -> str:
    try:
        return " ".join(psutil.Process(pid).cmdline()[:6])
    except psutil.Error:
        return "?"


def _until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_up_owns_its_home_restarts_what_dies_and_takes_its_children_along(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
    env["SWITCHYARD_HOME"] = str(home)
    up = subprocess.Popen(
        [sys.executable, "-m", "switchyard.cli.main", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _until(lambda: (home / "up.json").exists() or up.poll() is not None, 90, "up started")
        assert up.poll() is None, up.stdout.read() if up.stdout else ""
        endpoints = (home / "endpoints.json").read_text()
        # The home and its logs are the owner's alone (they hold the database and logs);
        # as root, PostgreSQL runs as a system user that may traverse it, not list it.
        assert home.stat().st_mode & 0o777 == (0o701 if os.geteuid() == 0 else 0o700)
        assert {log.stat().st_mode & 0o777 for log in (home / "logs").iterdir()} == {0o600}

        second = _cli(home, "up")
        assert second.returncode == 2
        assert "already running" in second.stdout and "Traceback" not in second.stdout
        assert (home / "endpoints.json").read_text() == endpoints  # touched nothing

        children = json.loads((home / "up.json").read_text())["children"]
        os.kill(children["tracking"]["pid"], signal.SIGKILL)

        def restarted() -> bool:
            state = json.loads((home / "up.json").read_text())
            return bool(state["restarts"].get("tracking"))

        _until(restarted, 60, "tracking restarted")
        with sy.Client(settings=Settings(home=home)) as client:  # serving again
            assert client.create_experiment("after-restart")
        status = _cli(home, "status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert "tracking" in status.stdout
        printed = _cli(home, "env").stdout
        assert f"export SWITCHYARD_HOME={home}" in printed
        assert "export MLFLOW_TRACKING_URI=http://" in printed

        children_now = {
            name: c["pid"]
            for name, c in json.loads((home / "up.json").read_text())["children"].items()
        }
        pids = list(children_now.values())
        up.kill()  # SIGKILL: no chance to stop anything itself
        up.wait(10)
        try:
            _until(
                lambda: not any(_running(p) for p in pids),
                45,  # each service drains first; a loaded CI machine is slow at it
                "the children of a SIGKILLed up died with it",
            )
        except AssertionError:
            left = {c: _cmd(p) for c, p in children_now.items() if _running(p)}
            raise AssertionError(f"still running after up was SIGKILLed: {left}") from None
        assert "nothing is running" in _cli(home, "down").stdout
        assert _cli(home, "status").returncode == 3
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
            up.wait(60)
        if up.stdout is not None:
            up.stdout.close()
