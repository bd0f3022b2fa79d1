"""The model registry's calls on `sy.AsyncClient`: `RegistryMethods`, as coroutines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from switchyard.sdk import registry_ops as rops
from switchyard.sdk.entities import PagedList
from switchyard.sdk.registry_entities import (
    ModelHistoryEntry,
    ModelLineage,
    ModelSignature,
    ModelVersion,
    RegisteredModel,
)
from switchyard.sdk.transport import AsyncTransport


class AsyncRegistryMethods:
    """Registry calls for an async client that has a `transport`."""

    transport: AsyncTransport

    # -- registered models ------------------------------------------------------

    async def create_registered_model(
        self, name: str, tags: Mapping[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        return await self.transport.call(rops.create_registered_model(name, tags, description))

    async def get_registered_model(self, name: str) -> RegisteredModel:
        return await self.transport.call(rops.get_registered_model(name))

    async def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return await self.transport.call(rops.rename_registered_model(name, new_name))

    async def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        return await self.transport.call(rops.update_registered_model(name, description))

    async def delete_registered_model(self, name: str) -> None:
        await self.transport.call(rops.delete_registered_model(name))

    async def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        return await self.transport.call(
            rops.search_registered_models(filter_string, max_results, order_by, page_token)
        )

    async def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        await self.transport.call(rops.set_registered_model_tag(name, key, value))

    async def delete_registered_model_tag(self, name: str, key: str) -> None:
        await self.transport.call(rops.delete_registered_model_tag(name, key))

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
        return await self.transport.call(
            rops.create_model_version(
                name, source, run_id, tags, description, signature, flavor, content_digest
            )
        )

    async def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return await self.transport.call(rops.get_model_version(name, version))

    async def update_model_version(
        self, name: str, version: int | str, description: str | None = None
    ) -> ModelVersion:
        return await self.transport.call(rops.update_model_version(name, version, description))

    async def delete_model_version(self, name: str, version: int | str) -> None:
        await self.transport.call(rops.delete_model_version(name, version))

    async def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        return await self.transport.call(
            rops.search_model_versions(filter_string, max_results, order_by, page_token)
        )

    async def set_model_version_tag(
        self, name: str, version: int | str, key: str, value: Any
    ) -> None:
        await self.transport.call(rops.set_model_version_tag(name, version, key, value))

    async def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        await self.transport.call(rops.delete_model_version_tag(name, version, key))

    async def get_model_version_download_uri(
        self, name: str, version: int | str | None = None, *, alias: str | None = None
    ) -> str:
        """Where a version's files are; by `version`, or by `alias` in one call."""
        return await self.transport.call(rops.get_model_version_download_uri(name, version, alias))

    async def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str,
        archive_existing_versions: bool = False,
    ) -> ModelVersion:
        return await self.transport.call(
            rops.transition_model_version_stage(name, version, stage, archive_existing_versions)
        )

    # -- aliases, lineage, history ----------------------------------------------

    async def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        await self.transport.call(rops.set_registered_model_alias(name, alias, version))

    async def delete_registered_model_alias(self, name: str, alias: str) -> None:
        await self.transport.call(rops.delete_registered_model_alias(name, alias))

    async def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return await self.transport.call(rops.get_model_version_by_alias(name, alias))

    async def get_model_lineage(self, name: str, version: int | str) -> ModelLineage:
        return await self.transport.call(rops.get_model_lineage(name, version))

    async def get_model_history(self, name: str) -> list[ModelHistoryEntry]:
        """The model's whole audit trail, oldest first."""
        entries: list[ModelHistoryEntry] = []
        token = ""
        while True:
            page, token = await self.transport.call(rops.model_history_page(name, token))
            entries.extend(page)
            if not token:
                return entries
