"""Subscriptions outlive quiet spells and poison.

Every path that consumes events (the SDK's three and a service's own
durable consumer) waits idle for several fetch timeouts before the event
arrives: nats-py 2.16 ends an idle fetch with asyncio's TimeoutError on
one path and its own on another, and a consumer that caught only one of
them died at a random quiet moment. A corrupt body under a known event
type is dropped and counted, and the subscription goes on.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import nats
import pytest

import switchyard as sy
from switchyard.core import bus as bus_module
from switchyard.core.bus import Bus
from switchyard.core.config import Settings
from switchyard.core.events import Event
from switchyard.sdk.endpoints import discover

IDLE_S = 3.5  # > three fetch timeouts
TYPE = "sy.tracking.experiment.created"


def _create_experiment(settings: Settings) -> str:
    with sy.Client(settings=settings) as client:
        return client.create_experiment(f"idle-{uuid.uuid4().hex[:8]}")


def test_events_iterator_receives_after_idle(switchyard_settings: Settings) -> None:
    stream = sy.events(TYPE, timeout=IDLE_S + 10, settings=switchyard_settings)
    time.sleep(IDLE_S)
    exp = _create_experiment(switchyard_settings)
    assert any(event.subject == exp for event in _until(stream, exp))


def test_subscribe_callback_receives_after_idle(switchyard_settings: Settings) -> None:
    seen: list[str] = []
    got = threading.Event()

    def handler(event: Event) -> None:
        seen.append(event.subject)
        got.set()

    with sy.subscribe(TYPE, handler, settings=switchyard_settings):
        time.sleep(IDLE_S)
        exp = _create_experiment(switchyard_settings)
        deadline = time.monotonic() + 10
        while exp not in seen and time.monotonic() < deadline:
            got.wait(0.5)
            got.clear()
    assert exp in seen


async def test_async_events_receive_after_idle(switchyard_settings: Settings) -> None:
    async def later() -> str:
        await asyncio.sleep(IDLE_S)
        return await asyncio.to_thread(_create_experiment, switchyard_settings)

    creating = asyncio.create_task(later())
    # The generator subscribes on first iteration, which a loaded machine may
    # make slower than the idle spell: "all" keeps the event whenever it comes.
    async for event in sy.async_events(
        TYPE, deliver="all", timeout=IDLE_S + 10, settings=switchyard_settings
    ):
        if creating.done() and event.subject == creating.result():
            break
    else:
        pytest.fail("the async iterator ended before the event arrived")


async def test_durable_service_consumer_receives_after_idle_on_a_busy_loop(
    switchyard_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A service's loop is busy with other work, so NATS's end-of-pull status
    # and the client's fetch timer are often ready in the same turn: the path
    # where nats-py 2.16 raises asyncio's TimeoutError. Short fetches make
    # many such turns within the idle spell.
    monkeypatch.setattr(bus_module, "FETCH_TIMEOUT_S", 0.05)
    endpoints = discover(switchyard_settings)
    got: asyncio.Queue[Event] = asyncio.Queue()
    async with Bus(endpoints.nats, namespace=endpoints.namespace, name="idle-test") as bus:
        task = await bus.consume(TYPE, got.put, durable=f"idle{uuid.uuid4().hex[:8]}")
        deadline = time.monotonic() + IDLE_S
        while time.monotonic() < deadline and not task.done():
            time.sleep(0.003)  # noqa: ASYNC251 (the point: a loop busy with other work)
            await asyncio.sleep(0)
        assert not task.done(), f"the consume loop died while idle: {task.exception()!r}"
        exp = await asyncio.to_thread(_create_experiment, switchyard_settings)
        while (await asyncio.wait_for(got.get(), 10)).subject != exp:
            pass


async def test_poison_event_is_dropped_and_the_subscription_goes_on(
    switchyard_settings: Settings,
) -> None:
    endpoints = discover(switchyard_settings)
    before = bus_module.UNDECODABLE._value.get()
    got: asyncio.Queue[Event] = asyncio.Queue()
    async with Bus(endpoints.nats, namespace=endpoints.namespace, name="poison-test") as bus:
        task = await bus.consume(TYPE, got.put)
        # Anyone who reaches NATS can publish this: a known type, a corrupt body.
        nc = await nats.connect(endpoints.nats)
        try:
            subject = f"{endpoints.namespace}.{TYPE}" if endpoints.namespace else TYPE
            await nc.jetstream().publish(
                subject, b"\xff\xff\xff\xff", headers={"ce-type": TYPE, "ce-id": "poison"}
            )
        finally:
            await nc.close()
        exp = await asyncio.to_thread(_create_experiment, switchyard_settings)
        while (await asyncio.wait_for(got.get(), 10)).subject != exp:
            pass
        assert not task.done()
    assert bus_module.UNDECODABLE._value.get() == before + 1


def _until(stream: object, subject: str) -> list[Event]:
    seen = []
    for event in stream:  # type: ignore[attr-defined]
        seen.append(event)
        if event.subject == subject:
            break
    return seen
