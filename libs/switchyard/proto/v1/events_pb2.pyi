from google.protobuf import timestamp_pb2 as _timestamp_pb2
from switchyard.proto.v1 import gateway_pb2 as _gateway_pb2
from switchyard.proto.v1 import registry_pb2 as _registry_pb2
from switchyard.proto.v1 import scheduler_pb2 as _scheduler_pb2
from switchyard.proto.v1 import tracking_pb2 as _tracking_pb2
from switchyard.proto.v1 import tuner_pb2 as _tuner_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventEnvelope(_message.Message):
    __slots__ = ("id", "source", "type", "subject", "time", "datacontenttype", "dataschema", "traceparent", "tracestate", "data")
    ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    DATACONTENTTYPE_FIELD_NUMBER: _ClassVar[int]
    DATASCHEMA_FIELD_NUMBER: _ClassVar[int]
    TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
    TRACESTATE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    source: str
    type: str
    subject: str
    time: _timestamp_pb2.Timestamp
    datacontenttype: str
    dataschema: str
    traceparent: str
    tracestate: str
    data: bytes
    def __init__(self, id: _Optional[str] = ..., source: _Optional[str] = ..., type: _Optional[str] = ..., subject: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., datacontenttype: _Optional[str] = ..., dataschema: _Optional[str] = ..., traceparent: _Optional[str] = ..., tracestate: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class ExperimentChanged(_message.Message):
    __slots__ = ("experiment",)
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    experiment: _tracking_pb2.Experiment
    def __init__(self, experiment: _Optional[_Union[_tracking_pb2.Experiment, _Mapping]] = ...) -> None: ...

class RunChanged(_message.Message):
    __slots__ = ("info", "tags")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    INFO_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    info: _tracking_pb2.RunInfo
    tags: _containers.ScalarMap[str, str]
    def __init__(self, info: _Optional[_Union[_tracking_pb2.RunInfo, _Mapping]] = ..., tags: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ParamsLogged(_message.Message):
    __slots__ = ("run_id", "experiment_id", "params")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    experiment_id: str
    params: _containers.ScalarMap[str, str]
    def __init__(self, run_id: _Optional[str] = ..., experiment_id: _Optional[str] = ..., params: _Optional[_Mapping[str, str]] = ...) -> None: ...

class TagsSet(_message.Message):
    __slots__ = ("run_id", "experiment_id", "tags", "deleted_keys")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    DELETED_KEYS_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    experiment_id: str
    tags: _containers.ScalarMap[str, str]
    deleted_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, run_id: _Optional[str] = ..., experiment_id: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., deleted_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class MetricsLogged(_message.Message):
    __slots__ = ("run_id", "experiment_id", "series")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    experiment_id: str
    series: _containers.RepeatedCompositeFieldContainer[_tracking_pb2.MetricSeries]
    def __init__(self, run_id: _Optional[str] = ..., experiment_id: _Optional[str] = ..., series: _Optional[_Iterable[_Union[_tracking_pb2.MetricSeries, _Mapping]]] = ...) -> None: ...

class InputsLogged(_message.Message):
    __slots__ = ("run_id", "experiment_id", "dataset_inputs")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DATASET_INPUTS_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    experiment_id: str
    dataset_inputs: _containers.RepeatedCompositeFieldContainer[_tracking_pb2.DatasetInput]
    def __init__(self, run_id: _Optional[str] = ..., experiment_id: _Optional[str] = ..., dataset_inputs: _Optional[_Iterable[_Union[_tracking_pb2.DatasetInput, _Mapping]]] = ...) -> None: ...

class RegisteredModelChanged(_message.Message):
    __slots__ = ("model", "previous_name", "actor")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_NAME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    model: _registry_pb2.RegisteredModel
    previous_name: str
    actor: str
    def __init__(self, model: _Optional[_Union[_registry_pb2.RegisteredModel, _Mapping]] = ..., previous_name: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class ModelVersionChanged(_message.Message):
    __slots__ = ("version", "actor")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    version: _registry_pb2.ModelVersion
    actor: str
    def __init__(self, version: _Optional[_Union[_registry_pb2.ModelVersion, _Mapping]] = ..., actor: _Optional[str] = ...) -> None: ...

class AliasChanged(_message.Message):
    __slots__ = ("name", "alias", "version", "previous_version", "source", "storage_location", "run_id", "content_digest", "actor")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STORAGE_LOCATION_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    name: str
    alias: str
    version: int
    previous_version: int
    source: str
    storage_location: str
    run_id: str
    content_digest: str
    actor: str
    def __init__(self, name: _Optional[str] = ..., alias: _Optional[str] = ..., version: _Optional[int] = ..., previous_version: _Optional[int] = ..., source: _Optional[str] = ..., storage_location: _Optional[str] = ..., run_id: _Optional[str] = ..., content_digest: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class StageChanged(_message.Message):
    __slots__ = ("name", "version", "from_stage", "to_stage", "archived_versions", "source", "storage_location", "actor")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FROM_STAGE_FIELD_NUMBER: _ClassVar[int]
    TO_STAGE_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STORAGE_LOCATION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    from_stage: str
    to_stage: str
    archived_versions: _containers.RepeatedScalarFieldContainer[int]
    source: str
    storage_location: str
    actor: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., from_stage: _Optional[str] = ..., to_stage: _Optional[str] = ..., archived_versions: _Optional[_Iterable[int]] = ..., source: _Optional[str] = ..., storage_location: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class JobChanged(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _scheduler_pb2.Job
    def __init__(self, job: _Optional[_Union[_scheduler_pb2.Job, _Mapping]] = ...) -> None: ...

class WorkerChanged(_message.Message):
    __slots__ = ("worker_id", "pool", "capacity", "host")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    pool: str
    capacity: _scheduler_pb2.Resources
    host: str
    def __init__(self, worker_id: _Optional[str] = ..., pool: _Optional[str] = ..., capacity: _Optional[_Union[_scheduler_pb2.Resources, _Mapping]] = ..., host: _Optional[str] = ...) -> None: ...

class JobLogged(_message.Message):
    __slots__ = ("job_id", "attempt", "rank", "stream", "text")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    attempt: int
    rank: int
    stream: str
    text: str
    def __init__(self, job_id: _Optional[str] = ..., attempt: _Optional[int] = ..., rank: _Optional[int] = ..., stream: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class PipelineChanged(_message.Message):
    __slots__ = ("pipeline",)
    PIPELINE_FIELD_NUMBER: _ClassVar[int]
    pipeline: _scheduler_pb2.Pipeline
    def __init__(self, pipeline: _Optional[_Union[_scheduler_pb2.Pipeline, _Mapping]] = ...) -> None: ...

class StudyChanged(_message.Message):
    __slots__ = ("study",)
    STUDY_FIELD_NUMBER: _ClassVar[int]
    study: _tuner_pb2.Study
    def __init__(self, study: _Optional[_Union[_tuner_pb2.Study, _Mapping]] = ...) -> None: ...

class TrialChanged(_message.Message):
    __slots__ = ("study_name", "trial")
    STUDY_NAME_FIELD_NUMBER: _ClassVar[int]
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    study_name: str
    trial: _tuner_pb2.Trial
    def __init__(self, study_name: _Optional[str] = ..., trial: _Optional[_Union[_tuner_pb2.Trial, _Mapping]] = ...) -> None: ...

class TrialReported(_message.Message):
    __slots__ = ("study_id", "study_name", "number", "run_id", "step", "value")
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    STUDY_NAME_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    study_id: str
    study_name: str
    number: int
    run_id: str
    step: int
    value: float
    def __init__(self, study_id: _Optional[str] = ..., study_name: _Optional[str] = ..., number: _Optional[int] = ..., run_id: _Optional[str] = ..., step: _Optional[int] = ..., value: _Optional[float] = ...) -> None: ...

class BestImproved(_message.Message):
    __slots__ = ("study_id", "study_name", "number", "value", "params", "run_id", "had_previous", "previous_value")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    STUDY_NAME_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    HAD_PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VALUE_FIELD_NUMBER: _ClassVar[int]
    study_id: str
    study_name: str
    number: int
    value: float
    params: _containers.ScalarMap[str, str]
    run_id: str
    had_previous: bool
    previous_value: float
    def __init__(self, study_id: _Optional[str] = ..., study_name: _Optional[str] = ..., number: _Optional[int] = ..., value: _Optional[float] = ..., params: _Optional[_Mapping[str, str]] = ..., run_id: _Optional[str] = ..., had_previous: bool = ..., previous_value: _Optional[float] = ...) -> None: ...

class DeploymentChanged(_message.Message):
    __slots__ = ("deployment", "reason")
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    deployment: _gateway_pb2.Deployment
    reason: str
    def __init__(self, deployment: _Optional[_Union[_gateway_pb2.Deployment, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class ReplicasScaled(_message.Message):
    __slots__ = ("deployment", "revision", "role", "from_replicas", "to_replicas", "observed_concurrency", "target_concurrency", "panic", "reason")
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    FROM_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    TO_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    TARGET_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    PANIC_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    deployment: str
    revision: int
    role: str
    from_replicas: int
    to_replicas: int
    observed_concurrency: float
    target_concurrency: float
    panic: bool
    reason: str
    def __init__(self, deployment: _Optional[str] = ..., revision: _Optional[int] = ..., role: _Optional[str] = ..., from_replicas: _Optional[int] = ..., to_replicas: _Optional[int] = ..., observed_concurrency: _Optional[float] = ..., target_concurrency: _Optional[float] = ..., panic: bool = ..., reason: _Optional[str] = ...) -> None: ...

class RolloutChanged(_message.Message):
    __slots__ = ("deployment", "stable", "canary", "reason")
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    STABLE_FIELD_NUMBER: _ClassVar[int]
    CANARY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    deployment: str
    stable: _gateway_pb2.Revision
    canary: _gateway_pb2.Revision
    reason: str
    def __init__(self, deployment: _Optional[str] = ..., stable: _Optional[_Union[_gateway_pb2.Revision, _Mapping]] = ..., canary: _Optional[_Union[_gateway_pb2.Revision, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...
