"""The outbox guarantee against real PostgreSQL and JetStream: no lost, no
phantom, no duplicate events, even when a relay dies mid-way."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from switchyard.core import event_types as et
from switchyard.core.bus import Bus
from switchyard.core.db import Database
from switchyard.core.events import Event
from switchyard.core.outbox import MIGRATION, Outbox, OutboxRelay
from switchyard.proto.v1 import events_pb2 as ev
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.testing import Infrastructure


class RelayKilled(Exception):
    pass


async def _collect(bus: Bus, seconds: float) -> list[Event]:
    got: list[Event] = []

    async def keep(event: Event) -> None:
        got.append(event)

    task = await bus.consume("sy.>", keep, deliver_new=False)
    await asyncio.sleep(seconds)
    task.cancel()
    return got


def _run_event(run_id: str) -> ev.RunChanged:
    return ev.RunChanged(info=pb.RunInfo(run_id=run_id, status=pb.RUN_STATUS_RUNNING))


@pytest.fixture
async def parts(switchyard_infra: Infrastructure):  # type: ignore[no-untyped-def]
    namespace = f"ob{secrets.token_hex(3)}"
    async with (
        Database(switchyard_infra.database_url, f"{namespace}_svc") as db,
        Bus(switchyard_infra.nats_url, namespace=namespace) as bus,
    ):
        await db.migrate([MIGRATION])
        await bus.ensure_events_stream()
        yield db, bus, Outbox()


async def test_relay_killed_after_publish_delivers_exactly_once(parts) -> None:  # type: ignore[no-untyped-def]
    db, bus, outbox = parts
    async with db.pool.acquire() as conn, conn.transaction():
        committed = await outbox.add(conn, et.RUN_CREATED, "run-1", _run_event("run-1"))

    async def die(_: object) -> None:
        raise RelayKilled  # after JetStream acked, before the row is marked

    with pytest.raises(RelayKilled):
        await OutboxRelay(db, bus, after_publish=die).relay_once()
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 1

    assert await OutboxRelay(db, bus).relay_once() == 1  # the restarted relay publishes again
    assert await OutboxRelay(db, bus).relay_once() == 0
    received = await _collect(bus, 1.0)
    assert [e.id for e in received] == [committed.id]
    assert received[0].type == "sy.tracking.run.created"
    assert received[0].data.info.run_id == "run-1"


async def test_rolled_back_change_publishes_nothing(parts) -> None:  # type: ignore[no-untyped-def]
    db, bus, outbox = parts
    with pytest.raises(RuntimeError):
        async with db.pool.acquire() as conn, conn.transaction():
            await outbox.add(conn, et.RUN_CREATED, "phantom", _run_event("phantom"))
            raise RuntimeError("the change failed")
    assert await OutboxRelay(db, bus).relay_once() == 0
    assert await _collect(bus, 0.5) == []


async def test_committed_while_no_relay_runs_is_published_in_order(parts) -> None:  # type: ignore[no-untyped-def]
    db, bus, outbox = parts
    ids = []
    for i in range(20):  # the process "died" before any relay ran
        async with db.pool.acquire() as conn, conn.transaction():
            ids.append((await outbox.add(conn, et.RUN_UPDATED, "run-9", _run_event(f"r{i}"))).id)
    relay = OutboxRelay(db, bus, batch_size=7)
    task = asyncio.create_task(relay.run())
    try:
        received = await _collect(bus, 1.5)
    finally:
        task.cancel()
    assert [e.id for e in received] == ids


async def test_two_relays_do_not_publish_concurrently(parts) -> None:  # type: ignore[no-untyped-def]
    db, bus, outbox = parts
    async with db.pool.acquire() as conn, conn.transaction():
        await outbox.add(conn, et.RUN_CREATED, "run-2", _run_event("run-2"))
    counts = await asyncio.gather(
        OutboxRelay(db, bus).relay_once(), OutboxRelay(db, bus).relay_once()
    )
    assert sorted(counts) == [0, 1]
    assert len(await _collect(bus, 0.5)) == 1


async def test_the_writers_relay_is_woken_once_its_transaction_commits(parts) -> None:  # type: ignore[no-untyped-def]
    db, _, outbox = parts
    woken: list[int] = []
    outbox.on_commit = lambda: woken.append(1)
    async with db.pool.acquire() as conn:
        async with conn.transaction():
            await outbox.add(conn, et.RUN_CREATED, "run-w", _run_event("run-w"))
            async with conn.transaction():  # a savepoint: the outer transaction decides
                await outbox.add(conn, et.RUN_UPDATED, "run-w", _run_event("run-w"))
            assert woken == []  # not before the commit: the relay would find nothing
        assert len(woken) == 2
        with pytest.raises(RelayKilled):
            async with conn.transaction():
                await outbox.add(conn, et.RUN_UPDATED, "run-w", _run_event("run-w"))
                raise RelayKilled
        assert len(woken) == 2  # rolled back: nothing to relay
        await outbox.add(conn, et.RUN_UPDATED, "run-w", _run_event("run-w"))  # its own transaction
        assert len(woken) == 3


async def test_a_committed_event_is_published_at_once_without_waiting_for_the_poll(parts) -> None:  # type: ignore[no-untyped-def]
    db, bus, outbox = parts
    relay = OutboxRelay(db, bus, poll_interval=60)
    outbox.on_commit = relay.wake
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.2)  # its first pass found nothing; now it waits
        async with db.pool.acquire() as conn, conn.transaction():
            event = await outbox.add(conn, et.RUN_CREATED, "run-n", _run_event("run-n"))
        received = await _collect(bus, 1.0)
    finally:
        task.cancel()
    assert [e.id for e in received] == [event.id]
