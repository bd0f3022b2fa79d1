"""Metric points in: a batch becomes one `metric_chunks` row of arrays per key.

Ingest costs one row per thousands of points and no object per point: small
batches go in one statement with the latest values, larger ones through a
vectorized binary COPY (`chunk_copy.py`). `latest_metrics` keeps the newest
value per key for search.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence

import asyncpg
import numpy as np
from prometheus_client import Counter

from switchyard.core.ids import now_ms
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.services.tracking import chunk_copy
from switchyard.services.tracking.chunk_copy import Chunk

# MLflow's "latest": the highest step, then timestamp, then value; one row per
# (run, key), of one run or many.
_UPSERT_LATEST = """
INSERT INTO latest_metrics AS m (run_id, key, value, step, timestamp_ms)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::float8[], $4::int8[], $5::int8[])
ON CONFLICT (run_id, key) DO UPDATE SET
    value = EXCLUDED.value, step = EXCLUDED.step, timestamp_ms = EXCLUDED.timestamp_ms
WHERE (EXCLUDED.step, EXCLUDED.timestamp_ms, EXCLUDED.value) > (m.step, m.timestamp_ms, m.value)
"""
# Small batches (log_metric sends one point; a group of pipelined runs sends a
# few each): their chunks and the latest values in one statement, for any
# number of runs. COPY costs two round trips and asyncpg reads a file source
# on its thread pool; for a few points that was most of a write. Each chunk's
# arrays are slices of the flat ones, in order (chunk ids keep it).
_INSERT_SMALL = f"""
WITH chunks AS (
    INSERT INTO metric_chunks (run_id, key, n, min_step, max_step, steps, timestamps, metric_values)
    SELECT c.run, c.key, c.n, c.lo, c.hi, ($11::int8[])[c.o + 1 : c.o + c.n],
           ($12::int8[])[c.o + 1 : c.o + c.n], ($13::float8[])[c.o + 1 : c.o + c.n]
    FROM unnest($6::uuid[], $7::text[], $8::int4[], $9::int4[], $10::int8[], $14::int8[])
         WITH ORDINALITY AS c(run, key, n, o, lo, hi, i)
    ORDER BY c.i
)
{_UPSERT_LATEST}"""
SMALL_BATCH = 100  # points; larger batches go through the vectorized COPY
MANY_SMALL = 10_000  # points of many runs' small batches still written in one statement
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
    if sum(len(s.values) for s in series) <= SMALL_BATCH:
        return await write_small(conn, [(run_id, series)])
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
        [run_id] * len(keys),
        keys,
        [latest[k][2] for k in keys],
        [latest[k][0] for k in keys],
        [latest[k][1] for k in keys],
    )
    written = sum(len(c.values) for c in chunks)
    await conn.copy_to_table(
        "metric_chunks",
        source=_once(chunk_copy.encode(chunks)),
        columns=chunk_copy.COLUMNS,
        format="binary",
    )
    await conn.execute(_UPSERT_LATEST, *latest_args)
    _count(written, "copy")
    return written


async def write_many(
    conn: asyncpg.Connection, batches: Sequence[tuple[uuid.UUID, Sequence[pb.MetricSeries]]]
) -> int:
    """The points of several runs' batches (a group of pipelined writes): one
    statement while they are few, else each batch as `write` would."""
    if sum(len(s.values) for _, series in batches for s in series) <= MANY_SMALL:
        return await write_small(conn, batches)
    written = 0
    for run_id, series in batches:
        written += await write(conn, run_id, series)
    return written


async def write_small(
    conn: asyncpg.Connection, batches: Sequence[tuple[uuid.UUID, Sequence[pb.MetricSeries]]]
) -> int:
    """A few points of one or more runs (a `log_metric`, a group of fluent runs):
    plain lists, no arrays, whose set-up costs more than the points; one statement."""
    now = now_ms()
    runs: list[uuid.UUID] = []
    keys: list[str] = []
    sizes: list[int] = []
    offsets: list[int] = []
    lows: list[int] = []
    highs: list[int] = []
    steps: list[int] = []
    stamps: list[int] = []
    values: list[float] = []
    latest: dict[tuple[uuid.UUID, str], tuple[int, int, float]] = {}
    for run_id, series in batches:
        for s in series:
            n = len(s.values)
            if n == 0:
                continue
            s_steps = list(s.steps) if s.steps else [0] * n
            s_stamps = list(s.timestamps) if s.timestamps else [now] * n
            s_values = list(s.values)
            runs.append(run_id)
            keys.append(s.key)
            sizes.append(n)
            offsets.append(len(values))
            lows.append(min(s_steps))
            highs.append(max(s_steps))
            steps += s_steps
            stamps += s_stamps
            values += s_values
            point = max(zip(s_steps, s_stamps, s_values, strict=True))
            if latest.get((run_id, s.key), point) <= point:
                latest[(run_id, s.key)] = point
    if not keys:
        return 0
    order = sorted(latest)  # a fixed order avoids deadlocks between concurrent writers
    await conn.execute(
        _INSERT_SMALL,
        [r for r, _ in order],
        [k for _, k in order],
        [latest[o][2] for o in order],
        [latest[o][0] for o in order],
        [latest[o][1] for o in order],
        runs,
        keys,
        sizes,
        offsets,
        lows,
        steps,
        stamps,
        values,
        highs,
    )
    _count(len(values), "small")
    return len(values)


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
