from switchyard.proto.v1 import scheduler_pb2 as _scheduler_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StudyState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STUDY_STATE_UNSPECIFIED: _ClassVar[StudyState]
    STUDY_RUNNING: _ClassVar[StudyState]
    STUDY_COMPLETED: _ClassVar[StudyState]
    STUDY_FAILED: _ClassVar[StudyState]
    STUDY_STOPPED: _ClassVar[StudyState]

class TrialState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRIAL_STATE_UNSPECIFIED: _ClassVar[TrialState]
    TRIAL_RUNNING: _ClassVar[TrialState]
    TRIAL_COMPLETED: _ClassVar[TrialState]
    TRIAL_PRUNED: _ClassVar[TrialState]
    TRIAL_FAILED: _ClassVar[TrialState]
STUDY_STATE_UNSPECIFIED: StudyState
STUDY_RUNNING: StudyState
STUDY_COMPLETED: StudyState
STUDY_FAILED: StudyState
STUDY_STOPPED: StudyState
TRIAL_STATE_UNSPECIFIED: TrialState
TRIAL_RUNNING: TrialState
TRIAL_COMPLETED: TrialState
TRIAL_PRUNED: TrialState
TRIAL_FAILED: TrialState

class FloatRange(_message.Message):
    __slots__ = ("low", "high", "log", "step")
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    low: float
    high: float
    log: bool
    step: float
    def __init__(self, low: _Optional[float] = ..., high: _Optional[float] = ..., log: bool = ..., step: _Optional[float] = ...) -> None: ...

class IntRange(_message.Message):
    __slots__ = ("low", "high", "log", "step")
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    low: int
    high: int
    log: bool
    step: int
    def __init__(self, low: _Optional[int] = ..., high: _Optional[int] = ..., log: bool = ..., step: _Optional[int] = ...) -> None: ...

class Categorical(_message.Message):
    __slots__ = ("choices",)
    CHOICES_FIELD_NUMBER: _ClassVar[int]
    choices: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, choices: _Optional[_Iterable[str]] = ...) -> None: ...

class Param(_message.Message):
    __slots__ = ("name", "float", "int", "categorical", "parent", "when")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FLOAT_FIELD_NUMBER: _ClassVar[int]
    INT_FIELD_NUMBER: _ClassVar[int]
    CATEGORICAL_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    WHEN_FIELD_NUMBER: _ClassVar[int]
    name: str
    float: FloatRange
    int: IntRange
    categorical: Categorical
    parent: str
    when: str
    def __init__(self, name: _Optional[str] = ..., float: _Optional[_Union[FloatRange, _Mapping]] = ..., int: _Optional[_Union[IntRange, _Mapping]] = ..., categorical: _Optional[_Union[Categorical, _Mapping]] = ..., parent: _Optional[str] = ..., when: _Optional[str] = ...) -> None: ...

class Objective(_message.Message):
    __slots__ = ("metric", "maximize")
    METRIC_FIELD_NUMBER: _ClassVar[int]
    MAXIMIZE_FIELD_NUMBER: _ClassVar[int]
    metric: str
    maximize: bool
    def __init__(self, metric: _Optional[str] = ..., maximize: bool = ...) -> None: ...

class EarlyStopping(_message.Message):
    __slots__ = ("rule", "warmup_steps", "startup_trials", "min_resource", "max_resource", "reduction_factor")
    RULE_FIELD_NUMBER: _ClassVar[int]
    WARMUP_STEPS_FIELD_NUMBER: _ClassVar[int]
    STARTUP_TRIALS_FIELD_NUMBER: _ClassVar[int]
    MIN_RESOURCE_FIELD_NUMBER: _ClassVar[int]
    MAX_RESOURCE_FIELD_NUMBER: _ClassVar[int]
    REDUCTION_FACTOR_FIELD_NUMBER: _ClassVar[int]
    rule: str
    warmup_steps: int
    startup_trials: int
    min_resource: int
    max_resource: int
    reduction_factor: int
    def __init__(self, rule: _Optional[str] = ..., warmup_steps: _Optional[int] = ..., startup_trials: _Optional[int] = ..., min_resource: _Optional[int] = ..., max_resource: _Optional[int] = ..., reduction_factor: _Optional[int] = ...) -> None: ...

