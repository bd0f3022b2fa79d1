"""Builds the tracking service from settings; the shared runner runs it."""

from __future__ import annotations

import logging

from switchyard.core.auth import ALL_PROJECTS, Principal, Verifier
from switchyard.core.config import Settings
from switchyard.core.runner import Runtime, run
from switchyard.proto.v1 import access_pb2_grpc, tracking_pb2_grpc
from switchyard.sdk.endpoints import find_token
from switchyard.services.tracking.access_service import AccessServicer
from switchyard.services.tracking.audit_store import AUDITED_SERVICES, AuditStore
from switchyard.services.tracking.service import TrackingServicer
from switchyard.services.tracking.spec import SPEC
from switchyard.services.tracking.store import TrackingStore
from switchyard.services.tracking.token_store import TokenStore

log = logging.getLogger(__name__)


async def setup(runtime: Runtime) -> None:
    store = TrackingStore(runtime.db, runtime.outbox, runtime.settings.default_artifact_root())
    await store.experiments.ensure_default_experiment()
    tracking_pb2_grpc.add_TrackingServiceServicer_to_server(TrackingServicer(store), runtime.server)
    tokens = TokenStore(runtime.db, runtime.outbox)
    schemas = {s: runtime.settings.schema_for(s) for s in AUDITED_SERVICES}
    audit = AuditStore(runtime.db, schemas)
    access_pb2_grpc.add_AccessServiceServicer_to_server(
        AccessServicer(tokens, audit), runtime.server
    )
    if runtime.verifier is not None:
        await _keep_tokens(runtime.verifier, tokens, runtime.settings)


async def _keep_tokens(verifier: Verifier, tokens: TokenStore, settings: Settings) -> None:
    """Tokens are verified against this service's own table; the platform's
    token (`switchyard up` wrote it, or SWITCHYARD_TOKEN) is its first admin."""

    async def lookup(token: str) -> Principal:
        return Principal.of(await tokens.info(token))

    verifier.lookup = lookup
    token = find_token(settings)
    if token:
        await tokens.ensure_platform_token(token, ALL_PROJECTS)
    else:
        log.warning(
            "authentication is on but there is no platform token: set SWITCHYARD_TOKEN"
            " (or start with `switchyard up`, which makes one) to have a first admin"
        )


def main(settings: Settings | None = None) -> None:
    run(SPEC, settings)


if __name__ == "__main__":
    main()
