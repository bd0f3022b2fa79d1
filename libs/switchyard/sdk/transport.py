"""One way to call the platform's services: `Transport` (blocking) and
`AsyncTransport` (asyncio), the same steps in each.

    reply = transport.send(tracking.GET_RUN, pb.GetRunRequest(run_id=rid))  # a proto
    run = transport.call(ops.get_run(rid))  # an Op: the same call, decoded

A call takes its metadata from the interceptor chain (trace context,
identity, a bearer token: `interceptors.py`), goes over the channel of its
service's address (opened on first use, one per address), is sent again
after a short jittered backoff when the platform was UNAVAILABLE and the RPC
is safe to repeat (`Rpc.retry`), and a failure becomes the error tree's class
here, once (`from_rpc_error`). Per call that is one dict lookup for the
RPC's method and the chain's metadata (a prebuilt tuple unless a trace is
active); retries and error mapping cost nothing until a call fails.
"""

from __future__ import annotations

import abc
import asyncio
import enum
import random
import threading
import time
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from switchyard.core.config import Settings
from switchyard.errors import FailedPrecondition, from_rpc_error
from switchyard.sdk.channels import async_channel, sync_channel
from switchyard.sdk.endpoints import Endpoints, discover
from switchyard.sdk.interceptors import Chain, Interceptor, default_chain
from switchyard.sdk.rpcs import Op, Rpc, Service

Req = TypeVar("Req")
Resp = TypeVar("Resp")
T = TypeVar("T")

_UNAVAILABLE = grpc.StatusCode.UNAVAILABLE


@dataclass(frozen=True)
class Retry:
    """How often a call safe to repeat is sent when the platform is unavailable."""

    attempts: int = 3  # in all, the first included
    backoff: float = 0.05  # seconds before the second; doubles each time
    max_backoff: float = 0.4

    def delays(self) -> Iterator[float]:
        delay = self.backoff
        for _ in range(self.attempts - 1):
            # Jitter: clients that failed together do not come back together.
            yield delay * random.uniform(0.5, 1.0)
            delay = min(delay * 2, self.max_backoff)


DEFAULT_RETRY = Retry()


def _unavailable(error: grpc.RpcError) -> bool:
    code = getattr(error, "code", None)
    return code is not None and code() is _UNAVAILABLE


class State(enum.Enum):
    OPEN = "open"  # channels open on first use
    CLOSED = "closed"


class _Transport(abc.ABC):
    """What both transports hold: where services are, the chain, the caches."""

    def __init__(
        self,
        settings: Settings,
        *,
        addresses: Mapping[str, str | None] | None = None,
        timeout: float | None = 30.0,
        interceptors: Sequence[Interceptor] | None = None,
        retry: Retry = DEFAULT_RETRY,
    ) -> None:
        self.settings = settings
        self.endpoints: Endpoints = discover(settings)
        self.tls = self.endpoints.client_tls  # None: plaintext (unless :443)
        self.timeout = timeout
        self.retry = retry
        self.chain = Chain(default_chain(settings) if interceptors is None else interceptors)
        self.state = State.OPEN
        self._addresses = {name: a for name, a in (addresses or {}).items() if a}
        self._stubs: dict[Service, Any] = {}
        self._methods: dict[Rpc[Any, Any], Callable[..., Any]] = {}
        self._channels: dict[str, Any] = {}  # by address: services behind one share it
        self._lock = threading.Lock()  # the blocking transport's, for opening channels

    def address(self, service: str) -> str:
        """The service's address: given to the client, else discovered (Unavailable if none)."""
        return self._addresses.get(service) or self.endpoints.address(service)

    @abc.abstractmethod
    def _open_stub(self, service: Service) -> Any:
        """A generated stub on the channel to the service's address (opened if need be)."""

    def stub(self, service: Service) -> Any:
        """The generated stub on this transport's channel to `service`, for RPCs the
        SDK does not make (a worker's): no interceptors, retries or error mapping."""
        stub = self._stubs.get(service)
        if stub is None:
            if self.state is State.CLOSED:
                raise FailedPrecondition("the client is closed")
            stub = self._stubs[service] = self._open_stub(service)
        return stub

    def _method(self, rpc: Rpc[Any, Any]) -> Callable[..., Any]:
        method = self._methods[rpc] = getattr(self.stub(rpc.service), rpc.name)
        return method


