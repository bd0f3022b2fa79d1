"""A child process (a job, a model replica): its own process group, output line
by line, stopped by group.

The process starts in a new session (so its group is its own), and the
parent's reaper (`reaper.py`) kills the group if the parent dies. Stopping
sends SIGTERM to the whole group, waits the grace period, then SIGKILLs
the group; after the main process exits, the group is killed too so no
grandchild outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Mapping, Sequence

from switchyard.core.reaper import Reaper

LineSink = Callable[[str, str], None]  # (stream, text)


class ChildProcess:
    def __init__(self, proc: asyncio.subprocess.Process, sink: LineSink, reaper: Reaper) -> None:
        self.proc = proc
        self.pgid = proc.pid
        self.reaper = reaper
        reaper.watch(self.pgid)
        self.stopped_by: str = ""
        self._readers = [
            asyncio.create_task(self._pump(proc.stdout, "stdout", sink)),
            asyncio.create_task(self._pump(proc.stderr, "stderr", sink)),
        ]

    @classmethod
    async def start(
        cls,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: str | None,
        sink: LineSink,
        reaper: Reaper,
    ) -> ChildProcess:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env),
            cwd=cwd or None,
            start_new_session=True,
        )
        return cls(proc, sink, reaper)

    @staticmethod
    async def _pump(stream: asyncio.StreamReader | None, name: str, sink: LineSink) -> None:
        if stream is None:
            return
        while True:
            line = await stream.readline()
            if not line:
                return
            sink(name, line.decode(errors="replace"))

    async def wait(self, limit_s: float | None) -> int:
        """The exit code; on timeout the group is stopped and `stopped_by` says so."""
        try:
            code = await asyncio.wait_for(asyncio.shield(self.proc.wait()), limit_s)
        except TimeoutError:
            await self.stop("timeout", grace=5.0)
            code = await self.proc.wait()
        self._kill_group(signal.SIGKILL)
        self.reaper.forget(self.pgid)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self._readers), 5.0)
        return code

    async def stop(self, why: str, *, grace: float) -> None:
        """SIGTERM the group, wait `grace` seconds, then SIGKILL it.

        A no-op once the process has been reaped: its group id may then
        belong to someone else's new process.
        """
        if self.proc.returncode is not None:
            return
        if not self.stopped_by:
            self.stopped_by = why
        self._kill_group(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(self.proc.wait()), grace)
        except TimeoutError:
            self._kill_group(signal.SIGKILL)

    def _kill_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, sig)
