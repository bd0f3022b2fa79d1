"""Keeping the local platform up: a part that exits is started again.

`switchyard up` watches every child (the services, the local worker, NATS,
PostgreSQL, SeaweedFS). One that exits is reported once, with how it
ended and the last lines of its log, and restarted after a backoff while
the rest keep serving; the services reconnect to a restarted NATS or
PostgreSQL by themselves. A part that keeps dying (a crash loop: five
exits within a minute) stops the platform with that message, since
restarting it again would only hide the fault.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

from switchyard.dev.process import ManagedProcess

CRASH_LOOP_EXITS = 5
CRASH_LOOP_WINDOW_S = 60.0
BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)


class CrashLoop(RuntimeError):
    """A part exited too often to go on."""


def how_it_ended(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class Supervisor:
    def __init__(
        self,
        parts: Callable[[], dict[str, ManagedProcess]],
        *,
        report: Callable[[str], None],
        on_restart: Callable[[str], None] = lambda _: None,
    ) -> None:
        self._parts = parts  # read each round: parts come and go while starting
        self._report = report
        self._on_restart = on_restart
        self._exits: dict[str, list[float]] = {}

    def check(self) -> None:
        """One round: restart whatever exited; CrashLoop when a part keeps dying."""
        for name, proc in self._parts().items():
            code = proc.exited()
            if code is not None:
                self._recover(name, proc, code)

    def run(self, every: float = 0.5, stop: Callable[[], bool] = lambda: False) -> None:
        while not stop():
            self.check()
            time.sleep(every)

    def _recover(self, name: str, proc: ManagedProcess, code: int) -> None:
        now = time.monotonic()
        exits = [t for t in self._exits.get(name, []) if now - t < CRASH_LOOP_WINDOW_S]
        exits.append(now)
        self._exits[name] = exits
        ended = how_it_ended(code)
        if len(exits) >= CRASH_LOOP_EXITS:
            raise CrashLoop(
                f"{name} exited {len(exits)} times within {CRASH_LOOP_WINDOW_S:.0f}s"
                f" (last: {ended}); stopping the platform. Its log ({proc.log_path}) ends:\n"
                f"{proc.tail(15)}"
            )
        delay = BACKOFF_S[min(len(exits), len(BACKOFF_S)) - 1]
        self._report(
            f"{name} exited ({ended}); restarting in {delay:g}s. Its log ends:\n{proc.tail(10)}"
        )
        time.sleep(delay)
        proc.restart()
        self._on_restart(name)
        self._report(f"{name} is back")
