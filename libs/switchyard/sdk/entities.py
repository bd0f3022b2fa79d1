"""What the SDK hands back: plain frozen objects named and shaped as MLflow's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from switchyard.proto.v1 import common_pb2 as cpb
from switchyard.proto.v1 import tracking_pb2 as pb

T = TypeVar("T")

_STAGES = {cpb.LIFECYCLE_STAGE_ACTIVE: "active", cpb.LIFECYCLE_STAGE_DELETED: "deleted"}


def status_name(value: int) -> str:
    return pb.RunStatus.Name(value).removeprefix("RUN_STATUS_")


def status_value(name: str) -> int:
    try:
        return int(pb.RunStatus.Value(f"RUN_STATUS_{name.upper()}"))
    except ValueError:
        from switchyard.errors import InvalidArgument

        raise InvalidArgument(
            f"status '{name}' is not one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED",
            field="status",
        ) from None


class PagedList(list[T], Generic[T]):
    """A page of results; `.token` fetches the next page (empty at the end)."""

    def __init__(self, items: list[T], token: str) -> None:
        super().__init__(items)
        self.token = token


# The experiment where the web edge keeps MLflow 3's logged models (a run each);
# listings for people leave it out.
LOGGED_MODELS_EXPERIMENT = "switchyard.logged-models"


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str]
    creation_time: int
    last_update_time: int

    @classmethod
    def from_proto(cls, e: pb.Experiment) -> Experiment:
        return cls(
            e.experiment_id,
            e.name,
            e.artifact_location,
            _STAGES.get(e.lifecycle_stage, "active"),
            dict(e.tags),
            e.creation_time,
            e.last_update_time,
        )


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    run_name: str
    experiment_id: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str
    parent_run_id: str | None

    @property
    def run_uuid(self) -> str:  # MLflow's older name
        return self.run_id

    @classmethod
    def from_proto(cls, i: pb.RunInfo) -> RunInfo:
        return cls(
            i.run_id,
            i.run_name,
            i.experiment_id,
            i.user_id,
            status_name(i.status),
            i.start_time,
            i.end_time if i.HasField("end_time") else None,
            i.artifact_uri,
            _STAGES.get(i.lifecycle_stage, "active"),
            i.parent_run_id or None,
        )


@dataclass(frozen=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int


@dataclass(frozen=True)
class RunData:
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Dataset:
    name: str
    digest: str
    source_type: str = ""
    source: str = ""
    schema: str = ""
    profile: str = ""


@dataclass(frozen=True)
class DatasetInput:
    dataset: Dataset
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    info: RunInfo
    data: RunData
    inputs: list[DatasetInput] = field(default_factory=list)

    @classmethod
    def from_proto(cls, r: pb.Run) -> Run:
        # Key by key: dict(proto_map) walks the map through Python's Mapping ABC.
        params, tags = r.data.params, r.data.tags
        data = RunData(
            metrics={m.key: m.value for m in r.data.metrics},
            params={k: params[k] for k in params},
            tags={k: tags[k] for k in tags},
        )
        inputs = [
            DatasetInput(
                Dataset(
                    d.dataset.name,
                    d.dataset.digest,
                    d.dataset.source_type,
                    d.dataset.source,
                    d.dataset.schema,
                    d.dataset.profile,
                ),
                dict(d.tags),
            )
            for d in r.inputs.dataset_inputs
        ]
        return cls(RunInfo.from_proto(r.info), data, inputs)


def metrics_from_series(series: pb.MetricSeries) -> list[Metric]:
    return [
        Metric(series.key, v, t, s)
        for v, s, t in zip(series.values, series.steps, series.timestamps, strict=True)
    ]
