"""Builds the registry service from settings; the shared runner runs it."""

from __future__ import annotations

from switchyard.core.config import Settings
from switchyard.core.runner import Runtime, run
from switchyard.proto.v1 import registry_pb2_grpc
from switchyard.services.registry.deployment_store import DeploymentStore
from switchyard.services.registry.deployments import Follower
from switchyard.services.registry.lineage import Tracking
from switchyard.services.registry.promotion_store import PromotionStore
from switchyard.services.registry.service import RegistryServicer
from switchyard.services.registry.spec import SPEC
from switchyard.services.registry.store import RegistryStore


async def setup(runtime: Runtime) -> None:
    tracking = Tracking(runtime.settings)
    runtime.stack.push_async_callback(tracking.close)
    deployments = DeploymentStore(runtime.db)
    keep_s = runtime.settings.events_max_age_days * 86_400
    await Follower(deployments, keep_s).start(runtime.bus)
    servicer = RegistryServicer(
        RegistryStore(runtime.db, runtime.outbox),
        PromotionStore(runtime.db, runtime.outbox),
        tracking,
        deployments,
    )
    registry_pb2_grpc.add_RegistryServiceServicer_to_server(servicer, runtime.server)


def main(settings: Settings | None = None) -> None:
    run(SPEC, settings)


if __name__ == "__main__":
    main()
