"""NATS that comes back with an empty store (its disk lost, a new pod without
a volume): subscribers go on by themselves, and a consumer that NATS dropped
goes on where it stopped, with nothing replayed and nothing skipped.

These use a NATS of their own, since they wipe it.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from switchyard.core import events
from switchyard.core.bus import Bus
from switchyard.core.event_types import RUN_CREATED
from switchyard.core.events import Event
from switchyard.core.jobs import ensure_jobs_stream, jobs_stream
from switchyard.core.streams import stream_created
from switchyard.dev.nats import EmbeddedNats
from switchyard.proto.v1 import events_pb2 as ev


@pytest.fixture
def nats_server(tmp_path: Path) -> EmbeddedNats:
    server = EmbeddedNats(tmp_path / "nats").start()
    yield server
    server.stop()


def _wipe_and_restart(server: EmbeddedNats) -> None:
    proc = server.process
    assert proc is not None and proc.proc is not None
    proc.proc.send_signal(signal.SIGKILL)
    proc.proc.wait(10)
    shutil.rmtree(server.data_dir / "jetstream")
    proc.restart()


def _run_created(run_id: str) -> Event:
    return events.new_event(RUN_CREATED, run_id, ev.RunChanged(), {})


@pytest.fixture
async def service_bus(nats_server: EmbeddedNats) -> AsyncIterator[Bus]:
    async with Bus(nats_server.url) as bus:
        await bus.ensure_events_stream(max_age_days=1)  # as a service's runtime does
        yield bus


async def _collect(bus: Bus, seen: list[str], **kwargs: object) -> None:
    async def handler(event: Event) -> None:
        seen.append(event.subject)

    await bus.consume("sy.tracking.run.created", handler, **kwargs)  # type: ignore[arg-type]


async def _until(condition: object, within: float = 40) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)


async def test_subscribers_go_on_after_nats_lost_its_store(
    nats_server: EmbeddedNats, service_bus: Bus
) -> None:
    durable: list[str] = []
    ephemeral: list[str] = []
    async with Bus(nats_server.url) as client_bus:  # an SDK subscriber's bus
        await _collect(client_bus, durable, durable="chaos-durable")
        await _collect(client_bus, ephemeral)
        await service_bus.publish(_run_created("before"))
        await _until(lambda: durable == ["before"] and ephemeral == ["before"])

        _wipe_and_restart(nats_server)
        # The service's relay makes the stream again when it next publishes.
        deadline = asyncio.get_running_loop().time() + 20
        while True:
            try:
                await service_bus.publish(_run_created("after"))
                break
            except Exception:
                assert asyncio.get_running_loop().time() < deadline
                await service_bus.ensure_events_stream()
                await asyncio.sleep(0.2)
        await _until(lambda: "after" in durable and "after" in ephemeral)
        assert durable == ["before", "after"]
        assert ephemeral == ["before", "after"]


async def test_a_dropped_consumer_goes_on_where_it_stopped(
    nats_server: EmbeddedNats, service_bus: Bus
) -> None:
    seen: list[str] = []
    async with Bus(nats_server.url) as client_bus:
        await _collect(client_bus, seen, durable="dropped")
        for n in range(3):
            await service_bus.publish(_run_created(f"r{n}"))
        await _until(lambda: len(seen) == 3)
        await service_bus.js.delete_consumer(events.events_stream(), "dropped")
        for n in range(3, 6):
            await service_bus.publish(_run_created(f"r{n}"))
        await _until(lambda: len(seen) == 6)
        await asyncio.sleep(0.5)
        assert seen == [f"r{n}" for n in range(6)]  # nothing replayed, nothing skipped


async def test_the_job_queue_says_when_nats_made_it(
    nats_server: EmbeddedNats, service_bus: Bus
) -> None:
    first = await ensure_jobs_stream(service_bus.js, "chaos", nc=service_bus.nc)
    assert first is not None
    assert (
        await ensure_jobs_stream(service_bus.js, "chaos", nc=service_bus.nc) == first
    )  # still the same one
    await service_bus.js.delete_stream(jobs_stream("chaos"))
    again = await ensure_jobs_stream(service_bus.js, "chaos", nc=service_bus.nc)
    assert again is not None and again > first


async def test_a_stream_says_when_it_was_made_with_any_nats_py(service_bus: Bus) -> None:
    # nats-py before 2.12 has no `created` in StreamInfo: JetStream's API is asked.
    info = await service_bus.js.stream_info(events.events_stream())
    direct = await stream_created(info, service_bus.nc)
    info.created = None  # type: ignore[assignment]
    assert direct is not None and await stream_created(info, service_bus.nc) == direct