class Transport(_Transport):
    """Blocking calls; safe to share between threads."""

    def _open_stub(self, service: Service) -> Any:
        address = self.address(service.name)
        with self._lock:
            if self.state is State.CLOSED:
                raise FailedPrecondition("the client is closed")
            channel = self._channels.get(address)
            if channel is None:
                channel = self._channels[address] = sync_channel(
                    address, self.settings, traced=False, tls=self.tls
                )
            return service.stub(channel)

    def send(self, rpc: Rpc[Req, Resp], request: Req) -> Resp:
        """One call; its reply as the proto the RPC returns."""
        method = self._methods.get(rpc) or self._method(rpc)
        try:
            return method(request, timeout=self.timeout, metadata=self.chain.metadata(rpc))  # type: ignore[no-any-return]
        except grpc.RpcError as exc:
            if rpc.retry and _unavailable(exc):
                return self._again(method, rpc, request, exc)  # type: ignore[no-any-return]
            raise from_rpc_error(exc) from None

    def call(self, op: Op[T]) -> T:
        """One call, its reply decoded by the op (`send`, inlined: the hot path)."""
        rpc = op.rpc
        method = self._methods.get(rpc) or self._method(rpc)
        try:
            reply = method(op.request, timeout=self.timeout, metadata=self.chain.metadata(rpc))
        except grpc.RpcError as exc:
            if not (rpc.retry and _unavailable(exc)):
                raise from_rpc_error(exc) from None
            reply = self._again(method, rpc, op.request, exc)
        return op.decode(reply)

    def stream(self, rpc: Rpc[Req, Resp], requests: Iterable[Req]) -> Resp:
        """A client-streaming call: no deadline (a stream may run for long), no retry."""
        method = self._methods.get(rpc) or self._method(rpc)
        try:
            return method(iter(requests), metadata=self.chain.metadata(rpc))  # type: ignore[no-any-return]
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    def exchange(self, rpc: Rpc[Req, Resp], requests: Iterable[Req]) -> Iterator[Resp]:
        """A stream each way: the replies as they come. No deadline, no retry."""
        method = self._methods.get(rpc) or self._method(rpc)
        try:
            yield from method(iter(requests), metadata=self.chain.metadata(rpc))
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    def _again(
        self, method: Callable[..., Any], rpc: Rpc[Any, Any], request: Any, error: grpc.RpcError
    ) -> Any:
        for delay in self.retry.delays():
            time.sleep(delay)
            try:
                return method(request, timeout=self.timeout, metadata=self.chain.metadata(rpc))
            except grpc.RpcError as exc:
                error = exc
                if not _unavailable(exc):
                    break
        raise from_rpc_error(error) from None

    def close(self) -> None:
        """Close every channel; idempotent. Later calls raise FailedPrecondition."""
        with self._lock:
            self.state = State.CLOSED
            channels, self._channels = list(self._channels.values()), {}
            self._methods.clear()
            self._stubs.clear()
        for channel in channels:
            channel.close()


class AsyncTransport(_Transport):
    """Calls as coroutines, on the event loop that makes them."""

    def _open_stub(self, service: Service) -> Any:
        # Opened inside a coroutine, so on its loop; coroutines of one loop
        # never interleave here (no await), so no lock.
        address = self.address(service.name)
        channel = self._channels.get(address)
        if channel is None:
            channel = self._channels[address] = async_channel(
                address, self.settings, traced=False, tls=self.tls
            )
        return service.stub(channel)

    async def send(self, rpc: Rpc[Req, Resp], request: Req) -> Resp:
        """One call; its reply as the proto the RPC returns."""
        method = self._methods.get(rpc) or self._method(rpc)
        try:
            return await method(request, timeout=self.timeout, metadata=self.chain.metadata(rpc))  # type: ignore[no-any-return]
        except grpc.RpcError as exc:
            if rpc.retry and _unavailable(exc):
                return await self._again(method, rpc, request, exc)  # type: ignore[no-any-return]
            raise from_rpc_error(exc) from None

    async def call(self, op: Op[T]) -> T:
        """One call, its reply decoded by the op (`send`, inlined: one coroutine less)."""
        rpc = op.rpc
        method = self._methods.get(rpc) or self._method(rpc)
        try:
            reply = await method(
                op.request, timeout=self.timeout, metadata=self.chain.metadata(rpc)
            )
        except grpc.RpcError as exc:
            if not (rpc.retry and _unavailable(exc)):
                raise from_rpc_error(exc) from None
            reply = await self._again(method, rpc, op.request, exc)
        return op.decode(reply)

    async def stream(self, rpc: Rpc[Req, Resp], requests: AsyncIterable[Req]) -> Resp:
        """A client-streaming call: no deadline (a stream may run for long), no retry."""
        method = self._methods.get(rpc) or self._method(rpc)
        try:
            return await method(requests, metadata=self.chain.metadata(rpc))  # type: ignore[no-any-return]
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    async def _again(
        self, method: Callable[..., Any], rpc: Rpc[Any, Any], request: Any, error: grpc.RpcError
    ) -> Any:
        for delay in self.retry.delays():
            await asyncio.sleep(delay)
            try:
                return await method(
                    request, timeout=self.timeout, metadata=self.chain.metadata(rpc)
                )
            except grpc.RpcError as exc:
                error = exc
                if not _unavailable(exc):
                    break
        raise from_rpc_error(error) from None

    async def close(self) -> None:
        """Close every channel; idempotent. Later calls raise FailedPrecondition."""
        self.state = State.CLOSED
        channels, self._channels = list(self._channels.values()), {}
        self._methods.clear()
        self._stubs.clear()
        for channel in channels:
            await channel.close()
