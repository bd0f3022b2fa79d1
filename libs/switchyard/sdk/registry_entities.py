"""What the registry calls hand back: frozen objects named and shaped as MLflow's."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from switchyard.proto.v1 import registry_pb2 as pb
from switchyard.proto.v1 import tracking_pb2 as tpb
from switchyard.sdk.entities import Dataset, DatasetInput, RunInfo


@dataclass(frozen=True)
class ModelSignature:
    """A model's input and output schemas, each a JSON string (MLflow's format)."""

    inputs: str = ""
    outputs: str = ""
    params: str = ""

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelSignature:
        """From `{"inputs": ..., "outputs": ...}`, values as JSON strings or as data."""

        def text(value: Any) -> str:
            if value is None:
                return ""
            return value if isinstance(value, str) else json.dumps(value)

        return cls(text(raw.get("inputs")), text(raw.get("outputs")), text(raw.get("params")))

    def to_proto(self) -> pb.ModelSignature:
        return pb.ModelSignature(inputs=self.inputs, outputs=self.outputs, params=self.params)


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    description: str
    source: str
    run_id: str | None
    experiment_id: str | None
    current_stage: str
    status: str
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    signature: ModelSignature | None = None
    flavor: str | None = None
    content_digest: str | None = None
    storage_location: str = ""

    @classmethod
    def from_proto(cls, v: pb.ModelVersion) -> ModelVersion:
        signature = ModelSignature(v.signature.inputs, v.signature.outputs, v.signature.params)
        return cls(
            name=v.name,
            version=v.version,
            creation_timestamp=v.creation_timestamp,
            last_updated_timestamp=v.last_updated_timestamp,
            description=v.description,
            source=v.source,
            run_id=v.run_id or None,
            experiment_id=v.experiment_id or None,
            current_stage=v.current_stage,
            status=v.status,
            tags=dict(v.tags),
            aliases=list(v.aliases),
            signature=signature if signature.to_dict() else None,
            flavor=v.flavor or None,
            content_digest=v.content_digest or None,
            storage_location=v.storage_location,
        )


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)  # alias -> version
    latest_versions: list[ModelVersion] = field(default_factory=list)  # newest per stage

    @classmethod
    def from_proto(cls, m: pb.RegisteredModel) -> RegisteredModel:
        return cls(
            name=m.name,
            creation_timestamp=m.creation_timestamp,
            last_updated_timestamp=m.last_updated_timestamp,
            description=m.description,
            tags=dict(m.tags),
            aliases=dict(sorted(m.aliases.items())),
            latest_versions=[ModelVersion.from_proto(v) for v in m.latest_versions],
        )


@dataclass(frozen=True)
class ModelHistoryEntry:
    """One audit entry: who did what to the model, when, from what to what."""

    id: int
    name: str
    actor: str
    timestamp: int
    action: str
    version: int | None = None
    alias: str | None = None
    from_version: int | None = None
    to_version: int | None = None
    from_stage: str | None = None
    to_stage: str | None = None
    detail: str = ""

    @classmethod
    def from_proto(cls, e: pb.ModelHistoryEntry) -> ModelHistoryEntry:
        return cls(
            id=e.id,
            name=e.name,
            actor=e.actor,
            timestamp=e.timestamp,
            action=e.action,
            version=e.version or None,
            alias=e.alias or None,
            from_version=e.from_version or None,
            to_version=e.to_version or None,
            from_stage=e.from_stage or None,
            to_stage=e.to_stage or None,
            detail=e.detail,
        )


@dataclass(frozen=True)
class ModelDeployment:
    name: str
    target: str
    state: str
    since: int


@dataclass(frozen=True)
class ModelLineage:
    """Which run and data produced a version, and where it is deployed."""

    model_version: ModelVersion
    run: RunInfo | None
    dataset_inputs: list[DatasetInput]
    deployments: list[ModelDeployment]

    @property
    def run_id(self) -> str | None:
        return self.model_version.run_id

    @property
    def experiment_id(self) -> str | None:
        return self.model_version.experiment_id

    @classmethod
    def from_proto(cls, r: pb.GetModelLineageResponse) -> ModelLineage:
        return cls(
            model_version=ModelVersion.from_proto(r.model_version),
            run=RunInfo.from_proto(r.run) if r.run_found else None,
            dataset_inputs=[_dataset_input(d) for d in r.dataset_inputs],
            deployments=[
                ModelDeployment(d.name, d.target, d.state, d.since) for d in r.deployments
            ],
        )


def _dataset_input(d: tpb.DatasetInput) -> DatasetInput:
    ds = d.dataset
    return DatasetInput(
        Dataset(ds.name, ds.digest, ds.source_type, ds.source, ds.schema, ds.profile),
        dict(d.tags),
    )


@dataclass(frozen=True)
class ModelInfo:
    """What `log_model` returns, as MLflow's ModelInfo."""

    artifact_path: str
    flavor: str
    model_uri: str  # runs:/<run_id>/<artifact_path>
    model_uuid: str
    run_id: str
    signature: ModelSignature | None
    utc_time_created: str
    content_digest: str
    requirements: list[str]
    registered_model_version: int | None = None

    @property
    def flavors(self) -> dict[str, Any]:  # MLflow's shape: flavor name -> its settings
        return {self.flavor: {}}
