"""Client interceptors: the one place that adds metadata to the SDK's calls.

    TraceContext   the caller's W3C trace context (`traceparent`, `tracestate`),
                   so a service's spans join the caller's trace
    Identity       who calls: `sy-client: switchyard-sdk/<version>`, and the
                   login as `sy-actor` (the registry's audit history names it)
    BearerToken    `authorization: Bearer <token>`; in the chain only when a
                   token is given

A transport asks each interceptor for its `fixed()` pairs once, when it is
made, and calls `per_call(rpc)` on every call only of those that define it,
so a call without an active trace carries one prebuilt tuple and allocates
nothing for its metadata.
"""

from __future__ import annotations

import functools
import getpass
from collections.abc import Sequence
from typing import Any

from opentelemetry import context, propagate, trace

from switchyard.core.auth import CALLER_TOKEN, authorization
from switchyard.core.config import Settings
from switchyard.errors import InvalidArgument
from switchyard.sdk.rpcs import Rpc

Metadata = tuple[tuple[str, str], ...]

CLIENT_KEY = "sy-client"
ACTOR_KEY = "sy-actor"


class Interceptor:
    def fixed(self) -> Metadata:
        """Pairs every call carries; asked once."""
        return ()

    def per_call(self, rpc: Rpc[Any, Any]) -> Metadata:
        """Pairs for this call; asked on each call only of interceptors that define it."""
        return ()


class TraceContext(Interceptor):
    """The active span's context; else the one this process was started in
    (`TRACEPARENT`, set by the worker for a job), so a job's calls join the
    trace of whoever submitted it."""

    def __init__(self, inherited: Metadata = ()) -> None:
        self._inherited = inherited

    def per_call(self, rpc: Rpc[Any, Any]) -> Metadata:
        # An empty context (no tracing in this process) is the common case: one lookup.
        if not context.get_current() or not trace.get_current_span().get_span_context().is_valid:
            return self._inherited
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        return tuple(carrier.items())


@functools.cache
def login() -> str:
    """This process's user, as the registry's audit history names it."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Identity(Interceptor):
    def __init__(self, client: str, actor: str | None = None) -> None:
        self.client = client
        self.actor = actor or login()

    def fixed(self) -> Metadata:
        return ((CLIENT_KEY, self.client), (ACTOR_KEY, self.actor))


class BearerToken(Interceptor):
    """`authorization: Bearer <token>` on every call.

    In a service, a call made while handling a caller's request carries the
    caller's token instead (`switchyard.core.auth.CALLER_TOKEN`), so what a
    viewer may not do directly it may not do through the web edge either.
    """

    def __init__(self, token: str) -> None:
        if not token:
            raise InvalidArgument("the bearer token is empty", field="token")
        self._header = (authorization(token),)

    def per_call(self, rpc: Rpc[Any, Any]) -> Metadata:
        caller = CALLER_TOKEN.get()
        return self._header if caller is None else (authorization(caller),)

    def __repr__(self) -> str:
        return "BearerToken(***)"


def default_chain(settings: Settings, client: str = "switchyard-sdk") -> list[Interceptor]:
    """Trace context and identity; a bearer token when the settings have one."""
    from switchyard import __version__

    inherited = tuple(
        (key, value)
        for key, value in (
            ("traceparent", getattr(settings, "traceparent", None)),
            ("tracestate", getattr(settings, "tracestate", None)),
        )
        if value
    )
    from switchyard.sdk.endpoints import find_token

    chain: list[Interceptor] = [TraceContext(inherited), Identity(f"{client}/{__version__}")]
    token = find_token(settings)
    if token:
        chain.append(BearerToken(token))
    return chain


class Chain:
    """The metadata of a transport's calls, from its interceptors in order."""

    def __init__(self, interceptors: Sequence[Interceptor]) -> None:
        self.interceptors = tuple(interceptors)
        self.fixed: Metadata = tuple(pair for i in interceptors for pair in i.fixed())
        self._per_call = tuple(
            i for i in interceptors if type(i).per_call is not Interceptor.per_call
        )

    def metadata(self, rpc: Rpc[Any, Any]) -> Metadata:
        metadata = self.fixed
        for interceptor in self._per_call:
            extra = interceptor.per_call(rpc)
            if extra:
                metadata = metadata + extra
        return metadata
