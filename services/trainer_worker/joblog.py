"""A job attempt's output: kept whole in a file, shipped to the scheduler in pieces."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import grpc

from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.proto.v1 import scheduler_pb2_grpc as rpc

log = logging.getLogger(__name__)
FLUSH_EVERY_S = 0.25
MAX_PIECE = 256 * 1024


class JobLog:
    def __init__(
        self, stub: rpc.SchedulerServiceStub, path: Path, job_id: str, attempt: int, rank: int
    ) -> None:
        self.stub = stub
        self.path = path
        self.job_id, self.attempt, self.rank = job_id, attempt, rank
        self._file = path.open("w", encoding="utf-8")
        self._pending: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._size = 0
        self.written = 0  # characters, all told
        self._wake = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._ship_loop())

    def write(self, stream: str, text: str) -> None:
        self._file.write(text)
        self.written += len(text)
        self._pending[stream].append(text)
        self._size += len(text)
        if self._size >= MAX_PIECE:
            self._wake.set()

    async def _ship_loop(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_EVERY_S)
            self._wake.clear()
            await self.ship()

    async def ship(self) -> None:
        for stream, parts in self._pending.items():
            if not parts:
                continue
            text = "".join(parts)
            parts.clear()
            self._size = 0
            req = pb.AppendLogsRequest(
                job_id=self.job_id, attempt=self.attempt, rank=self.rank, stream=stream, text=text
            )
            try:
                await self.stub.AppendLogs(req, timeout=10)
            except grpc.aio.AioRpcError as exc:  # logs are best effort; the file keeps all
                log.warning("could not ship logs", extra={"job_id": self.job_id, "error": str(exc)})

    async def close(self) -> None:
        # Not cancelled: a piece in flight would be lost. The loop ends after it.
        self._closing = True
        self._wake.set()
        await self._task
        await self.ship()
        self._file.close()
