"""The model registry's calls on `sy.AsyncClient`: `RegistryMethods`, as coroutines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import grpc

from switchyard.core.config import Settings
from switchyard.errors import from_rpc_error
from switchyard.proto.v1 import registry_pb2_grpc
from switchyard.sdk import registry_ops as rops
from switchyard.sdk.channels import async_channel
from switchyard.sdk.endpoints import Endpoints
from switchyard.sdk.entities import PagedList
from switchyard.sdk.ops import Op
from switchyard.sdk.registry_client import ACTOR_KEY, actor
from switchyard.sdk.registry_entities import (
    ModelHistoryEntry,
    ModelLineage,
    ModelSignature,
    ModelVersion,
    RegisteredModel,
)

T = TypeVar("T")


class AsyncRegistryMethods:
    """Registry calls for an async client that has `settings`, `endpoints` and `timeout`."""

    settings: Settings
    endpoints: Endpoints
    timeout: float | None
    registry_address: str | None = None
    _registry_channel: grpc.aio.Channel | None = None
    _registry_stub: registry_pb2_grpc.RegistryServiceStub | None = None

    def _registry(self) -> registry_pb2_grpc.RegistryServiceStub:
        # Coroutines of one loop never interleave here: no lock needed.
        if self._registry_stub is None:
            address = self.registry_address or self.endpoints.address("registry")
            self._registry_channel = async_channel(address, self.settings)
            self._registry_stub = registry_pb2_grpc.RegistryServiceStub(self._registry_channel)
        return self._registry_stub

    async def _close_registry(self) -> None:
        channel, self._registry_channel = self._registry_channel, None
        self._registry_stub = None
        if channel is not None:
            await channel.close()

    async def _call(self, op: Op[T]) -> T:
        stub = self._registry()
        try:
            response = await getattr(stub, op.method)(
                op.request, timeout=self.timeout, metadata=((ACTOR_KEY, actor()),)
            )
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        return op.decode(response)

    # -- registered models ------------------------------------------------------

    async def create_registered_model(
        self, name: str, tags: Mapping[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        return await self._call(rops.create_registered_model(name, tags, description))

    async def get_registered_model(self, name: str) -> RegisteredModel:
        return await self._call(rops.get_registered_model(name))

    async def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return await self._call(rops.rename_registered_model(name, new_name))

    async def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        return await self._call(rops.update_registered_model(name, description))

    async def delete_registered_model(self, name: str) -> None:
        await self._call(rops.delete_registered_model(name))

    async def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        return await self._call(
            rops.search_registered_models(filter_string, max_results, order_by, page_token)
        )

    async def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        await self._call(rops.set_registered_model_tag(name, key, value))

    async def delete_registered_model_tag(self, name: str, key: str) -> None:
        await self._call(rops.delete_registered_model_tag(name, key))

    async def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """The newest version in each stage (or in each of `stages`), as MLflow."""
        wanted = {s.lower() for s in stages or ()}
        latest = (await self.get_registered_model(name)).latest_versions
        return [v for v in latest if not wanted or v.current_stage.lower() in wanted]

    # -- model versions ---------------------------------------------------------

    async def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
        *,
        signature: ModelSignature | None = None,
        flavor: str | None = None,
        content_digest: str | None = None,
    ) -> ModelVersion:
        return await self._call(
            rops.create_model_version(
                name, source, run_id, tags, description, signature, flavor, content_digest
            )
        )

    async def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return await self._call(rops.get_model_version(name, version))

    async def update_model_version(
        self, name: str, version: int | str, description: str | None = None
    ) -> ModelVersion:
        return await self._call(rops.update_model_version(name, version, description))

    async def delete_model_version(self, name: str, version: int | str) -> None:
        await self._call(rops.delete_model_version(name, version))

    async def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        return await self._call(
            rops.search_model_versions(filter_string, max_results, order_by, page_token)
        )

    async def set_model_version_tag(
        self, name: str, version: int | str, key: str, value: Any
    ) -> None:
        await self._call(rops.set_model_version_tag(name, version, key, value))

    async def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        await self._call(rops.delete_model_version_tag(name, version, key))

    async def get_model_version_download_uri(
        self, name: str, version: int | str | None = None, *, alias: str | None = None
    ) -> str:
        """Where a version's files are; by `version`, or by `alias` in one call."""
        return await self._call(rops.get_model_version_download_uri(name, version, alias))

    async def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str,
        archive_existing_versions: bool = False,
    ) -> ModelVersion:
        return await self._call(
            rops.transition_model_version_stage(name, version, stage, archive_existing_versions)
        )

    # -- aliases, lineage, history ----------------------------------------------

    async def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        await self._call(rops.set_registered_model_alias(name, alias, version))

    async def delete_registered_model_alias(self, name: str, alias: str) -> None:
        await self._call(rops.delete_registered_model_alias(name, alias))

    async def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return await self._call(rops.get_model_version_by_alias(name, alias))

    async def get_model_lineage(self, name: str, version: int | str) -> ModelLineage:
        return await self._call(rops.get_model_lineage(name, version))

    async def get_model_history(self, name: str) -> list[ModelHistoryEntry]:
        """The model's whole audit trail, oldest first."""
        entries: list[ModelHistoryEntry] = []
        token = ""
        while True:
            page, token = await self._call(rops.model_history_page(name, token))
            entries.extend(page)
            if not token:
                return entries
