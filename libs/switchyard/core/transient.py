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
    # "cannot switch to state N": a protocol left half-way when the server died
    asyncpg.InternalClientError,
    nats.errors.Error,  # NATS away, draining, or a stream missing
)

# What an RPC answers UNAVAILABLE for (the client retries, or says the platform
# is unreachable), rather than INTERNAL: the database unreachable, restarting or
# full. Narrower than TRANSIENT: a constraint violation is a PostgresError too,
# and a bug, not an outage.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    TimeoutError,  # no connection in time (pool acquire, connect)
    OSError,  # refused or reset
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # shut down, restarting, crashed
    asyncpg.TooManyConnectionsError,
    asyncpg.InterfaceError,  # a connection lost mid-use
)

BACKOFF_S = (0.1, 0.5, 1.0, 2.0, 5.0)


def backoff(failures: int) -> float:
    """Seconds to wait after `failures` failures in a row (1 → the first step)."""
    return BACKOFF_S[min(max(failures, 1), len(BACKOFF_S)) - 1]
