from switchyard.proto.v1 import inference_pb2 as _inference_pb2
from switchyard.proto.v1 import scheduler_pb2 as _scheduler_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DeploymentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEPLOYMENT_STATE_UNSPECIFIED: _ClassVar[DeploymentState]
    DEPLOYMENT_PENDING: _ClassVar[DeploymentState]
    DEPLOYMENT_READY: _ClassVar[DeploymentState]
    DEPLOYMENT_IDLE: _ClassVar[DeploymentState]
    DEPLOYMENT_FAILED: _ClassVar[DeploymentState]
DEPLOYMENT_STATE_UNSPECIFIED: DeploymentState
DEPLOYMENT_PENDING: DeploymentState
DEPLOYMENT_READY: DeploymentState
DEPLOYMENT_IDLE: DeploymentState
DEPLOYMENT_FAILED: DeploymentState

class Autoscaling(_message.Message):
    __slots__ = ("stable_window_s", "panic_window_s", "panic_threshold", "scale_to_zero_grace_s", "max_buffered_requests", "buffer_timeout_s")
    STABLE_WINDOW_S_FIELD_NUMBER: _ClassVar[int]
    PANIC_WINDOW_S_FIELD_NUMBER: _ClassVar[int]
    PANIC_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    SCALE_TO_ZERO_GRACE_S_FIELD_NUMBER: _ClassVar[int]
    MAX_BUFFERED_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    BUFFER_TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    stable_window_s: float
    panic_window_s: float
    panic_threshold: float
    scale_to_zero_grace_s: float
    max_buffered_requests: int
    buffer_timeout_s: float
    def __init__(self, stable_window_s: _Optional[float] = ..., panic_window_s: _Optional[float] = ..., panic_threshold: _Optional[float] = ..., scale_to_zero_grace_s: _Optional[float] = ..., max_buffered_requests: _Optional[int] = ..., buffer_timeout_s: _Optional[float] = ...) -> None: ...

class RolloutRules(_message.Message):
    __slots__ = ("min_requests", "max_error_rate_margin", "max_p99_margin", "promote_after_requests")
    MIN_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    MAX_ERROR_RATE_MARGIN_FIELD_NUMBER: _ClassVar[int]
    MAX_P99_MARGIN_FIELD_NUMBER: _ClassVar[int]
    PROMOTE_AFTER_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    min_requests: int
    max_error_rate_margin: float
    max_p99_margin: float
    promote_after_requests: int
    def __init__(self, min_requests: _Optional[int] = ..., max_error_rate_margin: _Optional[float] = ..., max_p99_margin: _Optional[float] = ..., promote_after_requests: _Optional[int] = ...) -> None: ...

class DeploymentSpec(_message.Message):
    __slots__ = ("name", "model_uri", "min_replicas", "max_replicas", "target_concurrency", "resources", "pool", "queue", "priority", "max_batch_size", "max_batch_delay_ms", "canary_model_uri", "canary_percent", "shadow_model_uri", "rollout", "autoscaling")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_URI_FIELD_NUMBER: _ClassVar[int]
    MIN_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    MAX_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    TARGET_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    CANARY_MODEL_URI_FIELD_NUMBER: _ClassVar[int]
    CANARY_PERCENT_FIELD_NUMBER: _ClassVar[int]
    SHADOW_MODEL_URI_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    AUTOSCALING_FIELD_NUMBER: _ClassVar[int]
    name: str
    model_uri: str
    min_replicas: int
    max_replicas: int
    target_concurrency: float
    resources: _scheduler_pb2.Resources
    pool: str
    queue: str
    priority: int
    max_batch_size: int
    max_batch_delay_ms: float
    canary_model_uri: str
    canary_percent: float
    shadow_model_uri: str
    rollout: RolloutRules
    autoscaling: Autoscaling
    def __init__(self, name: _Optional[str] = ..., model_uri: _Optional[str] = ..., min_replicas: _Optional[int] = ..., max_replicas: _Optional[int] = ..., target_concurrency: _Optional[float] = ..., resources: _Optional[_Union[_scheduler_pb2.Resources, _Mapping]] = ..., pool: _Optional[str] = ..., queue: _Optional[str] = ..., priority: _Optional[int] = ..., max_batch_size: _Optional[int] = ..., max_batch_delay_ms: _Optional[float] = ..., canary_model_uri: _Optional[str] = ..., canary_percent: _Optional[float] = ..., shadow_model_uri: _Optional[str] = ..., rollout: _Optional[_Union[RolloutRules, _Mapping]] = ..., autoscaling: _Optional[_Union[Autoscaling, _Mapping]] = ...) -> None: ...

class Revision(_message.Message):
    __slots__ = ("revision", "role", "model_uri", "model_name", "model_version", "percent", "replicas", "ready_replicas", "requests", "errors", "p99_ms")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    MODEL_URI_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    READY_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    P99_MS_FIELD_NUMBER: _ClassVar[int]
    revision: int
    role: str
    model_uri: str
    model_name: str
    model_version: str
    percent: float
    replicas: int
    ready_replicas: int
    requests: int
    errors: int
    p99_ms: float
    def __init__(self, revision: _Optional[int] = ..., role: _Optional[str] = ..., model_uri: _Optional[str] = ..., model_name: _Optional[str] = ..., model_version: _Optional[str] = ..., percent: _Optional[float] = ..., replicas: _Optional[int] = ..., ready_replicas: _Optional[int] = ..., requests: _Optional[int] = ..., errors: _Optional[int] = ..., p99_ms: _Optional[float] = ...) -> None: ...

