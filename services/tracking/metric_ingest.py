"""Metric points in: a batch becomes one `metric_chunks` row of arrays per key.

Ingest costs one row per thousands of points and no object per point: small
batches go in one statement with the latest values, larger ones through a
vectorized binary COPY (`chunk_copy.py`). `latest_metrics` keeps the newest
value per key for search.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import numpy as np
from prometheus_client import Counter

from switchyard.core.ids import now_ms
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.services.tracking import chunk_copy
from switchyard.services.tracking.chunk_copy import Chunk

# MLflow's "latest": the highest step, then timestamp, then value.
_UPSERT_LATEST = """
INSERT INTO latest_metrics AS m (run_id, key, value, step, timestamp_ms)
SELECT $1, * FROM unnest($2::text[], $3::float8[], $4::int8[], $5::int8[])
ON CONFLICT (run_id, key) DO UPDATE SET
    value = EXCLUDED.value, step = EXCLUDED.step, timestamp_ms = EXCLUDED.timestamp_ms
WHERE (EXCLUDED.step, EXCLUDED.timestamp_ms, EXCLUDED.value) > (m.step, m.timestamp_ms, m.value)
"""
# A small batch (log_metric sends one point): its chunks and the latest values in
# one statement. COPY costs two round trips and asyncpg reads a file source on
# its thread pool; for a few points that was most of a write. Each chunk's
# arrays are slices of the batch's flat ones, in batch order (chunk ids keep it).
_INSERT_SMALL = f"""
WITH chunks AS (
    INSERT INTO metric_chunks (run_id, key, n, min_step, max_step, steps, timestamps, metric_values)
    SELECT $1, c.key, c.n, c.lo, c.hi, ($10::int8[])[c.o + 1 : c.o + c.n],
           ($11::int8[])[c.o + 1 : c.o + c.n], ($12::float8[])[c.o + 1 : c.o + c.n]
    FROM unnest($6::text[], $7::int4[], $8::int4[], $9::int8[], $13::int8[])
         WITH ORDINALITY AS c(key, n, o, lo, hi, i)
    ORDER BY c.i
)
{_UPSERT_LATEST}"""
SMALL_BATCH = 100  # points; larger batches go through the vectorized COPY
# Counted when written in the caller's transaction: a batch whose transaction
# then rolls back (rare: its run vanished) is counted too.
POINTS = Counter("switchyard_tracking_metric_points_total", "Metric points written")
BATCHES = Counter(
    "switchyard_tracking_metric_batches_total",
    "Metric batches written, by path (small: one statement, copy: binary COPY)",
    ["path"],
)


async def write(
    conn: asyncpg.Connection, run_id: uuid.UUID, series: Sequence[pb.MetricSeries]
) -> int:
    """Write the points (inside the caller's transaction); return how many."""
    now = now_ms()
    chunks: list[Chunk] = []
    latest: dict[str, tuple[int, int, float]] = {}
    for s in series:
        n = len(s.values)
        if n == 0:
            continue
        values = np.array(s.values, dtype=np.float64)
        steps = np.array(s.steps, dtype=np.int64) if s.steps else np.zeros(n, dtype=np.int64)
        stamps = np.array(s.timestamps, dtype=np.int64) if s.timestamps else np.full(n, now)
        chunks.append(Chunk(run_id, s.key, steps, stamps, values))
        i = _latest_index(steps, stamps, values)
        point = (int(steps[i]), int(stamps[i]), float(values[i]))
        if s.key not in latest or point > latest[s.key]:
            latest[s.key] = point
    if not chunks:
        return 0
    keys = sorted(latest)  # a fixed order avoids deadlocks between concurrent writers
    latest_args = (
        run_id,
        keys,
        [latest[k][2] for k in keys],
        [latest[k][0] for k in keys],
        [latest[k][1] for k in keys],
    )
    written = sum(len(c.values) for c in chunks)
    if written <= SMALL_BATCH:
        await conn.execute(_INSERT_SMALL, *latest_args, *_flat(chunks))
        _count(written, "small")
        return written
    await conn.copy_to_table(
        "metric_chunks",
        source=_once(chunk_copy.encode(chunks)),
        columns=chunk_copy.COLUMNS,
        format="binary",
    )
    await conn.execute(_UPSERT_LATEST, *latest_args)
    _count(written, "copy")
    return written


def _count(points: int, path: str) -> None:
    POINTS.inc(points)
    BATCHES.labels(path).inc()


def _latest_index(steps: np.ndarray, stamps: np.ndarray, values: np.ndarray) -> int:
    last = len(steps) - 1
    # The common case: the last point alone holds the highest step.
    if steps[last] == steps.max() and np.count_nonzero(steps == steps[last]) == 1:
        return last
    return int(np.lexsort((values, stamps, steps))[-1])


async def _once(data: bytes) -> AsyncIterator[bytes]:
    """COPY's source as an async iterable: asyncpg reads a file object on its thread pool."""
    yield data


def _flat(chunks: Sequence[Chunk]) -> tuple[list[Any], ...]:
    """`_INSERT_SMALL`'s chunk arguments ($6..$13): per chunk its key, size, offset and
    step range, and the points of all chunks end to end."""
    sizes = [len(c.values) for c in chunks]
    offsets = np.cumsum([0, *sizes[:-1]]).tolist()
    return (
        [c.key for c in chunks],
        sizes,
        offsets,
        [int(c.steps.min()) for c in chunks],
        np.concatenate([c.steps for c in chunks]).tolist(),
        np.concatenate([c.timestamps for c in chunks]).tolist(),
        np.concatenate([c.values for c in chunks]).tolist(),
        [int(c.steps.max()) for c in chunks],
    )
