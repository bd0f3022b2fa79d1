import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from switchyard.proto.v1 import tracking_pb2 as _tracking_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

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
    def __init__(self, id: _Optional[str] = ..., source: _Optional[str] = ..., type: _Optional[str] = ..., subject: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., datacontenttype: _Optional[str] = ..., dataschema: _Optional[str] = ..., traceparent: _Optional[str] = ..., tracestate: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

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
