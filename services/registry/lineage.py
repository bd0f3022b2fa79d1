"""Lineage: the run, experiment and data behind a version, from the tracking service.

The registry asks tracking over gRPC with the SDK's `AsyncClient`, as any
client would; it never reads tracking's tables. The client is made on first
use, not at start-up: under `switchyard up` the platform's endpoints file
appears only once every service is healthy, the registry included.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from switchyard.core.config import Settings
from switchyard.core.peers import Peer
from switchyard.errors import FailedPrecondition, InvalidArgument, NotFound
from switchyard.proto.v1 import common_pb2 as cpb
from switchyard.proto.v1 import registry_pb2 as pb
from switchyard.proto.v1 import tracking_pb2 as tpb
from switchyard.sdk.async_client import AsyncClient
from switchyard.sdk.entities import DatasetInput, Run, RunInfo
from switchyard.services.registry import validation
from switchyard.services.registry.validation import Source

TRACKING_TIMEOUT_S = 10.0


class Tracking(Peer[AsyncClient]):
    """The registry's one connection to the tracking service; `close()` is idempotent."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(lambda: AsyncClient(settings=settings, timeout=TRACKING_TIMEOUT_S))
        self.settings = settings

    async def run(self, run_id: str) -> Run:
        client = await self.client()
        try:
            return await client.get_run(run_id)
        except NotFound:
            raise NotFound(f"run '{run_id}' not found", entity="run", field="run_id") from None


@dataclass(frozen=True)
class SourceRun:
    """What registration records about where a version came from."""

    run_id: uuid.UUID | None
    experiment_id: str
    storage_location: str


async def resolve(tracking: Tracking, source: Source, run_id: str) -> SourceRun:
    """Check the version's run with tracking; resolve a runs:/ source to its artifacts."""
    given = validation.run_id(run_id) if run_id else None
    if source.run_id is not None and given is not None and source.run_id != given:
        raise InvalidArgument(
            f"run_id '{run_id}' differs from the run in source '{source.uri}'", field="run_id"
        )
    chosen = source.run_id or given
    if chosen is None:
        return SourceRun(None, "", source.uri)
    run = await tracking.run(chosen.hex)
    if run.info.lifecycle_stage != "active":
        raise FailedPrecondition(
            f"run '{chosen.hex}' is deleted; restore it before registering from it",
            entity="run",
            field="run_id",
        )
    location = source.uri
    if source.run_id is not None:
        root = run.info.artifact_uri.rstrip("/")
        location = f"{root}/{source.path}" if source.path else root
    return SourceRun(chosen, run.info.experiment_id, location)


async def lineage(tracking: Tracking, version: pb.ModelVersion) -> pb.GetModelLineageResponse:
    """The version, its run and the run's dataset inputs as tracking has them now."""
    answer = pb.GetModelLineageResponse(model_version=version)
    if not version.run_id:
        return answer
    try:
        run = await tracking.run(version.run_id)
    except NotFound:
        return answer  # run_found stays false: the run has been removed since
    answer.run_found = True
    answer.run.CopyFrom(_run_info(run.info))
    answer.dataset_inputs.extend(_dataset_input(d) for d in run.inputs)
    return answer


def _run_info(info: RunInfo) -> tpb.RunInfo:
    out = tpb.RunInfo(
        run_id=info.run_id,
        run_name=info.run_name,
        experiment_id=info.experiment_id,
        user_id=info.user_id,
        status=tpb.RunStatus.Value(f"RUN_STATUS_{info.status}"),
        start_time=info.start_time,
        artifact_uri=info.artifact_uri,
        lifecycle_stage=(
            cpb.LIFECYCLE_STAGE_ACTIVE
            if info.lifecycle_stage == "active"
            else cpb.LIFECYCLE_STAGE_DELETED
        ),
        parent_run_id=info.parent_run_id or "",
    )
    if info.end_time is not None:
        out.end_time = info.end_time
    return out


def _dataset_input(item: DatasetInput) -> tpb.DatasetInput:
    d = item.dataset
    dataset = tpb.Dataset(
        name=d.name,
        digest=d.digest,
        source_type=d.source_type,
        source=d.source,
        schema=d.schema,
        profile=d.profile,
    )
    return tpb.DatasetInput(dataset=dataset, tags=item.tags)
