"""Faults a background loop waits out instead of dying on.

The outbox relay and the scheduler's dispatch run for the life of a
service; PostgreSQL or NATS going away (or coming back without its
streams) must cost them a retry, never the loop. What each library raises
for that has drifted between releases (nats-py 2.16 raises asyncio's
TimeoutError where it raised its own; asyncpg raises InterfaceError kinds
for a connection that broke mid-transaction), so the list lives here
once, and `tests/integration/test_dependency_contracts.py` provokes each
fault against the real servers and checks it lands in this list.
"""

from __future__ import annotations

import asyncpg
import nats.errors

TRANSIENT: tuple[type[BaseException], ...] = (
    TimeoutError,  # asyncio's and nats-py's (a subclass)
    OSError,  # refused or reset connections
    asyncpg.PostgresError,  # includes the server shutting a connection down
    asyncpg.InterfaceError,  # a connection the client lost mid-use
    nats.errors.Error,  # NATS away, draining, or a stream missing
)

BACKOFF_S = (0.1, 0.5, 1.0, 2.0, 5.0)


def backoff(failures: int) -> float:
    """Seconds to wait after `failures` failures in a row (1 → the first step)."""
    return BACKOFF_S[min(max(failures, 1), len(BACKOFF_S)) - 1]
