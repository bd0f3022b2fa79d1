"""A stop is bounded: a service whose close hangs still exits, and says where.

When `switchyard up` is SIGKILLed its children get SIGTERM from the kernel
and nobody follows up with a SIGKILL, so the runner itself must not wait on
a close that never ends (a NATS or PostgreSQL that went away with `up`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HANGS = """
import asyncio
import sys
from pathlib import Path

from switchyard.core.config import Settings
from switchyard.core.runner import run
from switchyard.core.service_spec import ServiceSpec


async def setup(runtime):
    async def close_for_ever():
        await asyncio.Event().wait()

    runtime.stack.push_async_callback(close_for_ever)
    Path(sys.argv[1]).write_text("set up")


if __name__ == "__main__":
    spec = ServiceSpec("hangs", None, 0, "sy_hangs:setup", needs=frozenset())
    run(spec, Settings(http_port=0, stop_deadline_seconds=float(sys.argv[2])))
"""


def _start(tmp_path: Path, deadline_s: float) -> tuple[subprocess.Popen[str], Path]:
    (tmp_path / "sy_hangs.py").write_text(textwrap.dedent(HANGS))
    marker = tmp_path / "ready"
    marker.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
    env["PYTHONPATH"] = str(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, str(tmp_path / "sy_hangs.py"), str(marker), str(deadline_s)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "the service did not set up"
        time.sleep(0.05)
    time.sleep(0.3)  # past setup: serving
    return proc, marker


def test_a_stop_whose_close_hangs_ends_at_the_deadline_and_names_what_waited(
    tmp_path: Path,
) -> None:
    proc, _ = _start(tmp_path, deadline_s=1.5)
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    took = time.monotonic() - began
    assert proc.returncode == 1, out
    assert 1.4 < took < 10, took
    assert "stop overdue" in out
    assert "close_for_ever() sy_hangs.py" in out  # where it waited


def test_a_second_signal_ends_the_stop_at_once(tmp_path: Path) -> None:
    proc, _ = _start(tmp_path, deadline_s=60)
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 1, out
    assert time.monotonic() - began < 10
    assert "second stop signal" in out
