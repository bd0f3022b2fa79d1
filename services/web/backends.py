"""What the edge talks to: tracking and registry through the SDK's AsyncClient, and artifacts.

The edge owns no tables. Clients open on first use: under the test harness
every service starts at once and the others' addresses are known only when
the platform is up. `close()` is idempotent.
"""

from __future__ import annotations

import asyncio
from typing import Any

from google.protobuf.message import Message

from switchyard.core.artifacts import ArtifactStore, open_store
from switchyard.core.config import Settings
from switchyard.sdk.async_client import AsyncClient
from switchyard.sdk.endpoints import settings_for_artifacts
from switchyard.sdk.ops import Op

ARTIFACTS_SCHEME = "mlflow-artifacts:"


def _same(response: Any) -> Any:
    return response


class Backends:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.artifact_root = settings.default_artifact_root().rstrip("/")
        self._tracking: AsyncClient | None = None
        self._lock = asyncio.Lock()
        # the hidden experiment that holds logged models (see logged_models.py)
        self.logged_models_experiment: str | None = None

    async def _client(self) -> AsyncClient:
        client = self._tracking
        if client is None:
            async with self._lock:
                if self._tracking is None:
                    self._tracking = AsyncClient(settings=self.settings)
                client = self._tracking
        return client

    async def tracking(self, method: str, request: Message) -> Any:
        """One TrackingService call, answered as its protobuf response."""
        return await (await self._client())._run(Op(method, request, _same))

    async def registry(self, method: str, request: Message) -> Any:
        """One RegistryService call, answered as its protobuf response."""
        return await (await self._client())._call(Op(method, request, _same))

    def store(self, uri: str | None = None) -> ArtifactStore:
        """The artifact store at `uri` (default: the platform's artifact root)."""
        client = self._tracking
        settings = (
            settings_for_artifacts(self.settings, client.endpoints) if client else self.settings
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
        client, self._tracking = self._tracking, None
        if client is not None:
            await client.close()
