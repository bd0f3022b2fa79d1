"""Metric points out: one metric's whole history, paged or downsampled for a chart.

The points come back as numpy arrays read straight from PostgreSQL's binary
array format, ordered by step, then timestamp, then arrival; paging is keyset
over that order (`core/paging.py`), so points logged meanwhile neither
repeat nor vanish.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import cast

import asyncpg
import numpy as np

from switchyard.core import paging
from switchyard.proto.v1 import tracking_pb2 as pb

# The history's order: a token holds the last returned point's place in it.
_ORDER = tuple(paging.SortKey(k, "bigint", True) for k in ("step", "timestamp", "chunk", "index"))
_TOKENS = paging.TokenRules(max_chars=1024, changed="metric key")


@dataclass(frozen=True)
class History:
    steps: np.ndarray
    timestamps: np.ndarray
    values: np.ndarray
    # position of each point: (chunk id, index in chunk), the tie-breaker for paging
    chunk: np.ndarray
    index: np.ndarray

    def window(self, min_step: int | None, max_step: int | None) -> History:
        """The points with min_step <= step <= max_step (steps are sorted)."""
        start = 0 if min_step is None else int(np.searchsorted(self.steps, min_step, "left"))
        end = len(self.steps)
        if max_step is not None:
            end = int(np.searchsorted(self.steps, max_step, "right"))
        take = slice(start, max(start, end))
        return History(
            self.steps[take],
            self.timestamps[take],
            self.values[take],
            self.chunk[take],
            self.index[take],
        )

    def series(self, key: str, take: np.ndarray | slice) -> pb.MetricSeries:
        return pb.MetricSeries(
            key=key,
            values=self.values[take].tolist(),
            steps=self.steps[take].tolist(),
            timestamps=self.timestamps[take].tolist(),
        )


async def read(conn: asyncpg.Connection, run_id: uuid.UUID, key: str) -> History:
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
    search = paging.fingerprint("metric-history", key)
    start = 0
    if token:
        values = paging.decode(token, search, _ORDER, _TOKENS)
        step, stamp, chunk, index = cast(list[int], values)
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
        h = history
        point = [h.steps[last], h.timestamps[last], h.chunk[last], h.index[last]]
        next_token = paging.encode(search, _ORDER, [int(v) for v in point])
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
