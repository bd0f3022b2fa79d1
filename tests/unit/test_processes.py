"""A child process runs in its own group, streams its lines and stops by group."""

from __future__ import annotations

import asyncio
import os

import psutil

from switchyard.core.processes import ChildProcess
from switchyard.core.reaper import Reaper


async def test_lines_exit_code_and_timeout() -> None:
    lines: list[tuple[str, str]] = []
    with Reaper() as reaper:
        child = await ChildProcess.start(
            ["sh", "-c", "echo out; echo err >&2; exit 3"],
            env=dict(os.environ),
            cwd=None,
            sink=lambda stream, text: lines.append((stream, text)),
            reaper=reaper,
        )
        assert await child.wait(10) == 3 and child.stopped_by == ""
        assert sorted(lines) == [("stderr", "err\n"), ("stdout", "out\n")]

        # past its time limit the group is stopped, and the child says why
        slow = await ChildProcess.start(
            ["sh", "-c", "sleep 30 & wait"],
            env=dict(os.environ),
            cwd=None,
            sink=lambda stream, text: None,
            reaper=reaper,
        )
        code = await asyncio.wait_for(slow.wait(0.2), 15)
        assert slow.stopped_by == "timeout" and code != 0
        await slow.stop("again", grace=0.1)  # a no-op once reaped
        assert slow.stopped_by == "timeout"


async def test_stop_terminates_the_whole_group() -> None:
    with Reaper() as reaper:
        child = await ChildProcess.start(
            ["sh", "-c", "sleep 30 & sleep 30"],
            env=dict(os.environ),
            cwd=None,
            sink=lambda stream, text: None,
            reaper=reaper,
        )
        await child.stop("cancelled", grace=5)
        assert await child.wait(None) != 0 and child.stopped_by == "cancelled"
        for _ in range(100):
            if not _running_in(child.pgid):  # a zombie awaiting init's reaping is dead
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the group outlived its stop")


def _running_in(pgid: int) -> list[int]:
    running = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                running.append(proc.pid)
        except (ProcessLookupError, psutil.Error):
            pass
    return running
