"""The calls the SDK makes, as typed values: which service, which RPC, what it
takes and returns, and whether it is safe to send again.

    from switchyard.sdk.rpcs import tracking
    reply = await transport.send(tracking.GET_RUN, pb.GetRunRequest(run_id=rid))

`Rpc` constants live beside their service (`tracking`, `registry`,
`scheduler`); a unit test checks them against the protos. An `Op` is one
call ready to send: an `Rpc`, its request, and how to read the reply into
the SDK's own types (the `*_ops` modules build them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)
T_co = TypeVar("T_co", covariant=True)


# eq=False: hashed by identity, so a transport's per-RPC cache lookup is cheap.
@dataclass(frozen=True, eq=False)
class Service:
    name: str  # as the platform's endpoints name it ("tracking")
    stub: Callable[[Any], Any]  # the generated stub class


@dataclass(frozen=True, eq=False)
class Rpc(Generic[Req, Resp]):
    service: Service
    name: str  # the RPC's name in the proto ("GetRun")
    request: type[Req]
    response: type[Resp]
    # Safe to send again when the platform was unavailable: reads, and writes
    # whose repeat leaves the same state (set a tag, cancel a job).
    retry: bool = False
    # The request is a stream of messages: no deadline, never retried.
    streaming: bool = False
    # The reply is a stream of messages too (acknowledgements as writes commit).
    replies: bool = False


@dataclass(frozen=True, slots=True)
class Op(Generic[T_co]):
    rpc: Rpc[Any, Any]
    request: Message
    decode: Callable[[Any], T_co]


def none(_: Any) -> None:
    """The decoder of calls whose reply carries nothing the caller wants."""
    return None


__all__ = ["Op", "Rpc", "Service", "none"]
