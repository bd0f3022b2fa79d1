"""Metric points: columnar ingest with COPY, history reads, downsampling.

A batch of one key becomes one `metric_chunks` row of arrays, so ingest
costs one row per thousands of points and no object per point on either
side; `latest_metrics` keeps the newest value per key for search.
"""

from __future__ import annotations

import base64
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import numpy as np
from switchyard.core.ids import now_ms
from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import tracking_pb2 as pb

_CHUNK_COLUMNS = ["run_id", "key", "n", "min_step", "max_step", "steps", "timestamps", "metric_values"]
# MLflow's "latest": the highest step, then timestamp, then value.
_UPSERT_LATEST = """
INSERT INTO latest_metrics AS m (run_id, key, value, step, timestamp_ms)
SELECT $1, * FROM unnest($2::text[], $3::float8[], $4::int8[], $5::int8[])
ON CONFLICT (run_id, key) DO UPDATE SET
    value = EXCLUDED.value, step = EXCLUDED.step, timestamp_ms = EXCLUDED.timestamp_ms
WHERE (EXCLUDED.step, EXCLUDED.timestamp_ms, EXCLUDED.value) > (m.step, m.timestamp_ms, m.value)
"""
_TOKEN = struct.Struct("<qqqq")


@dataclass(frozen=True)
class History:
    steps: np.ndarray
    timestamps: np.ndarray
    values: np.ndarray
    # position of each point: (chunk id, index in chunk), the tie-breaker for paging
    chunk: np.ndarray
    index: np.ndarray

    def series(self, key: str, take: np.ndarray | slice) -> pb.MetricSeries:
        return pb.MetricSeries(
            key=key,
            values=self.values[take].tolist(),
            steps=self.steps[take].tolist(),
            timestamps=self.timestamps[take].tolist(),
        )


def _latest_index(steps: Sequence[int], timestamps: Sequence[int], values: Sequence[float]) -> int:
    last = len(steps) - 1
    top = max(steps)
    # The common case: steps rise and the last point is the only one at the top
    # step (an earlier point at the same step may be newer, so check them all).
    if steps[last] == top and steps.count(top) == 1:
        return last
    return max(range(len(steps)), key=lambda i: (steps[i], timestamps[i], values[i]))


class MetricStore:
    async def ingest(
        self, conn: asyncpg.Connection, run_id: uuid.UUID, series: Sequence[pb.MetricSeries]
    ) -> int:
        """Write the points (inside the caller's transaction); return how many."""
        now = now_ms()
        records = []
        latest: dict[str, tuple[float, int, int]] = {}
        written = 0
        for s in series:
            n = len(s.values)
            if n == 0:
                continue
            values = list(s.values)
            steps = list(s.steps) if s.steps else [0] * n
            stamps = list(s.timestamps) if s.timestamps else [now] * n
            records.append((run_id, s.key, n, min(steps), max(steps), steps, stamps, values))
            i = _latest_index(steps, stamps, values)
            point = (steps[i], stamps[i], values[i])
            prev = latest.get(s.key)
            if prev is None or (point[0], point[1], point[2]) > (prev[1], prev[2], prev[0]):
                latest[s.key] = (values[i], steps[i], stamps[i])
            written += n
        if not records:
            return 0
        await conn.copy_records_to_table("metric_chunks", records=records, columns=_CHUNK_COLUMNS)
        keys = sorted(latest)  # a fixed order avoids deadlocks between concurrent writers
        await conn.execute(
            _UPSERT_LATEST,
            run_id,
            keys,
            [latest[k][0] for k in keys],
            [latest[k][1] for k in keys],
            [latest[k][2] for k in keys],
        )
        return written

    async def history(self, conn: asyncpg.Connection, run_id: uuid.UUID, key: str) -> History:
        """Every point of one metric, ordered by step, then timestamp, then arrival."""
        rows = await conn.fetch(
            "SELECT chunk_id, n, steps, timestamps, metric_values FROM metric_chunks"
            " WHERE run_id = $1 AND key = $2 ORDER BY chunk_id",
            run_id, key,
        )
        if not rows:
            empty = np.empty(0, dtype=np.int64)
            return History(empty, empty, np.empty(0), empty, empty)
        steps = np.concatenate([np.asarray(r["steps"], dtype=np.int64) for r in rows])
        stamps = np.concatenate([np.asarray(r["timestamps"], dtype=np.int64) for r in rows])
        values = np.concatenate([np.asarray(r["metric_values"], dtype=np.float64) for r in rows])
        chunk = np.repeat(np.asarray([r["chunk_id"] for r in rows], dtype=np.int64), [r["n"] for r in rows])
        index = np.concatenate([np.arange(r["n"], dtype=np.int64) for r in rows])
        order = np.lexsort((index, chunk, stamps, steps))
        return History(steps[order], stamps[order], values[order], chunk[order], index[order])


def page(history: History, key: str, page_size: int, token: str) -> tuple[pb.MetricSeries, str]:
    """One page of the full history, resuming after the point in `token` (keyset)."""
    start = 0
    if token:
        try:
            step, stamp, chunk, index = _TOKEN.unpack(base64.urlsafe_b64decode(token))
        except (ValueError, struct.error):
            raise InvalidArgument("page_token is not a token this call returned", field="page_token") from None
        h = history
        after = (h.steps > step) | (
            (h.steps == step)
            & ((h.timestamps > stamp) | ((h.timestamps == stamp) & ((h.chunk > chunk) | ((h.chunk == chunk) & (h.index > index)))))
        )
        hits = np.flatnonzero(after)
        start = int(hits[0]) if hits.size else len(h.steps)
    end = min(start + page_size, len(history.steps))
    next_token = ""
    if end < len(history.steps):
        last = end - 1
        next_token = base64.urlsafe_b64encode(
            _TOKEN.pack(
                int(history.steps[last]), int(history.timestamps[last]),
                int(history.chunk[last]), int(history.index[last]),
            )
        ).decode()
    return history.series(key, slice(start, end)), next_token


def downsample(history: History, key: str, max_points: int) -> pb.MetricSeries:
    """At most `max_points` points for a chart, keeping each bucket's extremes.

    Steps are cut into equal-width buckets; each keeps its lowest and highest
    value (so spikes survive), and the first and last points are always kept.
    """
    n = len(history.steps)
    if n <= max_points:
        return history.series(key, slice(None))
    if max_points < 4:
        return history.series(key, np.linspace(0, n - 1, max_points).astype(np.int64))
    buckets = (max_points - 2) // 2
    lo, hi = int(history.steps[0]), int(history.steps[-1])
    width = max(1, hi - lo + 1)
    bucket = ((history.steps - lo).astype(np.float64) * buckets / width).astype(np.int64)
    by_value = np.lexsort((history.values, bucket))  # within each bucket, by value
    sorted_buckets = bucket[by_value]
    starts = np.flatnonzero(np.r_[True, sorted_buckets[1:] != sorted_buckets[:-1]])
    ends = np.r_[starts[1:], len(by_value)] - 1
    keep = np.unique(np.concatenate([[0, n - 1], by_value[starts], by_value[ends]]))
    return history.series(key, keep)
