"""Metric points: columnar ingest with COPY, history reads, downsampling.

A batch of one key becomes one `metric_chunks` row of arrays, so ingest
costs one row per thousands of points and no object per point on either
side; `latest_metrics` keeps the newest value per key for search.
"""

from __future__ import annotations

import base64
import struct
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np

from switchyard.core.ids import now_ms
from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.services.tracking import chunk_copy
from switchyard.services.tracking.chunk_copy import Chunk

_CHUNK_COLUMNS = [
    "run_id",
    "key",
    "n",
    "min_step",
    "max_step",
    "steps",
    "timestamps",
    "metric_values",
]
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


def _latest_index(steps: np.ndarray, stamps: np.ndarray, values: np.ndarray) -> int:
    last = len(steps) - 1
    # The common case: the last point alone holds the highest step.
    if steps[last] == steps.max() and np.count_nonzero(steps == steps[last]) == 1:
        return last
    return int(np.lexsort((values, stamps, steps))[-1])


class MetricStore:
    async def ingest(
        self, conn: asyncpg.Connection, run_id: uuid.UUID, series: Sequence[pb.MetricSeries]
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
            return written
        await conn.copy_to_table(
            "metric_chunks",
            source=_once(chunk_copy.encode(chunks)),
            columns=chunk_copy.COLUMNS,
            format="binary",
        )
        await conn.execute(_UPSERT_LATEST, *latest_args)
        return written

    async def history(self, conn: asyncpg.Connection, run_id: uuid.UUID, key: str) -> History:
        """Every point of one metric, ordered by step, then timestamp, then arrival."""
        # array_send hands over PostgreSQL's binary array format, which numpy
        # reads in place: no Python object per point on the way out either.
        rows = await conn.fetch(
            "SELECT chunk_id, n, array_send(steps) AS steps, array_send(timestamps) AS timestamps,"
            " array_send(metric_values) AS metric_values FROM metric_chunks"
            " WHERE run_id = $1 AND key = $2 ORDER BY chunk_id",
            run_id,
            key,
        )
        if not rows:
            empty = np.empty(0, dtype=np.int64)
            return History(empty, empty, np.empty(0), empty, empty)
        steps = np.concatenate([_unpack(r["steps"], _INT8) for r in rows])
        stamps = np.concatenate([_unpack(r["timestamps"], _INT8) for r in rows])
        values = np.concatenate([_unpack(r["metric_values"], _FLOAT8) for r in rows])
        counts = [r["n"] for r in rows]
        chunk = np.repeat(np.asarray([r["chunk_id"] for r in rows], dtype=np.int64), counts)
        index = np.concatenate([np.arange(n, dtype=np.int64) for n in counts])
        if not _in_order(steps, stamps):
            order = np.lexsort((index, chunk, stamps, steps))
            steps, stamps, values, chunk, index = (
                steps[order],
                stamps[order],
                values[order],
                chunk[order],
                index[order],
            )
        return History(steps, stamps, values, chunk, index)


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


# Element layout of PostgreSQL's binary array format: int4 length, then the value.
_INT8 = np.dtype([("len", ">i4"), ("v", ">i8")])
_FLOAT8 = np.dtype([("len", ">i4"), ("v", ">f8")])
_ARRAY_HEADER = 20  # ndim, flags, element oid, dimension, lower bound


def _unpack(raw: bytes, dtype: np.dtype) -> np.ndarray:
    if len(raw) <= 12:  # an empty array has no dimension header
        return np.empty(0, dtype=dtype["v"].newbyteorder("="))
    return np.frombuffer(raw, dtype=dtype, offset=_ARRAY_HEADER)["v"].astype(
        dtype["v"].newbyteorder("=")
    )


def _in_order(steps: np.ndarray, stamps: np.ndarray) -> bool:
    """Already sorted by (step, timestamp)? Arrival order breaks remaining ties."""
    d_step = np.diff(steps)
    return bool(np.all((d_step > 0) | ((d_step == 0) & (np.diff(stamps) >= 0))))


def page(history: History, key: str, page_size: int, token: str) -> tuple[pb.MetricSeries, str]:
    """One page of the full history, resuming after the point in `token` (keyset)."""
    start = 0
    if token:
        try:
            step, stamp, chunk, index = _TOKEN.unpack(base64.urlsafe_b64decode(token))
        except (ValueError, struct.error):
            raise InvalidArgument(
                "page_token is not a token this call returned", field="page_token"
            ) from None
        h = history
        after = (h.steps > step) | (
            (h.steps == step)
            & (
                (h.timestamps > stamp)
                | (
                    (h.timestamps == stamp)
                    & ((h.chunk > chunk) | ((h.chunk == chunk) & (h.index > index)))
                )
            )
        )
        hits = np.flatnonzero(after)
        start = int(hits[0]) if hits.size else len(h.steps)
    end = min(start + page_size, len(history.steps))
    next_token = ""
    if end < len(history.steps):
        last = end - 1
        next_token = base64.urlsafe_b64encode(
            _TOKEN.pack(
                int(history.steps[last]),
                int(history.timestamps[last]),
                int(history.chunk[last]),
                int(history.index[last]),
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
    # Steps are sorted, so each bucket is one contiguous segment.
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    keep = [
        np.array([0, n - 1]),
        _extreme(history.values, starts, np.fmin),
        _extreme(history.values, starts, np.fmax),
    ]
    return history.series(key, np.unique(np.concatenate(keep)))


def _extreme(values: np.ndarray, starts: np.ndarray, pick: np.ufunc) -> np.ndarray:
    """Index of the first min (fmin) or max (fmax) in each segment; NaN is skipped."""
    best = pick.reduceat(values, starts)
    counts = np.diff(np.r_[starts, len(values)])
    hit = values == np.repeat(best, counts)
    positions = np.where(hit, np.arange(len(values)), len(values))
    first = np.minimum.reduceat(positions, starts)
    return np.where(first < len(values), first, starts)  # an all-NaN bucket keeps its start
