"""Background metric logging: columnar buffers, a bounded queue, one stream.

`log` appends a point to per-(run, key) column lists under a lock and
returns; every `batch_size` points (or `linger` seconds) the buffer moves
to a bounded queue, so memory stays bounded and a producer faster than the
platform blocks (back-pressure) instead of dropping. A sender thread
streams batches over `StreamMetrics`; a failure is kept and raised at the
next `log` or `flush`, never dropped silently.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import tracking_pb2 as pb

Columns = tuple[list[float], list[int], list[int]]
Buffer = dict[tuple[str, str], Columns]
_FLUSH = object()


class MetricBatcher:
    def __init__(
        self,
        stream: Callable[[Iterator[pb.StreamMetricsRequest]], pb.StreamMetricsResponse],
        *,
        batch_size: int = 20_000,
        max_pending: int = 8,
        linger: float = 0.2,
    ) -> None:
        self._stream = stream
        self._batch_size = batch_size
        self._linger = linger
        self._lock = threading.Lock()
        self._taking = threading.Lock()  # held while a stream's generator takes an item
        self._buffer: Buffer = {}
        self._count = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_pending)
        self._error: BaseException | None = None
        self._closed = threading.Event()
        self._sender = threading.Thread(target=self._send_loop, name="sy-metrics", daemon=True)
        self._ticker = threading.Thread(target=self._tick_loop, name="sy-metrics-tick", daemon=True)
        self._sender.start()
        self._ticker.start()
        self.written = 0

    def log(self, run_id: str, key: str, value: float, step: int, timestamp: int) -> None:
        if self._error is not None:
            self._raise()
        with self._lock:
            cols = self._buffer.get((run_id, key))
            if cols is None:
                cols = self._buffer[(run_id, key)] = ([], [], [])
            cols[0].append(value)
            cols[1].append(step)
            cols[2].append(timestamp)
            self._count += 1
            if self._count < self._batch_size:
                return
            batch = self._take()
        self._queue.put(batch)  # blocks while the queue is full: back-pressure

    def flush(self) -> None:
        """Send everything logged so far and wait until the platform has it."""
        with self._lock:
            batch = self._take()
        if batch:
            self._queue.put(batch)
        self._queue.put(_FLUSH)
        self._queue.join()
        if self._error is not None:
            self._raise()

    def close(self) -> None:
        if self._closed.is_set():
            return
        try:
            self.flush()
        finally:
            self._closed.set()

    def _raise(self) -> None:
        error, self._error = self._error, None
        assert error is not None
        raise error

    def _take(self) -> Buffer:
        batch, self._buffer, self._count = self._buffer, {}, 0
        return batch

    def _tick_loop(self) -> None:
        # Points logged slowly still leave within `linger` seconds.
        while not self._closed.wait(self._linger):
            with self._lock:
                batch = self._take() if self._count else None
            if batch:
                self._queue.put(batch)

    def _send_loop(self) -> None:
        while True:
            first = self._queue.get()
            # Count what the stream takes rather than keep it: a stream open
            # for ten million points must not hold on to every batch it sent.
            taken = [1]
            if first is not _FLUSH:
                ended = threading.Event()
                try:
                    # The stream is the transport's: its failures are the error tree's.
                    response = self._stream(self._requests(first, taken, ended))
                    self.written += response.metrics_written
                except Exception as exc:
                    self._error = exc
                finally:
                    # A failed call returns while gRPC's thread may still be inside
                    # the request generator, waiting on the queue; wait for that
                    # get to finish and stop the generator taking any more, so every
                    # item it took is in `taken` (else a flush marker it took is never
                    # marked done and `flush` waits forever).
                    with self._taking:
                        ended.set()
            for _ in range(taken[0]):
                self._queue.task_done()

    def _requests(
        self, first: object, taken: list[int], ended: threading.Event
    ) -> Iterator[pb.StreamMetricsRequest]:
        """Keep one stream open while batches keep coming; end it on flush or idle."""
        item = first
        while True:
            try:
                yield from _encode(item)  # type: ignore[arg-type]
            except (TypeError, ValueError) as exc:
                # A point of the wrong type: its batch fails, as the platform fails
                # a batch with an invalid point; the stream goes on with the next.
                self._error = InvalidArgument(
                    f"a metric point is malformed: {exc}", field="metrics"
                )
            with self._taking:
                if ended.is_set():
                    return
                try:
                    item = self._queue.get(timeout=self._linger)
                except queue.Empty:
                    return
                taken[0] += 1
            if item is _FLUSH:
                return


def _encode(batch: Buffer) -> Iterator[pb.StreamMetricsRequest]:
    by_run: dict[str, pb.StreamMetricsRequest] = {}
    for (run_id, key), (values, steps, stamps) in batch.items():
        req = by_run.get(run_id)
        if req is None:
            req = by_run[run_id] = pb.StreamMetricsRequest(run_id=run_id)
        req.series.add(key=key, values=values, steps=steps, timestamps=stamps)
    yield from by_run.values()
