"""Events on the wire: the envelope, its NATS headers, subjects and streams.

An event travels in CloudEvents binary mode: attributes as `ce-*` headers,
the protobuf payload as the body, `Nats-Msg-Id` = event id for JetStream's
dedupe, `traceparent` for the trace. `Event` is what consumers receive, in
services and in the SDK alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from google.protobuf.message import Message

from switchyard.core.event_types import CATALOG, EventType
from switchyard.core.ids import uuid7
from switchyard.proto.v1 import events_pb2

EVENTS_STREAM = "SY_EVENTS"
CONTENT_TYPE = "application/protobuf"


def nats_subject(event_type: str, namespace: str = "") -> str:
    return f"{namespace}.{event_type}" if namespace else event_type


def events_stream(namespace: str = "") -> str:
    return f"{namespace.upper()}_{EVENTS_STREAM}" if namespace else EVENTS_STREAM


@dataclass(frozen=True)
class Event:
    """One event: CloudEvents attributes plus the decoded payload in `data`."""

    id: str
    type: str
    source: str
    subject: str
    time: datetime
    data: Message
    traceparent: str = ""
    headers: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def to_envelope(self) -> events_pb2.EventEnvelope:
        env = events_pb2.EventEnvelope(
            id=self.id,
            source=self.source,
            type=self.type,
            subject=self.subject,
            datacontenttype=CONTENT_TYPE,
            dataschema=self.data.DESCRIPTOR.full_name,
            traceparent=self.traceparent,
            data=self.data.SerializeToString(),
        )
        env.time.FromDatetime(self.time)
        return env


def new_event(
    event_type: EventType, subject: str, data: Message, trace: Mapping[str, str]
) -> Event:
    return Event(
        id=str(uuid7()),
        type=event_type.name,
        source=event_type.source,
        subject=subject,
        time=datetime.now(UTC),
        data=data,
        traceparent=trace.get("traceparent", ""),
        headers=dict(trace),
    )


def encode_headers(event: Event) -> dict[str, str]:
    headers = {
        "Nats-Msg-Id": event.id,
        "ce-specversion": "1.0",
        "ce-id": event.id,
        "ce-type": event.type,
        "ce-source": event.source,
        "ce-subject": event.subject,
        "ce-time": event.time.isoformat().replace("+00:00", "Z"),
        "ce-dataschema": event.data.DESCRIPTOR.full_name,
        "content-type": CONTENT_TYPE,
    }
    headers.update({k: v for k, v in event.headers.items() if k in ("traceparent", "tracestate")})
    return headers


def decode(headers: Mapping[str, str] | None, body: bytes) -> Event:
    """Rebuild an Event from NATS headers and body; unknown types keep raw bytes."""
    h = dict(headers or {})
    event_type = h.get("ce-type", "")
    spec = CATALOG.get(event_type)
    data: Message
    if spec is not None:
        data = spec.payload.FromString(body)
    else:  # a newer producer's type: hand over the envelope with raw data
        data = events_pb2.EventEnvelope(type=event_type, data=body)
    raw_time = h.get("ce-time", "")
    try:
        when = datetime.fromisoformat(raw_time.replace("Z", "+00:00"))
    except ValueError:
        when = datetime.now(UTC)
    return Event(
        id=h.get("ce-id", h.get("Nats-Msg-Id", "")),
        type=event_type,
        source=h.get("ce-source", ""),
        subject=h.get("ce-subject", ""),
        time=when,
        data=data,
        traceparent=h.get("traceparent", ""),
        headers=h,
    )
