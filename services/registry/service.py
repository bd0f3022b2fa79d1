"""RegistryService over gRPC: decode the request, validate, call the stores."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import registry_pb2 as pb
from switchyard.proto.v1 import registry_pb2_grpc as rpc
from switchyard.services.registry import lineage, validation
from switchyard.services.registry.deployment_store import DeploymentStore
from switchyard.services.registry.lineage import Tracking
from switchyard.services.registry.promotion_store import PromotionStore
from switchyard.services.registry.store import NewVersion, RegistryStore

Ctx: TypeAlias = grpc.aio.ServicerContext
ACTOR_KEY = "sy-actor"


def _actor(context: Ctx) -> str:
    """Who is calling, for the audit history (the SDK sends it as metadata)."""
    for key, value in context.invocation_metadata() or ():
        if key == ACTOR_KEY and isinstance(value, str):
            return validation.actor(value)
    return validation.actor("")


def _description(value: str) -> str:
    return validation.text(value, "description", validation.MAX_DESCRIPTION)


class RegistryServicer(rpc.RegistryServiceServicer):
    def __init__(
        self,
        store: RegistryStore,
        promotion: PromotionStore,
        tracking: Tracking,
        deployments: DeploymentStore,
    ) -> None:
        self.store = store
        self.promotion = promotion
        self.tracking = tracking
        self.deployments = deployments

    # -- registered models ------------------------------------------------------

    async def CreateRegisteredModel(
        self, request: pb.CreateRegisteredModelRequest, context: Ctx
    ) -> pb.CreateRegisteredModelResponse:
        name = validation.name(request.name)
        tags = validation.tags(request.tags)
        description = _description(request.description)
        model = await self.store.create_model(name, tags, description, _actor(context))
        return pb.CreateRegisteredModelResponse(registered_model=model)

    async def GetRegisteredModel(
        self, request: pb.GetRegisteredModelRequest, context: Ctx
    ) -> pb.GetRegisteredModelResponse:
        model = await self.store.get_model(validation.name(request.name))
        return pb.GetRegisteredModelResponse(registered_model=model)

    async def RenameRegisteredModel(
        self, request: pb.RenameRegisteredModelRequest, context: Ctx
    ) -> pb.RenameRegisteredModelResponse:
        name = validation.name(request.name)
        new_name = validation.name(request.new_name, "new_name")
        model = await self.store.rename_model(name, new_name, _actor(context))
        return pb.RenameRegisteredModelResponse(registered_model=model)

    async def UpdateRegisteredModel(
        self, request: pb.UpdateRegisteredModelRequest, context: Ctx
    ) -> pb.UpdateRegisteredModelResponse:
        name = validation.name(request.name)
        description = _description(request.description)
        model = await self.store.update_model(name, description, _actor(context))
        return pb.UpdateRegisteredModelResponse(registered_model=model)

    async def DeleteRegisteredModel(
        self, request: pb.DeleteRegisteredModelRequest, context: Ctx
    ) -> pb.DeleteRegisteredModelResponse:
        await self.store.delete_model(validation.name(request.name), _actor(context))
        return pb.DeleteRegisteredModelResponse()

    async def SearchRegisteredModels(
        self, request: pb.SearchRegisteredModelsRequest, context: Ctx
    ) -> pb.SearchRegisteredModelsResponse:
        limit = validation.max_results(request.max_results, "models")
        found, token = await self.store.search_models(
            request.filter, list(request.order_by), request.page_token, limit
        )
        return pb.SearchRegisteredModelsResponse(registered_models=found, next_page_token=token)

    async def SetRegisteredModelTag(
        self, request: pb.SetRegisteredModelTagRequest, context: Ctx
    ) -> pb.SetRegisteredModelTagResponse:
        name = validation.name(request.name)
        key, value = validation.tag(request.key, request.value)
        await self.store.set_model_tag(name, key, value, _actor(context))
        return pb.SetRegisteredModelTagResponse()

    async def DeleteRegisteredModelTag(
        self, request: pb.DeleteRegisteredModelTagRequest, context: Ctx
    ) -> pb.DeleteRegisteredModelTagResponse:
        name = validation.name(request.name)
        await self.store.delete_model_tag(name, validation.key(request.key), _actor(context))
        return pb.DeleteRegisteredModelTagResponse()

    # -- model versions ---------------------------------------------------------

    async def CreateModelVersion(
        self, request: pb.CreateModelVersionRequest, context: Ctx
    ) -> pb.CreateModelVersionResponse:
        name = validation.name(request.name)
        source = validation.source(request.source)
        description = _description(request.description)
        tags = validation.tags(request.tags)
        signature = validation.signature(request.signature)
        flavor = validation.flavor(request.flavor)
        digest = validation.content_digest(request.content_digest)
        await self.store.require_model(name)  # before asking tracking about the run
        run = await lineage.resolve(self.tracking, source, request.run_id)
        new = NewVersion(
            source=source.uri,
            storage_location=run.storage_location,
            run_id=run.run_id,
            experiment_id=run.experiment_id,
            description=description,
            tags=tags,
            signature=signature,
            flavor=flavor,
            content_digest=digest,
        )
        version = await self.store.create_version(name, new, _actor(context))
        return pb.CreateModelVersionResponse(model_version=version)

    async def GetModelVersion(
        self, request: pb.GetModelVersionRequest, context: Ctx
    ) -> pb.GetModelVersionResponse:
        name = validation.name(request.name)
        version = await self.store.get_version(name, validation.version(request.version))
        return pb.GetModelVersionResponse(model_version=version)

    async def UpdateModelVersion(
        self, request: pb.UpdateModelVersionRequest, context: Ctx
    ) -> pb.UpdateModelVersionResponse:
        name = validation.name(request.name)
        number = validation.version(request.version)
        description = _description(request.description)
        version = await self.store.update_version(name, number, description, _actor(context))
        return pb.UpdateModelVersionResponse(model_version=version)

    async def DeleteModelVersion(
        self, request: pb.DeleteModelVersionRequest, context: Ctx
    ) -> pb.DeleteModelVersionResponse:
        name = validation.name(request.name)
        number = validation.version(request.version)
        await self.store.delete_version(name, number, _actor(context))
        return pb.DeleteModelVersionResponse()

    async def SearchModelVersions(
        self, request: pb.SearchModelVersionsRequest, context: Ctx
    ) -> pb.SearchModelVersionsResponse:
        limit = validation.max_results(request.max_results, "versions")
        found, token = await self.store.search_versions(
            request.filter, list(request.order_by), request.page_token, limit
        )
        return pb.SearchModelVersionsResponse(model_versions=found, next_page_token=token)

    async def SetModelVersionTag(
        self, request: pb.SetModelVersionTagRequest, context: Ctx
    ) -> pb.SetModelVersionTagResponse:
        name = validation.name(request.name)
        number = validation.version(request.version)
        key, value = validation.tag(request.key, request.value)
        await self.store.set_version_tag(name, number, key, value, _actor(context))
        return pb.SetModelVersionTagResponse()

    async def DeleteModelVersionTag(
        self, request: pb.DeleteModelVersionTagRequest, context: Ctx
    ) -> pb.DeleteModelVersionTagResponse:
        name = validation.name(request.name)
        number = validation.version(request.version)
        key = validation.key(request.key)
        await self.store.delete_version_tag(name, number, key, _actor(context))
        return pb.DeleteModelVersionTagResponse()

    async def GetModelVersionDownloadUri(
        self, request: pb.GetModelVersionDownloadUriRequest, context: Ctx
    ) -> pb.GetModelVersionDownloadUriResponse:
        name = validation.name(request.name)
        if request.alias and request.version:
            raise InvalidArgument("give either version or alias, not both", field="alias")
        if request.alias:
            alias, number = validation.alias(request.alias), 0
        else:
            alias, number = "", validation.version(request.version)
        uri, version, digest = await self.promotion.download_uri(name, number, alias)
        return pb.GetModelVersionDownloadUriResponse(
            artifact_uri=uri, version=version, content_digest=digest
        )

    async def TransitionModelVersionStage(
        self, request: pb.TransitionModelVersionStageRequest, context: Ctx
    ) -> pb.TransitionModelVersionStageResponse:
        name = validation.name(request.name)
        number = validation.version(request.version)
        stage = validation.stage(request.stage)
        archive = request.archive_existing_versions
        if archive and stage not in validation.ARCHIVING_STAGES:
            raise InvalidArgument(
                f"archive_existing_versions applies to a transition to Staging or Production,"
                f" not {stage}",
                field="archive_existing_versions",
            )
        version = await self.promotion.transition_stage(
            name, number, stage, archive, _actor(context)
        )
        return pb.TransitionModelVersionStageResponse(model_version=version)

    # -- aliases ----------------------------------------------------------------

    async def SetRegisteredModelAlias(
        self, request: pb.SetRegisteredModelAliasRequest, context: Ctx
    ) -> pb.SetRegisteredModelAliasResponse:
        name = validation.name(request.name)
        alias = validation.alias(request.alias)
        number = validation.version(request.version)
        await self.promotion.set_alias(name, alias, number, _actor(context))
        return pb.SetRegisteredModelAliasResponse()

    async def DeleteRegisteredModelAlias(
        self, request: pb.DeleteRegisteredModelAliasRequest, context: Ctx
    ) -> pb.DeleteRegisteredModelAliasResponse:
        name = validation.name(request.name)
        alias = validation.alias(request.alias)
        await self.promotion.delete_alias(name, alias, _actor(context))
        return pb.DeleteRegisteredModelAliasResponse()

    async def GetModelVersionByAlias(
        self, request: pb.GetModelVersionByAliasRequest, context: Ctx
    ) -> pb.GetModelVersionByAliasResponse:
        name = validation.name(request.name)
        alias = validation.alias(request.alias)
        version = await self.promotion.version_by_alias(name, alias)
        return pb.GetModelVersionByAliasResponse(model_version=version)

    # -- lineage and history ----------------------------------------------------

    async def GetModelLineage(
        self, request: pb.GetModelLineageRequest, context: Ctx
    ) -> pb.GetModelLineageResponse:
        name = validation.name(request.name)
        version = await self.store.get_version(name, validation.version(request.version))
        answer = await lineage.lineage(self.tracking, version)
        answer.deployments.extend(await self.deployments.serving(version.name, version.version))
        return answer

    async def GetModelHistory(
        self, request: pb.GetModelHistoryRequest, context: Ctx
    ) -> pb.GetModelHistoryResponse:
        name = validation.name(request.name)
        limit = validation.max_results(request.max_results, "history")
        entries, token = await self.store.history(name, request.page_token, limit)
        return pb.GetModelHistoryResponse(entries=entries, next_page_token=token)


__all__ = ["RegistryServicer"]
