"""Metric points: writes (`metric_ingest.py`) and reads (`metric_history.py`).

The run store calls `ingest` inside its own transaction, with the batch's
params, tags and events; the service reads a history and pages or
downsamples it (`page`, `downsample`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.services.tracking import metric_history, metric_ingest
from switchyard.services.tracking.metric_history import History, downsample, page
from switchyard.services.tracking.metric_ingest import SMALL_BATCH


class MetricStore:
    async def ingest(
        self, conn: asyncpg.Connection, run_id: uuid.UUID, series: Sequence[pb.MetricSeries]
    ) -> int:
        """Write the points (inside the caller's transaction); return how many."""
        return await metric_ingest.write(conn, run_id, series)

    async def history(self, conn: asyncpg.Connection, run_id: uuid.UUID, key: str) -> History:
        """Every point of one metric, ordered by step, then timestamp, then arrival."""
        return await metric_history.read(conn, run_id, key)


__all__ = ["SMALL_BATCH", "History", "MetricStore", "downsample", "page"]