class StudySpec(_message.Message):
    __slots__ = ("name", "params", "objectives", "algorithm", "early_stopping", "trial", "parallel", "max_trials", "max_failed_trials", "time_budget_s", "has_seed", "seed", "experiment", "reuse_processes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVES_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    EARLY_STOPPING_FIELD_NUMBER: _ClassVar[int]
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    PARALLEL_FIELD_NUMBER: _ClassVar[int]
    MAX_TRIALS_FIELD_NUMBER: _ClassVar[int]
    MAX_FAILED_TRIALS_FIELD_NUMBER: _ClassVar[int]
    TIME_BUDGET_S_FIELD_NUMBER: _ClassVar[int]
    HAS_SEED_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    REUSE_PROCESSES_FIELD_NUMBER: _ClassVar[int]
    name: str
    params: _containers.RepeatedCompositeFieldContainer[Param]
    objectives: _containers.RepeatedCompositeFieldContainer[Objective]
    algorithm: str
    early_stopping: EarlyStopping
    trial: _scheduler_pb2.JobSpec
    parallel: int
    max_trials: int
    max_failed_trials: int
    time_budget_s: float
    has_seed: bool
    seed: int
    experiment: str
    reuse_processes: bool
    def __init__(self, name: _Optional[str] = ..., params: _Optional[_Iterable[_Union[Param, _Mapping]]] = ..., objectives: _Optional[_Iterable[_Union[Objective, _Mapping]]] = ..., algorithm: _Optional[str] = ..., early_stopping: _Optional[_Union[EarlyStopping, _Mapping]] = ..., trial: _Optional[_Union[_scheduler_pb2.JobSpec, _Mapping]] = ..., parallel: _Optional[int] = ..., max_trials: _Optional[int] = ..., max_failed_trials: _Optional[int] = ..., time_budget_s: _Optional[float] = ..., has_seed: bool = ..., seed: _Optional[int] = ..., experiment: _Optional[str] = ..., reuse_processes: bool = ...) -> None: ...

class Trial(_message.Message):
    __slots__ = ("study_id", "number", "state", "params", "values", "last_step", "last_value", "run_id", "job_id", "message", "started_ms", "finished_ms")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    LAST_STEP_FIELD_NUMBER: _ClassVar[int]
    LAST_VALUE_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STARTED_MS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_MS_FIELD_NUMBER: _ClassVar[int]
    study_id: str
    number: int
    state: TrialState
    params: _containers.ScalarMap[str, str]
    values: _containers.RepeatedScalarFieldContainer[float]
    last_step: int
    last_value: float
    run_id: str
    job_id: str
    message: str
    started_ms: int
    finished_ms: int
    def __init__(self, study_id: _Optional[str] = ..., number: _Optional[int] = ..., state: _Optional[_Union[TrialState, str]] = ..., params: _Optional[_Mapping[str, str]] = ..., values: _Optional[_Iterable[float]] = ..., last_step: _Optional[int] = ..., last_value: _Optional[float] = ..., run_id: _Optional[str] = ..., job_id: _Optional[str] = ..., message: _Optional[str] = ..., started_ms: _Optional[int] = ..., finished_ms: _Optional[int] = ...) -> None: ...

class Study(_message.Message):
    __slots__ = ("study_id", "spec", "state", "message", "run_id", "experiment_id", "created_ms", "finished_ms", "trials_running", "trials_completed", "trials_pruned", "trials_failed", "best_trial", "pareto_front")
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_MS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_MS_FIELD_NUMBER: _ClassVar[int]
    TRIALS_RUNNING_FIELD_NUMBER: _ClassVar[int]
    TRIALS_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    TRIALS_PRUNED_FIELD_NUMBER: _ClassVar[int]
    TRIALS_FAILED_FIELD_NUMBER: _ClassVar[int]
    BEST_TRIAL_FIELD_NUMBER: _ClassVar[int]
    PARETO_FRONT_FIELD_NUMBER: _ClassVar[int]
    study_id: str
    spec: StudySpec
    state: StudyState
    message: str
    run_id: str
    experiment_id: str
    created_ms: int
    finished_ms: int
    trials_running: int
    trials_completed: int
    trials_pruned: int
    trials_failed: int
    best_trial: Trial
    pareto_front: _containers.RepeatedCompositeFieldContainer[Trial]
    def __init__(self, study_id: _Optional[str] = ..., spec: _Optional[_Union[StudySpec, _Mapping]] = ..., state: _Optional[_Union[StudyState, str]] = ..., message: _Optional[str] = ..., run_id: _Optional[str] = ..., experiment_id: _Optional[str] = ..., created_ms: _Optional[int] = ..., finished_ms: _Optional[int] = ..., trials_running: _Optional[int] = ..., trials_completed: _Optional[int] = ..., trials_pruned: _Optional[int] = ..., trials_failed: _Optional[int] = ..., best_trial: _Optional[_Union[Trial, _Mapping]] = ..., pareto_front: _Optional[_Iterable[_Union[Trial, _Mapping]]] = ...) -> None: ...

class CreateStudyRequest(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: StudySpec
    def __init__(self, spec: _Optional[_Union[StudySpec, _Mapping]] = ...) -> None: ...

class CreateStudyResponse(_message.Message):
    __slots__ = ("study",)
    STUDY_FIELD_NUMBER: _ClassVar[int]
    study: Study
    def __init__(self, study: _Optional[_Union[Study, _Mapping]] = ...) -> None: ...

class GetStudyRequest(_message.Message):
    __slots__ = ("study_id", "name")
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    study_id: str
    name: str
    def __init__(self, study_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class GetStudyResponse(_message.Message):
    __slots__ = ("study",)
    STUDY_FIELD_NUMBER: _ClassVar[int]
    study: Study
    def __init__(self, study: _Optional[_Union[Study, _Mapping]] = ...) -> None: ...

class ListStudiesRequest(_message.Message):
    __slots__ = ("states", "limit")
    STATES_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedScalarFieldContainer[StudyState]
    limit: int
    def __init__(self, states: _Optional[_Iterable[_Union[StudyState, str]]] = ..., limit: _Optional[int] = ...) -> None: ...

class ListStudiesResponse(_message.Message):
    __slots__ = ("studies",)
    STUDIES_FIELD_NUMBER: _ClassVar[int]
    studies: _containers.RepeatedCompositeFieldContainer[Study]
    def __init__(self, studies: _Optional[_Iterable[_Union[Study, _Mapping]]] = ...) -> None: ...

class StopStudyRequest(_message.Message):
    __slots__ = ("study_id",)
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    study_id: str
    def __init__(self, study_id: _Optional[str] = ...) -> None: ...

class StopStudyResponse(_message.Message):
    __slots__ = ("study",)
    STUDY_FIELD_NUMBER: _ClassVar[int]
    study: Study
    def __init__(self, study: _Optional[_Union[Study, _Mapping]] = ...) -> None: ...

class ListTrialsRequest(_message.Message):
    __slots__ = ("study_id", "states")
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    study_id: str
    states: _containers.RepeatedScalarFieldContainer[TrialState]
    def __init__(self, study_id: _Optional[str] = ..., states: _Optional[_Iterable[_Union[TrialState, str]]] = ...) -> None: ...

class ListTrialsResponse(_message.Message):
    __slots__ = ("trials",)
    TRIALS_FIELD_NUMBER: _ClassVar[int]
    trials: _containers.RepeatedCompositeFieldContainer[Trial]
    def __init__(self, trials: _Optional[_Iterable[_Union[Trial, _Mapping]]] = ...) -> None: ...

class TrialResult(_message.Message):
    __slots__ = ("number", "state", "values", "message")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    number: int
    state: TrialState
    values: _containers.RepeatedScalarFieldContainer[float]
    message: str
    def __init__(self, number: _Optional[int] = ..., state: _Optional[_Union[TrialState, str]] = ..., values: _Optional[_Iterable[float]] = ..., message: _Optional[str] = ...) -> None: ...

class NextTrialRequest(_message.Message):
    __slots__ = ("study_id", "runner", "finished")
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    RUNNER_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    study_id: str
    runner: int
    finished: TrialResult
    def __init__(self, study_id: _Optional[str] = ..., runner: _Optional[int] = ..., finished: _Optional[_Union[TrialResult, _Mapping]] = ...) -> None: ...

class NextTrialResponse(_message.Message):
    __slots__ = ("has_trial", "number", "params", "run_id", "done", "metrics", "pruning")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    HAS_TRIAL_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    PRUNING_FIELD_NUMBER: _ClassVar[int]
    has_trial: bool
    number: int
    params: _containers.ScalarMap[str, str]
    run_id: str
    done: bool
    metrics: _containers.RepeatedScalarFieldContainer[str]
    pruning: bool
    def __init__(self, has_trial: bool = ..., number: _Optional[int] = ..., params: _Optional[_Mapping[str, str]] = ..., run_id: _Optional[str] = ..., done: bool = ..., metrics: _Optional[_Iterable[str]] = ..., pruning: bool = ...) -> None: ...

class TrialStatusRequest(_message.Message):
    __slots__ = ("study_id", "number")
    STUDY_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    study_id: str
    number: int
    def __init__(self, study_id: _Optional[str] = ..., number: _Optional[int] = ...) -> None: ...

class TrialStatusResponse(_message.Message):
    __slots__ = ("state", "message")
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    state: TrialState
    message: str
    def __init__(self, state: _Optional[_Union[TrialState, str]] = ..., message: _Optional[str] = ...) -> None: ...
