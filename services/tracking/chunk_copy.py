"""PostgreSQL's binary COPY format for `metric_chunks`, built with numpy.

asyncpg's COPY encodes array elements one Python object at a time (with an
isinstance check each); at hundreds of thousands of points per second that
was half the ingest cost. Here each array is laid out in one vectorized
step: the wire format is a header, then per row a field count and
length-prefixed fields, arrays in PostgreSQL's binary array layout.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

COLUMNS = ["run_id", "key", "n", "min_step", "max_step", "steps", "timestamps", "metric_values"]
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_TRAILER = struct.pack("!h", -1)
_INT8_OID = 20
_FLOAT8_OID = 701
_INT8_ELEMENTS = np.dtype([("len", ">i4"), ("v", ">i8")])
_FLOAT8_ELEMENTS = np.dtype([("len", ">i4"), ("v", ">f8")])


@dataclass(frozen=True)
class Chunk:
    run_id: uuid.UUID
    key: str
    steps: np.ndarray  # int64
    timestamps: np.ndarray  # int64
    values: np.ndarray  # float64


def _array(values: np.ndarray, oid: int, layout: np.dtype) -> bytes:
    body = np.empty(len(values), dtype=layout)
    body["len"] = 8
    body["v"] = values
    # ndim, has-nulls flag, element type, length, lower bound
    return struct.pack("!iiiii", 1, 0, oid, len(values), 1) + body.tobytes()


def _field(data: bytes) -> bytes:
    return struct.pack("!i", len(data)) + data


def encode(chunks: Iterable[Chunk]) -> bytes:
    parts = [_SIGNATURE]
    for c in chunks:
        parts.append(struct.pack("!h", len(COLUMNS)))
        parts.append(_field(c.run_id.bytes))
        parts.append(_field(c.key.encode()))
        parts.append(_field(struct.pack("!i", len(c.values))))
        parts.append(_field(struct.pack("!q", int(c.steps.min()))))
        parts.append(_field(struct.pack("!q", int(c.steps.max()))))
        parts.append(_field(_array(c.steps, _INT8_OID, _INT8_ELEMENTS)))
        parts.append(_field(_array(c.timestamps, _INT8_OID, _INT8_ELEMENTS)))
        parts.append(_field(_array(c.values, _FLOAT8_OID, _FLOAT8_ELEMENTS)))
    parts.append(_TRAILER)
    return b"".join(parts)
