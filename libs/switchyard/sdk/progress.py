"""A progress bar for transfers a person waits on: artifacts and models.

Shown on stderr only when it is a terminal, the transfer is at least
`MIN_BYTES`, and `SWITCHYARD_PROGRESS` is not `0` (scripts, notebooks' logs
and CI stay quiet). The bar learns the total first and each file as it
lands (`core.artifacts.TransferProgress`), and is gone when it ends.
"""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import Any

MIN_BYTES = 5 << 20


def wanted(total_bytes: int) -> bool:
    return (
        total_bytes >= MIN_BYTES
        and os.environ.get("SWITCHYARD_PROGRESS", "1") != "0"
        and sys.stderr.isatty()
    )


class TransferBar:
    def __init__(self, description: str) -> None:
        self.description = description
        self._progress: Any = None
        self._task: Any = None

    def start(self, total_bytes: int) -> None:
        if not wanted(total_bytes):
            return
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        self._progress = Progress(
            "{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(self.description, total=total_bytes)

    def advance(self, done_bytes: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, done_bytes)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> TransferBar:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
