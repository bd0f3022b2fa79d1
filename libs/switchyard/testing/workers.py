"""Real trainer-workers for tests: `switchyard worker` processes on a platform.

def test_my_training_job(switchyard_workers, switchyard_settings):
    pool = switchyard_workers(cpus=2)[0].pool     # a pool of its own
    job = sy.JobsClient(settings=switchyard_settings).submit_job(
        ["python", "train.py"], pool=pool
    )
    assert job.wait(timeout=60).state == "SUCCEEDED"
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import TracebackType


class WorkerProcess:
    """`switchyard worker` in a subprocess, finding the platform through `home`."""

    def __init__(
        self,
        home: Path,
        pool: str,
        log: Path,
        *,
        cpus: float = 1,
        gpus: int = 0,
        memory: str = "4G",
        grace: float = 1.0,
        http_port: int = 0,
    ) -> None:
        self.pool = pool
        self.log = log
        self.http_port = http_port
        env = {**os.environ, "SWITCHYARD_HOME": str(home), "SWITCHYARD_LOG_FORMAT": "console"}
        # Probes on a port the OS picks unless one is given (to scrape its /metrics):
        # workers started together would race for 7614.
        env["SWITCHYARD_HTTP_PORT"] = str(http_port)
        argv = [sys.executable, "-m", "switchyard.cli.main", "worker", "--pool", pool]
        argv += ["--cpus", str(cpus), "--gpus", str(gpus), "--memory", memory]
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [*argv, "--grace", str(grace)], env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float = 30) -> WorkerProcess:
        deadline = time.monotonic() + timeout
        while "worker ready" not in self.log.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{self.log.read_text()}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> WorkerProcess:
        return self.wait_ready()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def new_pool(prefix: str = "pool") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"
