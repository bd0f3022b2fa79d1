"""Builds a trainer-worker from settings; the shared runner runs it.

    switchyard worker [--pool NAME] [--cpus N] [--gpus N] [--memory 16G]

The options land in `Settings` (`worker_*`), so a worker is configured
like every other process, by flags or `SWITCHYARD_WORKER_*` variables.
"""

from __future__ import annotations

import asyncio
import os
import sys

from switchyard.core.config import Settings
from switchyard.core.runner import Runtime, run
from switchyard.services.trainer_worker.resources import Ledger
from switchyard.services.trainer_worker.spec import SPEC
from switchyard.services.trainer_worker.worker import Worker


async def setup(runtime: Runtime) -> None:
    settings = runtime.settings
    _watch_children_by_pidfd()
    ledger = Ledger.detect(settings.worker_cpus, settings.worker_gpus, settings.worker_memory_mb)
    worker = Worker(
        settings, pool=settings.worker_pool, ledger=ledger, grace_s=settings.worker_grace_s
    )
    runtime.main_task(worker.run(runtime.stop), "worker")


def _watch_children_by_pidfd() -> None:
    """Python 3.11 waits for each job process on a thread of its own; a pidfd in the
    event loop does it without one (3.12 does this by default)."""
    if sys.version_info < (3, 12) and hasattr(os, "pidfd_open"):
        watcher = asyncio.PidfdChildWatcher()
        watcher.attach_loop(asyncio.get_running_loop())
        asyncio.set_child_watcher(watcher)


def main(settings: Settings | None = None) -> None:
    run(SPEC, settings)


if __name__ == "__main__":
    main()
