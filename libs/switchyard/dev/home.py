"""`switchyard up` owns its home while it runs.

An exclusive `flock` on `$SWITCHYARD_HOME/up.lock` says a platform is alive:
the kernel releases it when `up` dies, however it dies, so a second `up`
can tell a running platform (refuse, touching nothing) from a dead one
(clean up what it left, then start). `up.json` beside it records `up`'s
pid and each child's pid and start time, so that what a dead `up` left
behind can be found and stopped without mistaking a recycled pid for it,
and how often each part was restarted, for `switchyard status`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType

import psutil

LOCK = "up.lock"
STATE = "up.json"


@dataclass
class Child:
    pid: int
    started: float  # the process's create_time: a recycled pid has another
    log: str = ""


@dataclass
class UpState:
    pid: int
    started: float
    children: dict[str, Child] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)

    def write(self, home: Path) -> None:
        path = home / STATE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True))
        tmp.chmod(0o600)
        tmp.replace(path)

    @classmethod
    def read(cls, home: Path) -> UpState | None:
        try:
            raw = json.loads((home / STATE).read_text())
        except (OSError, ValueError):
            return None
        children = {name: Child(**c) for name, c in raw.get("children", {}).items()}
        return cls(raw["pid"], raw["started"], children, raw.get("restarts", {}))


class HomeLock:
    """The exclusive lock of one home; `acquire()` is False while another `up` holds it."""

    def __init__(self, home: Path) -> None:
        self.path = home / LOCK
        self._fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def held_by_other(self) -> bool:
        if self._fd is not None:
            return False
        if self.acquire():
            self.release()
            return False
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> HomeLock:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def alive(child: Child) -> psutil.Process | None:
    """The process, if the one recorded still runs (not a recycled pid)."""
    try:
        proc = psutil.Process(child.pid)
        if abs(proc.create_time() - child.started) > 1.0 or proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc
    except psutil.Error:
        return None


def leftovers(home: Path) -> dict[str, psutil.Process]:
    """What a dead `up` of this home left running, by name."""
    state = UpState.read(home)
    if state is None:
        return {}
    found = {name: alive(child) for name, child in state.children.items()}
    return {name: proc for name, proc in found.items() if proc is not None}


def stop_leftovers(home: Path, grace: float = 15.0) -> list[str]:
    """Stop what a dead `up` left (services first, PostgreSQL and NATS last)."""
    found = leftovers(home)
    order = sorted(found, key=lambda n: n in ("postgres", "nats", "seaweedfs"))
    for name in order:
        proc = found[name]
        with contextlib.suppress(psutil.Error, ProcessLookupError, PermissionError):
            sig = signal.SIGINT if name == "postgres" else signal.SIGTERM
            os.killpg(proc.pid, sig)
        _, still = psutil.wait_procs([proc], timeout=grace)
        for p in still:
            with contextlib.suppress(psutil.Error, ProcessLookupError, PermissionError):
                os.killpg(p.pid, signal.SIGKILL)
    (home / STATE).unlink(missing_ok=True)
    (home / "endpoints.json").unlink(missing_ok=True)
    return order


def child(pid: int, log: Path) -> Child:
    try:
        started = psutil.Process(pid).create_time()
    except psutil.Error:
        started = time.time()
    return Child(pid, started, str(log))


def ensure_token(home: Path) -> Path:
    """`home/token`: the platform's admin token, made on first start (mode 0600)."""
    from switchyard.core.auth import new_token
    from switchyard.core.config import TOKEN_FILE

    path = home / TOKEN_FILE
    if not path.exists() or not path.read_text().strip():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(new_token() + "\n")
    path.chmod(0o600)
    return path
