"""The model registry's calls on `sy.Client`, with `MlflowClient`'s names.

`RegistryMethods` is a mixin: `Client` inherits it and the registry channel
is opened on the first registry call (from `SWITCHYARD_REGISTRY_ADDRESS`,
`SWITCHYARD_ADDRESS` or the platform's endpoints file), so tracking-only
users never need the registry to be there. Every call sends the caller's
login as `sy-actor`, which the registry writes into the audit history.
"""

from __future__ import annotations

import functools
import getpass
import threading
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import grpc

from switchyard.core.config import Settings
from switchyard.errors import from_rpc_error
from switchyard.proto.v1 import registry_pb2_grpc
from switchyard.sdk import registry_ops as rops
from switchyard.sdk.channels import sync_channel
from switchyard.sdk.endpoints import Endpoints
from switchyard.sdk.entities import PagedList
from switchyard.sdk.ops import Op
from switchyard.sdk.registry_entities import (
    ModelHistoryEntry,
    ModelLineage,
    ModelSignature,
    ModelVersion,
    RegisteredModel,
)

T = TypeVar("T")
ACTOR_KEY = "sy-actor"
_OPEN = threading.Lock()


@functools.cache
def actor() -> str:
    """Who the audit history names for this process's registry calls."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class RegistryMethods:
    """Registry calls for a client that has `settings`, `endpoints` and `timeout`."""

    settings: Settings
    endpoints: Endpoints
    timeout: float | None
    registry_address: str | None = None
    _registry_channel: grpc.Channel | None = None
    _registry_stub: registry_pb2_grpc.RegistryServiceStub | None = None

    def _registry(self) -> registry_pb2_grpc.RegistryServiceStub:
        if self._registry_stub is not None:
            return self._registry_stub
        with _OPEN:
            if self._registry_stub is None:
                address = self.registry_address or self.endpoints.address("registry")
                self._registry_channel = sync_channel(address, self.settings)
                self._registry_stub = registry_pb2_grpc.RegistryServiceStub(self._registry_channel)
            return self._registry_stub

    def _close_registry(self) -> None:
        with _OPEN:
            channel, self._registry_channel = self._registry_channel, None
            self._registry_stub = None
        if channel is not None:
            channel.close()

    def _call(self, op: Op[T]) -> T:
        stub = self._registry()
        try:
            response = getattr(stub, op.method)(
                op.request, timeout=self.timeout, metadata=((ACTOR_KEY, actor()),)
            )
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        return op.decode(response)

    # -- registered models ------------------------------------------------------

    def create_registered_model(
        self, name: str, tags: Mapping[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        return self._call(rops.create_registered_model(name, tags, description))

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._call(rops.get_registered_model(name))

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return self._call(rops.rename_registered_model(name, new_name))

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        return self._call(rops.update_registered_model(name, description))

    def delete_registered_model(self, name: str) -> None:
        self._call(rops.delete_registered_model(name))

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        return self._call(
            rops.search_registered_models(filter_string, max_results, order_by, page_token)
        )

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self._call(rops.set_registered_model_tag(name, key, value))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._call(rops.delete_registered_model_tag(name, key))

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
        return self._call(
            rops.create_model_version(
                name, source, run_id, tags, description, signature, flavor, content_digest
            )
        )

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return self._call(rops.get_model_version(name, version))

    def update_model_version(
        self, name: str, version: int | str, description: str | None = None
    ) -> ModelVersion:
        return self._call(rops.update_model_version(name, version, description))

    def delete_model_version(self, name: str, version: int | str) -> None:
        self._call(rops.delete_model_version(name, version))

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        return self._call(
            rops.search_model_versions(filter_string, max_results, order_by, page_token)
        )

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        self._call(rops.set_model_version_tag(name, version, key, value))

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        self._call(rops.delete_model_version_tag(name, version, key))

    def get_model_version_download_uri(
        self, name: str, version: int | str | None = None, *, alias: str | None = None
    ) -> str:
        """Where a version's files are; by `version`, or by `alias` in one call."""
        return self._call(rops.get_model_version_download_uri(name, version, alias))

    def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str,
        archive_existing_versions: bool = False,
    ) -> ModelVersion:
        return self._call(
            rops.transition_model_version_stage(name, version, stage, archive_existing_versions)
        )

    # -- aliases, lineage, history ----------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        self._call(rops.set_registered_model_alias(name, alias, version))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._call(rops.delete_registered_model_alias(name, alias))

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self._call(rops.get_model_version_by_alias(name, alias))

    def get_model_lineage(self, name: str, version: int | str) -> ModelLineage:
        return self._call(rops.get_model_lineage(name, version))

    def get_model_history(self, name: str) -> list[ModelHistoryEntry]:
        """The model's whole audit trail, oldest first."""
        entries: list[ModelHistoryEntry] = []
        token = ""
        while True:
            page, token = self._call(rops.model_history_page(name, token))
            entries.extend(page)
            if not token:
                return entries