class Replica(_message.Message):
    __slots__ = ("job_id", "revision", "state", "http_address", "grpc_address", "in_flight", "worker_id", "created_ms", "ready_ms")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    HTTP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    GRPC_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_MS_FIELD_NUMBER: _ClassVar[int]
    READY_MS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    revision: int
    state: str
    http_address: str
    grpc_address: str
    in_flight: int
    worker_id: str
    created_ms: int
    ready_ms: int
    def __init__(self, job_id: _Optional[str] = ..., revision: _Optional[int] = ..., state: _Optional[str] = ..., http_address: _Optional[str] = ..., grpc_address: _Optional[str] = ..., in_flight: _Optional[int] = ..., worker_id: _Optional[str] = ..., created_ms: _Optional[int] = ..., ready_ms: _Optional[int] = ...) -> None: ...

class Deployment(_message.Message):
    __slots__ = ("name", "spec", "state", "message", "revisions", "replicas", "desired_replicas", "observed_concurrency", "created_ms", "updated_ms")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REVISIONS_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    DESIRED_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    CREATED_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_MS_FIELD_NUMBER: _ClassVar[int]
    name: str
    spec: DeploymentSpec
    state: DeploymentState
    message: str
    revisions: _containers.RepeatedCompositeFieldContainer[Revision]
    replicas: _containers.RepeatedCompositeFieldContainer[Replica]
    desired_replicas: int
    observed_concurrency: float
    created_ms: int
    updated_ms: int
    def __init__(self, name: _Optional[str] = ..., spec: _Optional[_Union[DeploymentSpec, _Mapping]] = ..., state: _Optional[_Union[DeploymentState, str]] = ..., message: _Optional[str] = ..., revisions: _Optional[_Iterable[_Union[Revision, _Mapping]]] = ..., replicas: _Optional[_Iterable[_Union[Replica, _Mapping]]] = ..., desired_replicas: _Optional[int] = ..., observed_concurrency: _Optional[float] = ..., created_ms: _Optional[int] = ..., updated_ms: _Optional[int] = ...) -> None: ...

class CreateDeploymentRequest(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: DeploymentSpec
    def __init__(self, spec: _Optional[_Union[DeploymentSpec, _Mapping]] = ...) -> None: ...

class CreateDeploymentResponse(_message.Message):
    __slots__ = ("deployment",)
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    deployment: Deployment
    def __init__(self, deployment: _Optional[_Union[Deployment, _Mapping]] = ...) -> None: ...

class GetDeploymentRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetDeploymentResponse(_message.Message):
    __slots__ = ("deployment",)
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    deployment: Deployment
    def __init__(self, deployment: _Optional[_Union[Deployment, _Mapping]] = ...) -> None: ...

class ListDeploymentsRequest(_message.Message):
    __slots__ = ("max_results", "page_token")
    MAX_RESULTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    max_results: int
    page_token: str
    def __init__(self, max_results: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDeploymentsResponse(_message.Message):
    __slots__ = ("deployments", "next_page_token")
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    deployments: _containers.RepeatedCompositeFieldContainer[Deployment]
    next_page_token: str
    def __init__(self, deployments: _Optional[_Iterable[_Union[Deployment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateDeploymentRequest(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: DeploymentSpec
    def __init__(self, spec: _Optional[_Union[DeploymentSpec, _Mapping]] = ...) -> None: ...

class UpdateDeploymentResponse(_message.Message):
    __slots__ = ("deployment",)
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    deployment: Deployment
    def __init__(self, deployment: _Optional[_Union[Deployment, _Mapping]] = ...) -> None: ...

class ScaleDeploymentRequest(_message.Message):
    __slots__ = ("name", "min_replicas", "max_replicas")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MIN_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    MAX_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    name: str
    min_replicas: int
    max_replicas: int
    def __init__(self, name: _Optional[str] = ..., min_replicas: _Optional[int] = ..., max_replicas: _Optional[int] = ...) -> None: ...

class ScaleDeploymentResponse(_message.Message):
    __slots__ = ("deployment",)
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    deployment: Deployment
    def __init__(self, deployment: _Optional[_Union[Deployment, _Mapping]] = ...) -> None: ...

class RollbackDeploymentRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RollbackDeploymentResponse(_message.Message):
    __slots__ = ("deployment",)
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    deployment: Deployment
    def __init__(self, deployment: _Optional[_Union[Deployment, _Mapping]] = ...) -> None: ...

class PromoteDeploymentRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class PromoteDeploymentResponse(_message.Message):
    __slots__ = ("deployment",)
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    deployment: Deployment
    def __init__(self, deployment: _Optional[_Union[Deployment, _Mapping]] = ...) -> None: ...

class DeleteDeploymentRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteDeploymentResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RegisterReplicaRequest(_message.Message):
    __slots__ = ("deployment", "revision", "job_id", "http_address", "grpc_address", "metadata", "stopping")
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    HTTP_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    GRPC_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    STOPPING_FIELD_NUMBER: _ClassVar[int]
    deployment: str
    revision: int
    job_id: str
    http_address: str
    grpc_address: str
    metadata: _inference_pb2.ModelMetadataResponse
    stopping: bool
    def __init__(self, deployment: _Optional[str] = ..., revision: _Optional[int] = ..., job_id: _Optional[str] = ..., http_address: _Optional[str] = ..., grpc_address: _Optional[str] = ..., metadata: _Optional[_Union[_inference_pb2.ModelMetadataResponse, _Mapping]] = ..., stopping: bool = ...) -> None: ...

class RegisterReplicaResponse(_message.Message):
    __slots__ = ("known",)
    KNOWN_FIELD_NUMBER: _ClassVar[int]
    known: bool
    def __init__(self, known: bool = ...) -> None: ...
