"""`switchyard up` as a child process in a home of its own, for end-to-end tests.

    with UpProcess(tmp_path / "home") as up:
        client = sy.Client(settings=Settings(home=up.home))
        os.kill(up.pid("tracking"), signal.SIGKILL)   # up restarts it

It waits until the platform and its worker are up, reads `up.json` (the
children and their restarts) and `endpoints.json`, and stops the platform
(SIGTERM, as Ctrl-C would) when the block ends.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from switchyard.core import service_spec


class UpProcess:
    def __init__(self, home: Path, *args: str, timeout: float = 90.0) -> None:
        self.home = home
        self.args = args
        self.timeout = timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.endpoints: dict[str, Any] = {}
        self._output: IO[bytes] | None = None

    def start(self) -> UpProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
        env["SWITCHYARD_HOME"] = str(self.home)
        self._output = tempfile.TemporaryFile()  # what up printed, for when it fails
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "switchyard.cli.main", "up", *self.args],
            env=env,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )
        proc = self.proc
        _until(lambda: (self.home / "up.json").exists() or proc.poll() is not None, self.timeout)
        if proc.poll() is not None:
            raise RuntimeError(f"switchyard up exited ({proc.returncode}):\n{self.output()}")
        _until(lambda: "worker" in self.state()["children"], self.timeout)
        self.endpoints = json.loads((self.home / "endpoints.json").read_text())
        return self

    def output(self) -> str:
        """What `up` printed so far."""
        if self._output is None:
            return ""
        self._output.seek(0)
        return self._output.read().decode(errors="replace")

    def state(self) -> dict[str, Any]:
        """up.json: `children` (name -> pid, log) and `restarts` (name -> count)."""
        return json.loads((self.home / "up.json").read_text())  # type: ignore[no-any-return]

    def pid(self, part: str) -> int:
        return int(self.state()["children"][part]["pid"])

    def restarts(self, part: str) -> int:
        return int(self.state()["restarts"].get(part, 0))

    def probes(self) -> dict[str, str]:
        """Each service's base URL for /livez, /readyz and /metrics."""
        http = self.endpoints["http"]
        names = [s.name for s in service_spec.services()]
        return {n: http.get(f"{n}-probes", http[n]) for n in names if n in http}

    def env(self) -> dict[str, str]:
        """The variables a shell needs to use this platform (as `switchyard env` prints)."""
        return {
            "SWITCHYARD_HOME": str(self.home),
            "MLFLOW_TRACKING_URI": self.endpoints["http"]["web"],
        }

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(90)
        if self._output is not None:
            self._output.close()
            self._output = None

    def __enter__(self) -> UpProcess:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def home_cli(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`switchyard ARGS` as a user of `home` runs it: no other SWITCHYARD_* in its env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
    env["SWITCHYARD_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "switchyard.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _until(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"switchyard up not ready within {timeout:.0f}s")
        time.sleep(0.1)
