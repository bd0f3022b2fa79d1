"""Child processes die with their parent, even one killed with SIGKILL.

A trainer-worker that dies hard gets its jobs redelivered to other workers,
and a gateway's model replicas are replaced elsewhere; the old processes
must not run on beside the new ones. The parent starts one small helper
(this file, run as a script: standard library only, so it starts in
milliseconds) and tells it each child's process group through a pipe. When
the parent is gone, for whatever reason, the pipe closes and the helper
kills every group it still knows.

This replaces `setpriv --pdeathsig KILL` in front of every child, which cost
an extra exec (about 1 ms of CPU) per start and exists on Linux only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys


class Reaper:
    """The parent's side: `watch(pgid)` when a child starts, `forget(pgid)` once reaped."""

    def __init__(self) -> None:
        self._groups: set[int] = set()
        self._proc = self._spawn()

    @staticmethod
    def _spawn() -> subprocess.Popen[bytes]:
        # Its own session: a Ctrl-C in the terminal is for the parent, which
        # stops its children itself; the helper only acts once the parent is gone.
        return subprocess.Popen(
            [sys.executable, "-I", "-S", __file__],
            stdin=subprocess.PIPE,
            start_new_session=True,
        )

    def watch(self, pgid: int) -> None:
        self._groups.add(pgid)
        self._send(f"+{pgid}\n")

    def forget(self, pgid: int) -> None:
        self._groups.discard(pgid)
        self._send(f"-{pgid}\n")

    def _send(self, line: str) -> None:
        try:
            self._write(line)
        except OSError:  # the helper died (killed by hand, OOM): start another
            assert self._proc.stdin is not None
            with contextlib.suppress(OSError):
                self._proc.stdin.close()  # our end of its pipe
            self._proc.poll()  # reap the old one
            self._proc = self._spawn()
            self._write("".join(f"+{g}\n" for g in self._groups))

    def _write(self, text: str) -> None:
        assert self._proc.stdin is not None
        # Unbuffered and under PIPE_BUF a line: one write, never torn.
        os.write(self._proc.stdin.fileno(), text.encode())

    def close(self) -> None:
        """Kill what is still watched and stop the helper (the parent is stopping)."""
        assert self._proc.stdin is not None
        with contextlib.suppress(OSError):
            self._proc.stdin.close()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()

    def __enter__(self) -> Reaper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _helper() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    groups: set[int] = set()
    for line in sys.stdin.buffer:
        op, pgid = line[:1], int(line[1:])
        if op == b"+":
            groups.add(pgid)
        else:
            groups.discard(pgid)
    for pgid in groups:  # end of input: the parent exited or was killed
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


if __name__ == "__main__":
    _helper()
