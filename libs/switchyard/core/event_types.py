"""The catalog of event types: each type's name and payload message.

The one place that maps event types to subjects and payloads. Code refers
to these constants, never to subject strings; the SDK uses the catalog to
decode what it receives. A type's name is also its NATS subject (under the
namespace prefix, see `events.nats_subject`).
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message

from switchyard.proto.v1 import events_pb2 as ev


@dataclass(frozen=True)
class EventType:
    name: str  # "sy.<service>.<entity>.<verb>"
    payload: type[Message]

    @property
    def source(self) -> str:
        return f"switchyard/{self.name.split('.')[1]}"


EXPERIMENT_CREATED = EventType("sy.tracking.experiment.created", ev.ExperimentChanged)
EXPERIMENT_UPDATED = EventType("sy.tracking.experiment.updated", ev.ExperimentChanged)
EXPERIMENT_DELETED = EventType("sy.tracking.experiment.deleted", ev.ExperimentChanged)
EXPERIMENT_RESTORED = EventType("sy.tracking.experiment.restored", ev.ExperimentChanged)
RUN_CREATED = EventType("sy.tracking.run.created", ev.RunChanged)
RUN_UPDATED = EventType("sy.tracking.run.updated", ev.RunChanged)
RUN_FINISHED = EventType("sy.tracking.run.finished", ev.RunChanged)
RUN_DELETED = EventType("sy.tracking.run.deleted", ev.RunChanged)
RUN_RESTORED = EventType("sy.tracking.run.restored", ev.RunChanged)
PARAMS_LOGGED = EventType("sy.tracking.params.logged", ev.ParamsLogged)
TAGS_SET = EventType("sy.tracking.tags.set", ev.TagsSet)
METRICS_LOGGED = EventType("sy.tracking.metrics.logged", ev.MetricsLogged)
INPUTS_LOGGED = EventType("sy.tracking.inputs.logged", ev.InputsLogged)

CATALOG: dict[str, EventType] = {
    t.name: t for t in list(globals().values()) if isinstance(t, EventType)
}
