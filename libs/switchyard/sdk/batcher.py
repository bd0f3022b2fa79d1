"""Background writes: columnar metric buffers, run writes, a bounded queue, one stream.

`log` appends a point to per-(run, key) column lists under a lock and
returns; every `batch_size` points (or `linger` seconds) the buffer moves
to a bounded queue, so memory stays bounded and a producer faster than the
platform blocks (back-pressure) instead of dropping. `write` queues a run
write (a pipelined run's creation, params and tags, its end) at once,
behind the points logged before it, so the platform sees them in the order
they were made. A sender thread streams everything over `WriteRuns`; the
platform acknowledges as it commits and names refused writes; the first
refusal (or a broken stream) is kept and raised at the next `log`, `write`
or `flush`, never dropped silently.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

from switchyard.errors import InvalidArgument, SwitchyardError, from_status
from switchyard.proto.v1 import tracking_pb2 as pb

Columns = tuple[list[float], list[int], list[int]]
Buffer = dict[tuple[str, str], Columns]
Item = list[Buffer | pb.RunWrite]  # what one queue entry holds, in order
_FLUSH = object()
_STOP = object()  # after a flush: the sender thread ends


class RunWriter:
    def __init__(
        self,
        stream: Callable[[Iterator[pb.RunWrite]], Iterator[pb.WriteRunsResponse]],
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
        self._more = 0  # failures after the one kept in _error
        self._closed = threading.Event()
        self._sender = threading.Thread(target=self._send_loop, name="sy-metrics", daemon=True)
        self._ticker = threading.Thread(target=self._tick_loop, name="sy-metrics-tick", daemon=True)
        self._sender.start()
        self._ticker.start()
        self.written = 0  # metric points the platform acknowledged

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

    def write(self, write: pb.RunWrite) -> None:
        """Queue a run write now, after every point logged before it."""
        self.check()
        with self._lock:
            batch = self._take()
        batch.append(write)
        self._queue.put(batch)

    def check(self) -> None:
        """Raise a refusal already reported, without waiting for what is in flight."""
        if self._error is not None:
            self._raise()

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
        """Send what is pending, then end both threads (a closed client keeps none)."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._ticker.join()
        try:
            self.flush()
        finally:
            self._queue.put(_STOP)
            self._sender.join(timeout=10)

    def _raise(self) -> None:
        error, self._error = self._error, None
        more, self._more = self._more, 0
        assert error is not None
        if more and isinstance(error, SwitchyardError):  # one raise tells of them all
            also = f" (and {more} more write(s) refused after it)"
            error = type(error)(error.message + also, field=error.field, entity=error.entity)
        raise error

    def _take(self) -> Item:
        batch, self._buffer, self._count = self._buffer, {}, 0
        return [batch] if batch else []

    def _fail(self, error: BaseException, more: int = 0) -> None:
        # The first failure is the one raised, with a count of those after it.
        if self._error is None:
            self._error = error
        else:
            self._more += 1
        self._more += more

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
            if first is _STOP:
                self._queue.task_done()
                return
            # Count what the stream takes rather than keep it: a stream open
            # for ten million points must not hold on to every batch it sent.
            taken = [1]
            if first is not _FLUSH:
                ended = threading.Event()
                try:
                    # The stream is the transport's: its failures are the error tree's.
                    for response in self._stream(self._requests(first, taken, ended)):
                        self._acknowledge(response)
                except Exception as exc:
                    self._fail(exc)
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

    def _acknowledge(self, response: pb.WriteRunsResponse) -> None:
        self.written += response.metrics_written
        if response.errors:
            e = response.errors[0]
            self._fail(from_status(e.code, e.message, e.field), len(response.errors) - 1)

    def _requests(
        self, first: object, taken: list[int], ended: threading.Event
    ) -> Iterator[pb.RunWrite]:
        """Keep one stream open while batches keep coming; end it on flush or idle."""
        item = first
        while True:
            for part in item:  # type: ignore[attr-defined]
                if isinstance(part, pb.RunWrite):
                    yield part
                    continue
                try:
                    writes = _encode(part)
                except (TypeError, ValueError) as exc:
                    # A point of the wrong type: its batch fails, as the platform fails
                    # a batch with an invalid point; the stream goes on with the next.
                    error = InvalidArgument(f"a metric point is malformed: {exc}", field="metrics")
                    self._fail(error)
                    continue
                yield from writes
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


def _encode(buffer: Buffer) -> list[pb.RunWrite]:
    """A buffer's points as one batch write per run (raises on a malformed point)."""
    by_run: dict[str, pb.RunWrite] = {}
    for (run_id, key), (values, steps, stamps) in buffer.items():
        write = by_run.get(run_id)
        if write is None:
            write = by_run[run_id] = pb.RunWrite()
            write.log_batch.run_id = run_id
        write.log_batch.metrics.add(key=key, values=values, steps=steps, timestamps=stamps)
    return list(by_run.values())
