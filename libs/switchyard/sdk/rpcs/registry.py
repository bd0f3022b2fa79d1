"""RegistryService's RPCs."""

from __future__ import annotations

from switchyard.proto.v1 import registry_pb2 as pb
from switchyard.proto.v1 import registry_pb2_grpc
from switchyard.sdk.rpcs import Rpc, Service

SERVICE = Service("registry", registry_pb2_grpc.RegistryServiceStub)

# -- registered models -----------------------------------------------------------

CREATE_REGISTERED_MODEL = Rpc(
    SERVICE,
    "CreateRegisteredModel",
    pb.CreateRegisteredModelRequest,
    pb.CreateRegisteredModelResponse,
)
GET_REGISTERED_MODEL = Rpc(
    SERVICE,
    "GetRegisteredModel",
    pb.GetRegisteredModelRequest,
    pb.GetRegisteredModelResponse,
    retry=True,
)
RENAME_REGISTERED_MODEL = Rpc(
    SERVICE,
    "RenameRegisteredModel",
    pb.RenameRegisteredModelRequest,
    pb.RenameRegisteredModelResponse,
)
UPDATE_REGISTERED_MODEL = Rpc(
    SERVICE,
    "UpdateRegisteredModel",
    pb.UpdateRegisteredModelRequest,
    pb.UpdateRegisteredModelResponse,
    retry=True,
)
DELETE_REGISTERED_MODEL = Rpc(
    SERVICE,
    "DeleteRegisteredModel",
    pb.DeleteRegisteredModelRequest,
    pb.DeleteRegisteredModelResponse,
)
SEARCH_REGISTERED_MODELS = Rpc(
    SERVICE,
    "SearchRegisteredModels",
    pb.SearchRegisteredModelsRequest,
    pb.SearchRegisteredModelsResponse,
    retry=True,
)
SET_REGISTERED_MODEL_TAG = Rpc(
    SERVICE,
    "SetRegisteredModelTag",
    pb.SetRegisteredModelTagRequest,
    pb.SetRegisteredModelTagResponse,
    retry=True,
)
DELETE_REGISTERED_MODEL_TAG = Rpc(
    SERVICE,
    "DeleteRegisteredModelTag",
    pb.DeleteRegisteredModelTagRequest,
    pb.DeleteRegisteredModelTagResponse,
)

# -- model versions --------------------------------------------------------------

CREATE_MODEL_VERSION = Rpc(
    SERVICE, "CreateModelVersion", pb.CreateModelVersionRequest, pb.CreateModelVersionResponse
)
GET_MODEL_VERSION = Rpc(
    SERVICE,
    "GetModelVersion",
    pb.GetModelVersionRequest,
    pb.GetModelVersionResponse,
    retry=True,
)
UPDATE_MODEL_VERSION = Rpc(
    SERVICE,
    "UpdateModelVersion",
    pb.UpdateModelVersionRequest,
    pb.UpdateModelVersionResponse,
    retry=True,
)
DELETE_MODEL_VERSION = Rpc(
    SERVICE, "DeleteModelVersion", pb.DeleteModelVersionRequest, pb.DeleteModelVersionResponse
)
SEARCH_MODEL_VERSIONS = Rpc(
    SERVICE,
    "SearchModelVersions",
    pb.SearchModelVersionsRequest,
    pb.SearchModelVersionsResponse,
    retry=True,
)
SET_MODEL_VERSION_TAG = Rpc(
    SERVICE,
    "SetModelVersionTag",
    pb.SetModelVersionTagRequest,
    pb.SetModelVersionTagResponse,
    retry=True,
)
DELETE_MODEL_VERSION_TAG = Rpc(
    SERVICE,
    "DeleteModelVersionTag",
    pb.DeleteModelVersionTagRequest,
    pb.DeleteModelVersionTagResponse,
)
GET_MODEL_VERSION_DOWNLOAD_URI = Rpc(
    SERVICE,
    "GetModelVersionDownloadUri",
    pb.GetModelVersionDownloadUriRequest,
    pb.GetModelVersionDownloadUriResponse,
    retry=True,
)
TRANSITION_MODEL_VERSION_STAGE = Rpc(
    SERVICE,
    "TransitionModelVersionStage",
    pb.TransitionModelVersionStageRequest,
    pb.TransitionModelVersionStageResponse,
)

# -- aliases, lineage, history ---------------------------------------------------

SET_REGISTERED_MODEL_ALIAS = Rpc(
    SERVICE,
    "SetRegisteredModelAlias",
    pb.SetRegisteredModelAliasRequest,
    pb.SetRegisteredModelAliasResponse,
    retry=True,
)
DELETE_REGISTERED_MODEL_ALIAS = Rpc(
    SERVICE,
    "DeleteRegisteredModelAlias",
    pb.DeleteRegisteredModelAliasRequest,
    pb.DeleteRegisteredModelAliasResponse,
)
GET_MODEL_VERSION_BY_ALIAS = Rpc(
    SERVICE,
    "GetModelVersionByAlias",
    pb.GetModelVersionByAliasRequest,
    pb.GetModelVersionByAliasResponse,
    retry=True,
)
GET_MODEL_LINEAGE = Rpc(
    SERVICE,
    "GetModelLineage",
    pb.GetModelLineageRequest,
    pb.GetModelLineageResponse,
    retry=True,
)
GET_MODEL_HISTORY = Rpc(
    SERVICE,
    "GetModelHistory",
    pb.GetModelHistoryRequest,
    pb.GetModelHistoryResponse,
    retry=True,
)
