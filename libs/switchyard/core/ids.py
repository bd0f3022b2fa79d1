"""Identifiers and time, in MLflow's formats where the concept is shared."""

from __future__ import annotations

import os
import time
import uuid


def now_ms() -> int:
    """Milliseconds since the epoch: MLflow's unit for every timestamp."""
    return time.time_ns() // 1_000_000


def uuid7() -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 version 7), used for event ids."""
    ms = now_ms()
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64
    value |= (0b10 << 62) | (rand & 0x3FFF_FFFF_FFFF_FFFF)
    return uuid.UUID(int=value)


def new_run_id() -> str:
    """A run id as MLflow writes them (32 lowercase hex characters), time-ordered
    (UUIDv7): runs made together sit together in the index. Made by the platform,
    or by a client that pipelines a run's creation (sy's fluent runs)."""
    return uuid7().hex


def parse_hex_id(value: str) -> uuid.UUID | None:
    """The UUID behind a 32-hex id, or None when it is not one."""
    if len(value) != 32:
        return None
    try:
        return uuid.UUID(hex=value)
    except ValueError:
        return None
