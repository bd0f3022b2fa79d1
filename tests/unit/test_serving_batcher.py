"""serving.batcher: requests stacked along dim 0 within the delay, split back, errors shared."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from switchyard.serving.batcher import Batcher


class Recorder:
    """predict(x) = {"y": x.sum(axis=1) * 10, "z": x}, remembering each batch's row count."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[int] = []
        self.threads: set[str] = set()
        self.fail = fail

    def __call__(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.threads.add(threading.current_thread().name)
        x = inputs["x"]
        self.batches.append(x.shape[0])
        if self.fail:
            raise ValueError("bad batch")
        return {"y": x.reshape(x.shape[0], -1).sum(axis=1) * 10, "z": x}


def rows(n: int, start: float, width: int = 3) -> dict[str, np.ndarray]:
    return {"x": np.arange(start, start + n * width, dtype=np.float64).reshape(n, width)}


async def test_unbatched_calls_predict_inline() -> None:
    predict = Recorder()
    batcher = Batcher(predict, 1, 50)
    out = await batcher.infer(rows(2, 0))
    np.testing.assert_array_equal(out["y"], [30, 120])
    assert predict.threads == {threading.current_thread().name}


async def test_requests_within_the_delay_form_one_batch_and_split_back() -> None:
    predict = Recorder()
    batcher = Batcher(predict, 32, 30)
    requests = [rows(n, 100 * i) for i, n in enumerate([1, 3, 2])]
    outs = await asyncio.gather(*(batcher.infer(r) for r in requests))
    assert predict.batches == [6]
    assert predict.threads != {threading.current_thread().name}  # off the loop
    for req, out in zip(requests, outs, strict=True):
        np.testing.assert_array_equal(out["z"], req["x"])
        np.testing.assert_array_equal(out["y"], req["x"].sum(axis=1) * 10)
    batcher.close()


async def test_requests_after_the_delay_go_in_the_next_batch() -> None:
    predict = Recorder()
    batcher = Batcher(predict, 32, 20)
    first = asyncio.ensure_future(batcher.infer(rows(1, 0)))
    await asyncio.sleep(0.1)
    second = await batcher.infer(rows(1, 5))
    assert (await first)["y"].tolist() == [30] and second["y"].tolist() == [180]
    assert predict.batches == [1, 1]
    batcher.close()


async def test_max_batch_size_is_respected() -> None:
    predict = Recorder()
    batcher = Batcher(predict, 4, 1000)  # a long delay: only size can send these
    loop = asyncio.get_running_loop()
    started = loop.time()
    requests = [rows(n, 10 * i) for i, n in enumerate([2, 2, 3, 1, 4])]
    outs = await asyncio.gather(*(batcher.infer(r) for r in requests))
    # [2+2] full; 3 would overflow with 1 more? 3+1 = 4 full; then 4 alone (as big as a batch).
    assert predict.batches == [4, 4, 4] and max(predict.batches) <= 4
    assert loop.time() - started < 0.5
    for req, out in zip(requests, outs, strict=True):
        np.testing.assert_array_equal(out["z"], req["x"])
    batcher.close()


async def test_overflow_sends_the_open_batch_first() -> None:
    predict = Recorder()
    batcher = Batcher(predict, 4, 30)
    outs = await asyncio.gather(*(batcher.infer(rows(n, i)) for i, n in enumerate([3, 2])))
    assert predict.batches == [3, 2] and [o["z"].shape[0] for o in outs] == [3, 2]
    batcher.close()


async def test_an_exception_reaches_every_request_of_the_batch() -> None:
    batcher = Batcher(Recorder(fail=True), 16, 20)
    results = await asyncio.gather(
        *(batcher.infer(rows(1, i)) for i in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, ValueError) and str(r) == "bad batch" for r in results)
    batcher.close()


async def test_incompatible_requests_are_not_mixed() -> None:
    predict = Recorder()
    batcher = Batcher(predict, 32, 30)
    a = rows(2, 0, width=3)
    b = rows(1, 0, width=5)  # another trailing shape
    c = {"x": rows(1, 7)["x"].astype(np.float32)}  # another dtype
    d = rows(1, 50, width=3)  # same kind as a
    outs = await asyncio.gather(*(batcher.infer(r) for r in (a, b, c, d)))
    assert sorted(predict.batches) == [1, 1, 3]
    assert outs[1]["z"].shape == (1, 5) and outs[2]["z"].dtype == np.float32
    np.testing.assert_array_equal(outs[3]["z"], d["x"])
    batcher.close()


async def test_outputs_without_one_row_per_input_row_fail_the_batch() -> None:
    batcher = Batcher(lambda inputs: {"y": np.zeros(1)}, 8, 20)
    results = await asyncio.gather(
        *(batcher.infer(rows(1, i)) for i in range(2)), return_exceptions=True
    )
    assert all(isinstance(r, ValueError) and "needs 2 rows" in str(r) for r in results)
    batcher.close()


@pytest.mark.parametrize("size", [0, 1])
async def test_batch_size_one_or_less_never_queues(size: int) -> None:
    predict = Recorder()
    batcher = Batcher(predict, size, 1000)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.gather(*(batcher.infer(rows(1, i)) for i in range(3)))
    assert predict.batches == [1, 1, 1] and loop.time() - started < 0.5
