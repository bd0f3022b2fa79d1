"""Builds the tracking service from settings; the shared runner runs it."""

from __future__ import annotations

from switchyard.core.config import Settings
from switchyard.core.runner import Runtime, run
from switchyard.proto.v1 import tracking_pb2_grpc
from switchyard.services.tracking.service import TrackingServicer
from switchyard.services.tracking.spec import SPEC
from switchyard.services.tracking.store import TrackingStore


async def setup(runtime: Runtime) -> None:
    store = TrackingStore(runtime.db, runtime.outbox, runtime.settings.default_artifact_root())
    await store.experiments.ensure_default_experiment()
    tracking_pb2_grpc.add_TrackingServiceServicer_to_server(TrackingServicer(store), runtime.server)


def main(settings: Settings | None = None) -> None:
    run(SPEC, settings)


if __name__ == "__main__":
    main()
