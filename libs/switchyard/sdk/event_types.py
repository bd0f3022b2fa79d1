"""`sy.event_types`: the event catalog, each type as its name.

    for event in sy.events(sy.event_types.RUN_FINISHED, timeout=30):
        print(event.subject, event.data.info.status)

Each constant is an `EventName`: a `str` holding the type's name (which is
also its subject), so it goes wherever a subject goes and compares equal to
`Event.type`; its `.event_type` is the catalog's `EventType` (the payload
message). The constants are those of `switchyard.core.event_types`, named
the same, made from it on import so the two cannot drift; `CATALOG` is that
module's, by name.
"""

from __future__ import annotations

from google.protobuf.message import Message

from switchyard.core import event_types as catalog
from switchyard.core.event_types import CATALOG, EventType


class EventName(str):
    event_type: EventType

    def __new__(cls, event_type: EventType) -> EventName:
        name = super().__new__(cls, event_type.name)
        name.event_type = event_type
        return name

    @property
    def payload(self) -> type[Message]:
        return self.event_type.payload


_NAMES = {
    constant: EventName(value)
    for constant, value in vars(catalog).items()
    if isinstance(value, EventType)
}


def __getattr__(constant: str) -> EventName:
    # PEP 562: type checkers read every other attribute of this module as an EventName.
    try:
        return _NAMES[constant]
    except KeyError:
        raise AttributeError(f"no event type {constant!r} in the catalog") from None


def __dir__() -> list[str]:
    return sorted([*globals(), *_NAMES])


__all__ = ["CATALOG", "EventName", "EventType", *_NAMES]
