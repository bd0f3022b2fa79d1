"""What the edge talks to: tracking and the registry through the SDK's transport, and artifacts.

The edge owns no tables. It sends the typed RPCs of `switchyard.sdk.rpcs`
and reads their protobuf replies as they are (no SDK entities in between).
The transport opens on the first request: under the test harness every
service starts at once, and the others' addresses are known only when the
platform is up. `close()` is idempotent.
"""

from __future__ import annotations

from typing import TypeVar

from google.protobuf.message import Message

from switchyard.core.artifacts import ArtifactStore, open_store
from switchyard.core.config import Settings
from switchyard.sdk.endpoints import settings_for_artifacts
from switchyard.sdk.interceptors import default_chain
from switchyard.sdk.rpcs import Rpc
from switchyard.sdk.transport import AsyncTransport

ARTIFACTS_SCHEME = "mlflow-artifacts:"

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)


class Backends:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.artifact_root = settings.default_artifact_root().rstrip("/")
        self._transport: AsyncTransport | None = None
        # the hidden experiment that holds logged models (see logged_models.py)
        self.logged_models_experiment: str | None = None

    def _open(self) -> AsyncTransport:
        # No await in here, so two first requests cannot both open one.
        self._transport = AsyncTransport(
            self.settings, interceptors=default_chain(self.settings, client="switchyard-web")
        )
        return self._transport

    async def call(self, rpc: Rpc[Req, Resp], request: Req) -> Resp:
        """One tracking or registry call, answered as its protobuf reply."""
        return await (self._transport or self._open()).send(rpc, request)

    def services(self) -> frozenset[str]:
        """The platform's services this edge can call (from the discovered endpoints)."""
        return frozenset((self._transport or self._open()).endpoints.grpc)

    def store(self, uri: str | None = None) -> ArtifactStore:
        """The artifact store at `uri` (default: the platform's artifact root)."""
        transport = self._transport
        settings = (
            settings_for_artifacts(self.settings, transport.endpoints)
            if transport
            else self.settings
        )
        return open_store(uri or self.artifact_root, settings)

    def public_uri(self, uri: str) -> str:
        """An artifact URI as the MLflow client should see it: proxied under the root."""
        if uri.startswith(self.artifact_root + "/"):
            return ARTIFACTS_SCHEME + uri[len(self.artifact_root) :]
        return uri

    def private_uri(self, uri: str) -> str:
        """The inverse of `public_uri`: mlflow-artifacts:/x -> <root>/x."""
        if uri.startswith(ARTIFACTS_SCHEME):
            return self.artifact_root + "/" + uri[len(ARTIFACTS_SCHEME) :].lstrip("/")
        return uri

    async def close(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.close()
