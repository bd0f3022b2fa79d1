"""ThreadCoalescer: blocking calls from several threads share batches."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from switchyard.core.batching import ThreadCoalescer


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.sending = threading.Event()  # set once a send has begun

    def send(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        self.sending.set()
        self.gate.wait(10)
        return [ValueError(f"bad {i}") if i < 0 else i * 10 for i in items]


def wait_until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.005)


def test_a_lone_call_is_sent_at_once_by_itself() -> None:
    rec = Recorder()
    coalescer = ThreadCoalescer(rec.send)
    assert coalescer(1) == 10
    assert coalescer(2) == 20
    assert rec.batches == [[1], [2]]


def test_calls_made_while_a_batch_is_in_flight_go_together_next() -> None:
    rec = Recorder()
    rec.gate.clear()
    coalescer = ThreadCoalescer(rec.send, max_batch=3)
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(coalescer, 1)
        rec.sending.wait(5)
        rest = [pool.submit(coalescer, i) for i in range(2, 7)]
        wait_until(lambda: len(coalescer._queue) == 5)
        rec.gate.set()
        assert first.result(5) == 10
        assert [f.result(5) for f in rest] == [20, 30, 40, 50, 60]
    assert rec.batches == [[1], [2, 3, 4], [5, 6]]


def test_an_error_for_one_item_fails_only_its_caller() -> None:
    rec = Recorder()
    rec.gate.clear()
    coalescer = ThreadCoalescer(rec.send)
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(coalescer, 0)
        rec.sending.wait(5)
        good, bad = pool.submit(coalescer, 5), pool.submit(coalescer, -1)
        wait_until(lambda: len(coalescer._queue) == 2)
        rec.gate.set()
        assert first.result(5) == 0
        assert good.result(5) == 50
        with pytest.raises(ValueError, match="bad -1"):
            bad.result(5)


def test_a_failed_send_fails_its_batch_and_later_calls_still_go() -> None:
    def send(items: list[int]) -> list[int]:
        if 13 in items:
            raise ConnectionError("scheduler away")
        return items

    coalescer: ThreadCoalescer[int, int] = ThreadCoalescer(send)
    with pytest.raises(ConnectionError):
        coalescer(13)
    assert coalescer(3) == 3


def test_many_threads_with_two_batches_in_flight_all_get_their_own_answer() -> None:
    sent: list[int] = []
    concurrent, most = 0, 0
    lock = threading.Lock()

    def send(items: list[int]) -> list[int]:
        nonlocal concurrent, most
        with lock:
            concurrent += 1
            most = max(most, concurrent)
            sent.extend(items)
        time.sleep(random.uniform(0, 0.003))
        with lock:
            concurrent -= 1
        return [i * 2 for i in items]

    coalescer: ThreadCoalescer[int, int] = ThreadCoalescer(send, max_batch=5, max_in_flight=2)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(coalescer, range(800)))
    assert results == [i * 2 for i in range(800)]
    assert sorted(sent) == list(range(800))  # each item sent once
    assert most <= 2
    assert coalescer._in_flight == 0 and not coalescer._queue
