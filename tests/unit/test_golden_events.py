"""Events already on the wire (tests/golden/events.json) must still decode.

The samples were written once by an earlier version; never regenerate them
to make this pass: a failure means a change broke consumers of old events.
A new event type gets its sample from `python tests/golden/new_samples.py`,
which adds the missing ones and leaves the others alone.
"""

import base64
import json
from pathlib import Path

from google.protobuf.json_format import MessageToDict

from switchyard.core import events
from switchyard.core.event_types import CATALOG

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "events.json").read_text())


def test_golden_events_decode() -> None:
    assert len(GOLDEN) >= 5
    for sample in GOLDEN:
        event = events.decode(sample["headers"], base64.b64decode(sample["body"]))
        assert event.type == sample["headers"]["ce-type"]
        assert event.id == sample["headers"]["ce-id"]
        assert event.subject == sample["headers"]["ce-subject"]
        assert event.traceparent.startswith("00-4bf92f3577b34da6a3ce929d0e0e4736")
        assert MessageToDict(event.data, preserving_proto_field_name=True) == sample["expected"]


def test_every_event_type_has_a_golden_sample() -> None:
    sampled = {sample["headers"]["ce-type"] for sample in GOLDEN}
    missing = [name for name in CATALOG if name not in sampled]
    assert not missing, (
        f"no golden sample for {missing}: run `python tests/golden/new_samples.py` once"
        " and commit tests/golden/events.json"
    )


def test_samples_name_their_payload_schema() -> None:
    for sample in GOLDEN:
        spec = CATALOG[sample["headers"]["ce-type"]]
        assert sample["headers"]["ce-dataschema"] == spec.payload.DESCRIPTOR.full_name
        assert sample["headers"]["ce-source"] == spec.source


def test_envelope_round_trip() -> None:
    sample = GOLDEN[0]
    event = events.decode(sample["headers"], base64.b64decode(sample["body"]))
    envelope = event.to_envelope()
    assert envelope.dataschema == "switchyard.v1.ExperimentChanged"
    assert envelope.data == base64.b64decode(sample["body"])
    assert envelope.time.ToDatetime().year == 2026
