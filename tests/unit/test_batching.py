"""Coalescer: concurrent calls share batches; a lone call goes at once, alone."""

from __future__ import annotations

import asyncio

import pytest

from switchyard.core.batching import Coalescer


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def send(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        await self.gate.wait()
        return [ValueError(f"bad {i}") if i < 0 else i * 10 for i in items]


async def test_a_lone_call_is_sent_at_once_by_itself() -> None:
    rec = Recorder()
    coalescer = Coalescer(rec.send)
    assert await coalescer(1) == 10
    assert await coalescer(2) == 20
    assert rec.batches == [[1], [2]]


async def test_calls_made_while_a_batch_is_in_flight_go_together_next() -> None:
    rec = Recorder()
    rec.gate.clear()
    coalescer = Coalescer(rec.send, max_batch=3)
    first = asyncio.create_task(coalescer(1))
    await asyncio.sleep(0)  # the first batch is now in flight, held at the gate
    rest = [asyncio.create_task(coalescer(i)) for i in range(2, 7)]
    await asyncio.sleep(0)
    rec.gate.set()
    assert await first == 10
    assert await asyncio.gather(*rest) == [20, 30, 40, 50, 60]
    assert rec.batches == [[1], [2, 3, 4], [5, 6]]


async def test_an_error_for_one_item_fails_only_its_caller() -> None:
    rec = Recorder()
    rec.gate.clear()
    coalescer = Coalescer(rec.send)
    first = asyncio.create_task(coalescer(0))
    await asyncio.sleep(0)
    good, bad = asyncio.create_task(coalescer(5)), asyncio.create_task(coalescer(-1))
    await asyncio.sleep(0)
    rec.gate.set()
    assert await first == 0
    assert await good == 50
    with pytest.raises(ValueError, match="bad -1"):
        await bad
    assert rec.batches == [[0], [5, -1]]


async def test_a_failed_send_fails_every_caller_of_its_batch_and_the_next_batch_goes() -> None:
    calls = 0

    async def send(items: list[int]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(0)
            raise ConnectionError("scheduler away")
        return items

    coalescer: Coalescer[int, int] = Coalescer(send)
    first = asyncio.create_task(coalescer(1))
    await asyncio.sleep(0)
    second = asyncio.create_task(coalescer(2))
    with pytest.raises(ConnectionError):
        await first
    assert await second == 2  # sent in the next batch, which succeeds
    assert await coalescer(3) == 3


async def test_up_to_max_in_flight_batches_go_at_once() -> None:
    rec = Recorder()
    rec.gate.clear()
    coalescer = Coalescer(rec.send, max_in_flight=2)
    calls = [asyncio.create_task(coalescer(i)) for i in range(1, 6)]
    for _ in range(3):
        await asyncio.sleep(0)
    assert rec.batches == [[1, 2, 3, 4, 5]]  # the first sender took all that was queued
    later = asyncio.create_task(coalescer(6))
    for _ in range(3):
        await asyncio.sleep(0)
    assert rec.batches == [[1, 2, 3, 4, 5], [6]]  # a second sender, while the first waits
    rec.gate.set()
    assert await asyncio.gather(*calls, later) == [10, 20, 30, 40, 50, 60]
    assert await coalescer(7) == 70  # and later calls still find a sender
