"""The SDK's typed RPCs match the protos: names, message types, streaming."""

from __future__ import annotations

from types import ModuleType

import pytest

from switchyard.proto.v1 import registry_pb2, scheduler_pb2, tracking_pb2
from switchyard.sdk.rpcs import Rpc, registry, scheduler, tracking

# The scheduler's RPCs that workers make (with stubs of their own), not clients.
WORKER_RPCS = {
    "RegisterWorker",
    "Heartbeat",
    "StartJob",
    "FinishJob",
    "StartJobs",
    "FinishJobs",
    "AppendLogs",
}
CASES = [
    (tracking, tracking_pb2, "TrackingService", set()),
    (registry, registry_pb2, "RegistryService", set()),
    (scheduler, scheduler_pb2, "SchedulerService", WORKER_RPCS),
]


def _rpcs(module: ModuleType) -> dict[str, Rpc]:  # type: ignore[type-arg]
    return {v.name: v for v in vars(module).values() if isinstance(v, Rpc)}


@pytest.mark.parametrize(("module", "pb", "service", "left_out"), CASES)
def test_every_client_rpc_matches_its_proto(
    module: ModuleType, pb: ModuleType, service: str, left_out: set[str]
) -> None:
    descriptor = pb.DESCRIPTOR.services_by_name[service]
    rpcs = _rpcs(module)
    assert set(rpcs) == {m.name for m in descriptor.methods} - left_out
    for method in descriptor.methods:
        if method.name in left_out:
            continue
        rpc = rpcs[method.name]
        assert rpc.service is module.SERVICE
        assert rpc.request.DESCRIPTOR is method.input_type, method.name
        assert rpc.response.DESCRIPTOR is method.output_type, method.name
        assert rpc.streaming == method.client_streaming, method.name
        assert rpc.replies == method.server_streaming, method.name
        assert not (rpc.retry and rpc.streaming), method.name


def test_reads_are_retried_and_appends_are_not() -> None:
    assert (
        tracking.GET_RUN.retry and tracking.SEARCH_RUNS.retry and registry.GET_MODEL_VERSION.retry
    )
    # A repeat would store points twice, or make a second run, model version or job.
    for rpc in (
        tracking.LOG_BATCH,
        tracking.CREATE_RUN,
        registry.CREATE_MODEL_VERSION,
        scheduler.SUBMIT_JOB,
        scheduler.SUBMIT_JOBS,
    ):
        assert not rpc.retry, rpc.name
