"""Each registry call once: the RPC it makes, its request, how to read the reply.

`RegistryMethods` and `AsyncRegistryMethods` only differ in how they send an
`Op` (through their client's transport), so the mapping from MLflow-style
arguments to protobuf lives here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import registry_pb2 as pb
from switchyard.sdk.arguments import checked, pairs
from switchyard.sdk.entities import PagedList
from switchyard.sdk.registry_entities import (
    ModelHistoryEntry,
    ModelLineage,
    ModelSignature,
    ModelVersion,
    RegisteredModel,
)
from switchyard.sdk.rpcs import Op, none
from switchyard.sdk.rpcs import registry as rpc


def _tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    return dict(pairs(tags, "tags"))


def version_number(version: int | str) -> int:
    """MLflow passes versions as strings or ints; the wire has integers."""
    try:
        return int(version)
    except (TypeError, ValueError):
        raise InvalidArgument(
            f"version must be an integer, got {version!r}", field="version"
        ) from None


def _model(r: Any) -> RegisteredModel:
    return RegisteredModel.from_proto(r.registered_model)


def _version(r: Any) -> ModelVersion:
    return ModelVersion.from_proto(r.model_version)


# -- registered models ----------------------------------------------------------


@checked
def create_registered_model(
    name: str, tags: Mapping[str, Any] | None, description: str | None
) -> Op[RegisteredModel]:
    req = pb.CreateRegisteredModelRequest(
        name=name, tags=_tags(tags), description=description or ""
    )
    return Op(rpc.CREATE_REGISTERED_MODEL, req, _model)


@checked
def get_registered_model(name: str) -> Op[RegisteredModel]:
    return Op(rpc.GET_REGISTERED_MODEL, pb.GetRegisteredModelRequest(name=name), _model)


@checked
def rename_registered_model(name: str, new_name: str) -> Op[RegisteredModel]:
    req = pb.RenameRegisteredModelRequest(name=name, new_name=new_name)
    return Op(rpc.RENAME_REGISTERED_MODEL, req, _model)


@checked
def update_registered_model(name: str, description: str | None) -> Op[RegisteredModel]:
    req = pb.UpdateRegisteredModelRequest(name=name, description=description or "")
    return Op(rpc.UPDATE_REGISTERED_MODEL, req, _model)


@checked
def delete_registered_model(name: str) -> Op[None]:
    return Op(rpc.DELETE_REGISTERED_MODEL, pb.DeleteRegisteredModelRequest(name=name), none)


@checked
def search_registered_models(
    filter_string: str | None,
    max_results: int,
    order_by: Sequence[str] | None,
    page_token: str | None,
) -> Op[PagedList[RegisteredModel]]:
    req = pb.SearchRegisteredModelsRequest(
        filter=filter_string or "",
        max_results=max_results,
        order_by=[order_by] if isinstance(order_by, str) else list(order_by or []),
        page_token=page_token or "",
    )
    return Op(
        rpc.SEARCH_REGISTERED_MODELS,
        req,
        lambda r: PagedList(
            [RegisteredModel.from_proto(m) for m in r.registered_models], r.next_page_token
        ),
    )


@checked
def set_registered_model_tag(name: str, key: str, value: Any) -> Op[None]:
    req = pb.SetRegisteredModelTagRequest(name=name, key=key, value=str(value))
    return Op(rpc.SET_REGISTERED_MODEL_TAG, req, none)


@checked
def delete_registered_model_tag(name: str, key: str) -> Op[None]:
    req = pb.DeleteRegisteredModelTagRequest(name=name, key=key)
    return Op(rpc.DELETE_REGISTERED_MODEL_TAG, req, none)


# -- model versions -------------------------------------------------------------


@checked
def create_model_version(
    name: str,
    source: str,
    run_id: str | None,
    tags: Mapping[str, Any] | None,
    description: str | None,
    signature: ModelSignature | None = None,
    flavor: str | None = None,
    content_digest: str | None = None,
) -> Op[ModelVersion]:
    req = pb.CreateModelVersionRequest(
        name=name,
        source=source,
        run_id=run_id or "",
        tags=_tags(tags),
        description=description or "",
        flavor=flavor or "",
        content_digest=content_digest or "",
    )
    if signature is not None:
        req.signature.CopyFrom(signature.to_proto())
    return Op(rpc.CREATE_MODEL_VERSION, req, _version)


@checked
def get_model_version(name: str, version: int | str) -> Op[ModelVersion]:
    req = pb.GetModelVersionRequest(name=name, version=version_number(version))
    return Op(rpc.GET_MODEL_VERSION, req, _version)


@checked
def update_model_version(
    name: str, version: int | str, description: str | None
) -> Op[ModelVersion]:
    req = pb.UpdateModelVersionRequest(
        name=name, version=version_number(version), description=description or ""
    )
    return Op(rpc.UPDATE_MODEL_VERSION, req, _version)


@checked
def delete_model_version(name: str, version: int | str) -> Op[None]:
    req = pb.DeleteModelVersionRequest(name=name, version=version_number(version))
    return Op(rpc.DELETE_MODEL_VERSION, req, none)


@checked
def search_model_versions(
    filter_string: str | None,
    max_results: int,
    order_by: Sequence[str] | None,
    page_token: str | None,
) -> Op[PagedList[ModelVersion]]:
    req = pb.SearchModelVersionsRequest(
        filter=filter_string or "",
        max_results=max_results,
        order_by=[order_by] if isinstance(order_by, str) else list(order_by or []),
        page_token=page_token or "",
    )
    return Op(
        rpc.SEARCH_MODEL_VERSIONS,
        req,
        lambda r: PagedList(
            [ModelVersion.from_proto(v) for v in r.model_versions], r.next_page_token
        ),
    )


@checked
def set_model_version_tag(name: str, version: int | str, key: str, value: Any) -> Op[None]:
    req = pb.SetModelVersionTagRequest(
        name=name, version=version_number(version), key=key, value=str(value)
    )
    return Op(rpc.SET_MODEL_VERSION_TAG, req, none)


@checked
def delete_model_version_tag(name: str, version: int | str, key: str) -> Op[None]:
    req = pb.DeleteModelVersionTagRequest(name=name, version=version_number(version), key=key)
    return Op(rpc.DELETE_MODEL_VERSION_TAG, req, none)


@checked
def get_model_version_download_uri(
    name: str, version: int | str | None, alias: str | None
) -> Op[str]:
    if (version is None) == (alias is None):
        raise InvalidArgument("give either version or alias", field="version")
    req = pb.GetModelVersionDownloadUriRequest(name=name, alias=alias or "")
    if version is not None:
        req.version = version_number(version)
    return Op(rpc.GET_MODEL_VERSION_DOWNLOAD_URI, req, lambda r: r.artifact_uri)


@checked
def transition_model_version_stage(
    name: str, version: int | str, stage: str, archive_existing_versions: bool
) -> Op[ModelVersion]:
    req = pb.TransitionModelVersionStageRequest(
        name=name,
        version=version_number(version),
        stage=stage,
        archive_existing_versions=archive_existing_versions,
    )
    return Op(rpc.TRANSITION_MODEL_VERSION_STAGE, req, _version)


# -- aliases, lineage, history ----------------------------------------------------


@checked
def set_registered_model_alias(name: str, alias: str, version: int | str) -> Op[None]:
    req = pb.SetRegisteredModelAliasRequest(name=name, alias=alias, version=version_number(version))
    return Op(rpc.SET_REGISTERED_MODEL_ALIAS, req, none)


@checked
def delete_registered_model_alias(name: str, alias: str) -> Op[None]:
    req = pb.DeleteRegisteredModelAliasRequest(name=name, alias=alias)
    return Op(rpc.DELETE_REGISTERED_MODEL_ALIAS, req, none)


@checked
def get_model_version_by_alias(name: str, alias: str) -> Op[ModelVersion]:
    req = pb.GetModelVersionByAliasRequest(name=name, alias=alias)
    return Op(rpc.GET_MODEL_VERSION_BY_ALIAS, req, _version)


@checked
def get_model_lineage(name: str, version: int | str) -> Op[ModelLineage]:
    req = pb.GetModelLineageRequest(name=name, version=version_number(version))
    return Op(rpc.GET_MODEL_LINEAGE, req, ModelLineage.from_proto)


@checked
def model_history_page(name: str, page_token: str) -> Op[tuple[list[ModelHistoryEntry], str]]:
    req = pb.GetModelHistoryRequest(name=name, page_token=page_token)
    return Op(
        rpc.GET_MODEL_HISTORY,
        req,
        lambda r: ([ModelHistoryEntry.from_proto(e) for e in r.entries], r.next_page_token),
    )
