"""The model registry's calls on `sy.Client`, with `MlflowClient`'s names.

`RegistryMethods` is a mixin over the client's transport, which opens the
registry's channel on the first registry call (from the address given, or
the platform's endpoints), so tracking-only users never need the registry
to be there. Every call carries the caller's login as `sy-actor` (the
`Identity` interceptor), which the registry writes into the audit history.
"""

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
from switchyard.sdk.transport import Transport


class RegistryMethods:
    """Registry calls for a client that has a `transport`."""

    transport: Transport

    # -- registered models ------------------------------------------------------

    def create_registered_model(
        self, name: str, tags: Mapping[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        return self.transport.call(rops.create_registered_model(name, tags, description))

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self.transport.call(rops.get_registered_model(name))

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return self.transport.call(rops.rename_registered_model(name, new_name))

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        return self.transport.call(rops.update_registered_model(name, description))

    def delete_registered_model(self, name: str) -> None:
        self.transport.call(rops.delete_registered_model(name))

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        return self.transport.call(
            rops.search_registered_models(filter_string, max_results, order_by, page_token)
        )

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self.transport.call(rops.set_registered_model_tag(name, key, value))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.transport.call(rops.delete_registered_model_tag(name, key))

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """The newest version in each stage (or in each of `stages`), as MLflow."""
        wanted = {s.lower() for s in stages or ()}
        latest = self.get_registered_model(name).latest_versions
        return [v for v in latest if not wanted or v.current_stage.lower() in wanted]

    # -- model versions ---------------------------------------------------------

    def create_model_version(
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
        return self.transport.call(
            rops.create_model_version(
                name, source, run_id, tags, description, signature, flavor, content_digest
            )
        )

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return self.transport.call(rops.get_model_version(name, version))

    def update_model_version(
        self, name: str, version: int | str, description: str | None = None
    ) -> ModelVersion:
        return self.transport.call(rops.update_model_version(name, version, description))

    def delete_model_version(self, name: str, version: int | str) -> None:
        self.transport.call(rops.delete_model_version(name, version))

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        return self.transport.call(
            rops.search_model_versions(filter_string, max_results, order_by, page_token)
        )

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        self.transport.call(rops.set_model_version_tag(name, version, key, value))

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        self.transport.call(rops.delete_model_version_tag(name, version, key))

    def get_model_version_download_uri(
        self, name: str, version: int | str | None = None, *, alias: str | None = None
    ) -> str:
        """Where a version's files are; by `version`, or by `alias` in one call."""
        return self.transport.call(rops.get_model_version_download_uri(name, version, alias))

    def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str,
        archive_existing_versions: bool = False,
    ) -> ModelVersion:
        return self.transport.call(
            rops.transition_model_version_stage(name, version, stage, archive_existing_versions)
        )

    # -- aliases, lineage, history ----------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        self.transport.call(rops.set_registered_model_alias(name, alias, version))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.transport.call(rops.delete_registered_model_alias(name, alias))

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self.transport.call(rops.get_model_version_by_alias(name, alias))

    def get_model_lineage(self, name: str, version: int | str) -> ModelLineage:
        return self.transport.call(rops.get_model_lineage(name, version))

    def get_model_history(self, name: str) -> list[ModelHistoryEntry]:
        """The model's whole audit trail, oldest first."""
        entries: list[ModelHistoryEntry] = []
        token = ""
        while True:
            page, token = self.transport.call(rops.model_history_page(name, token))
            entries.extend(page)
            if not token:
                return entries
