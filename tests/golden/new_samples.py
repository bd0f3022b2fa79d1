"""Add a golden sample for each event type in the catalog that has none yet.

    python tests/golden/new_samples.py

Run it once when a new event type ships, and commit `events.json`. It never
touches an existing sample: those were written by the version that first
shipped their type, and current code must still decode them
(`tests/unit/test_golden_events.py`). Each new sample sets every field of its
payload, recursively, so that a renumbered or retyped field cannot pass.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from switchyard.core.event_types import CATALOG

GOLDEN = Path(__file__).with_name("events.json")
TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TIME = "2026-11-23T12:00:00Z"
MAX_DEPTH = 4  # nested messages deeper than this stay empty (recursive types)
_INTS = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED32,
    FieldDescriptor.TYPE_SFIXED64,
}


def _scalar(field: FieldDescriptor, i: int) -> Any:
    """A value for one scalar field, distinct per field and position."""
    if field.type == FieldDescriptor.TYPE_STRING:
        return f"{field.name}-{i}"
    if field.type == FieldDescriptor.TYPE_BYTES:
        return f"{field.name}-{i}".encode()
    if field.type == FieldDescriptor.TYPE_BOOL:
        return True
    if field.type in _INTS:
        return 1000 * field.number + i
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return field.number + i + 0.5
    if field.type == FieldDescriptor.TYPE_ENUM:
        return field.enum_type.values[-1].number  # the last: never the zero default
    raise TypeError(f"no sample value for {field.full_name}")


def _repeated(field: FieldDescriptor) -> bool:
    # protobuf 7 dropped `label`; older releases lack `is_repeated`
    if hasattr(field, "is_repeated"):
        return bool(field.is_repeated)
    return bool(field.label == FieldDescriptor.LABEL_REPEATED)


def fill(message: Message, depth: int = 0) -> Message:
    """`message` with every field set (one per oneof), two items per repeated field."""
    descriptor: Descriptor = message.DESCRIPTOR
    if descriptor.full_name == Timestamp.DESCRIPTOR.full_name:
        message.FromJsonString(TIME)  # type: ignore[attr-defined]
        return message
    if depth > MAX_DEPTH:
        return message
    for field in descriptor.fields:
        oneof = field.containing_oneof
        if oneof is not None and oneof.fields[0] is not field:
            continue
        target = getattr(message, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key_field, value_field = field.message_type.fields
            key = _scalar(key_field, 1)
            if value_field.message_type is not None:
                fill(target[key], depth + 1)
            else:
                target[key] = _scalar(value_field, 1)
        elif _repeated(field):
            for i in (1, 2):
                if field.message_type is not None:
                    fill(target.add(), depth + 1)
                else:
                    target.append(_scalar(field, i))
        elif field.message_type is not None:
            fill(target, depth + 1)
            if not target.ListFields():  # an empty message still marks presence
                target.SetInParent()
        else:
            setattr(message, field.name, _scalar(field, 1))
    return message


def sample(event_type: str, n: int) -> dict[str, Any]:
    spec = CATALOG[event_type]
    payload = fill(spec.payload())
    event_id = f"0190f0c2-0000-7000-8000-{n:012d}"
    return {
        "body": base64.b64encode(payload.SerializeToString()).decode(),
        "expected": MessageToDict(payload, preserving_proto_field_name=True),
        "headers": {
            "Nats-Msg-Id": event_id,
            "ce-dataschema": payload.DESCRIPTOR.full_name,
            "ce-id": event_id,
            "ce-source": spec.source,
            "ce-specversion": "1.0",
            "ce-subject": f"{spec.name.split('.')[2]}-{n}",
            "ce-time": TIME,
            "ce-type": spec.name,
            "content-type": "application/protobuf",
            "traceparent": TRACE,
        },
    }


def main() -> None:
    samples = json.loads(GOLDEN.read_text())
    have = {s["headers"]["ce-type"] for s in samples}
    added = [name for name in CATALOG if name not in have]
    for name in added:
        samples.append(sample(name, len(samples)))
    GOLDEN.write_text(json.dumps(samples, indent=2, sort_keys=True))  # as first written
    print(f"added {len(added)} sample(s): {', '.join(added) or 'none needed'}")


if __name__ == "__main__":
    main()
