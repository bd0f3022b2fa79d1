"""The catalog of event types: each type's name and payload message.

The one place that maps event types to subjects and payloads. Code refers
to these constants, never to subject strings; the SDK uses the catalog to
decode what it receives. A type's name is also its NATS subject (under the
namespace prefix, see `events.nats_subject`).
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message

from switchyard.proto.v1 import access_pb2
from switchyard.proto.v1 import events_pb2 as ev


@dataclass(frozen=True)
class EventType:
    name: str  # "sy.<service>.<entity>.<verb>"
    payload: type[Message]

    @property
    def source(self) -> str:
        return f"switchyard/{self.name.split('.')[1]}"


EXPERIMENT_CREATED = EventType("sy.tracking.experiment.created", ev.ExperimentChanged)
EXPERIMENT_UPDATED = EventType("sy.tracking.experiment.updated", ev.ExperimentChanged)
EXPERIMENT_DELETED = EventType("sy.tracking.experiment.deleted", ev.ExperimentChanged)
EXPERIMENT_RESTORED = EventType("sy.tracking.experiment.restored", ev.ExperimentChanged)
RUN_CREATED = EventType("sy.tracking.run.created", ev.RunChanged)
RUN_UPDATED = EventType("sy.tracking.run.updated", ev.RunChanged)
RUN_FINISHED = EventType("sy.tracking.run.finished", ev.RunChanged)
RUN_DELETED = EventType("sy.tracking.run.deleted", ev.RunChanged)
RUN_RESTORED = EventType("sy.tracking.run.restored", ev.RunChanged)
PARAMS_LOGGED = EventType("sy.tracking.params.logged", ev.ParamsLogged)
TAGS_SET = EventType("sy.tracking.tags.set", ev.TagsSet)
METRICS_LOGGED = EventType("sy.tracking.metrics.logged", ev.MetricsLogged)
INPUTS_LOGGED = EventType("sy.tracking.inputs.logged", ev.InputsLogged)

MODEL_CREATED = EventType("sy.registry.model.created", ev.RegisteredModelChanged)
MODEL_UPDATED = EventType("sy.registry.model.updated", ev.RegisteredModelChanged)
MODEL_DELETED = EventType("sy.registry.model.deleted", ev.RegisteredModelChanged)
VERSION_CREATED = EventType("sy.registry.version.created", ev.ModelVersionChanged)
VERSION_UPDATED = EventType("sy.registry.version.updated", ev.ModelVersionChanged)
VERSION_DELETED = EventType("sy.registry.version.deleted", ev.ModelVersionChanged)
ALIAS_SET = EventType("sy.registry.alias.set", ev.AliasChanged)
ALIAS_DELETED = EventType("sy.registry.alias.deleted", ev.AliasChanged)
STAGE_CHANGED = EventType("sy.registry.stage.changed", ev.StageChanged)

JOB_QUEUED = EventType("sy.scheduler.job.queued", ev.JobChanged)
JOB_STARTED = EventType("sy.scheduler.job.started", ev.JobChanged)
JOB_SUCCEEDED = EventType("sy.scheduler.job.succeeded", ev.JobChanged)
JOB_FAILED = EventType("sy.scheduler.job.failed", ev.JobChanged)
JOB_CANCELLED = EventType("sy.scheduler.job.cancelled", ev.JobChanged)
JOB_RETRYING = EventType("sy.scheduler.job.retrying", ev.JobChanged)
JOB_LOGGED = EventType("sy.scheduler.job.log", ev.JobLogged)
WORKER_JOINED = EventType("sy.scheduler.worker.joined", ev.WorkerChanged)
WORKER_LOST = EventType("sy.scheduler.worker.lost", ev.WorkerChanged)
PIPELINE_STARTED = EventType("sy.scheduler.pipeline.started", ev.PipelineChanged)
PIPELINE_SUCCEEDED = EventType("sy.scheduler.pipeline.succeeded", ev.PipelineChanged)
PIPELINE_FAILED = EventType("sy.scheduler.pipeline.failed", ev.PipelineChanged)
PIPELINE_CANCELLED = EventType("sy.scheduler.pipeline.cancelled", ev.PipelineChanged)

STUDY_CREATED = EventType("sy.tuner.study.created", ev.StudyChanged)
STUDY_COMPLETED = EventType("sy.tuner.study.completed", ev.StudyChanged)
STUDY_FAILED = EventType("sy.tuner.study.failed", ev.StudyChanged)
STUDY_STOPPED = EventType("sy.tuner.study.stopped", ev.StudyChanged)
TRIAL_STARTED = EventType("sy.tuner.trial.started", ev.TrialChanged)
TRIAL_REPORTED = EventType("sy.tuner.trial.reported", ev.TrialReported)
TRIAL_PRUNED = EventType("sy.tuner.trial.pruned", ev.TrialChanged)
TRIAL_COMPLETED = EventType("sy.tuner.trial.completed", ev.TrialChanged)
TRIAL_FAILED = EventType("sy.tuner.trial.failed", ev.TrialChanged)
BEST_IMPROVED = EventType("sy.tuner.best.improved", ev.BestImproved)

AUDIT_RECORDED = EventType("sy.audit.recorded", access_pb2.AuditRecord)

DEPLOYMENT_CREATED = EventType("sy.gateway.deployment.created", ev.DeploymentChanged)
DEPLOYMENT_UPDATED = EventType("sy.gateway.deployment.updated", ev.DeploymentChanged)
DEPLOYMENT_DELETED = EventType("sy.gateway.deployment.deleted", ev.DeploymentChanged)
REPLICAS_SCALED = EventType("sy.gateway.replicas.scaled", ev.ReplicasScaled)
ROLLOUT_STARTED = EventType("sy.gateway.rollout.started", ev.RolloutChanged)
ROLLOUT_PROMOTED = EventType("sy.gateway.rollout.promoted", ev.RolloutChanged)
ROLLOUT_ROLLED_BACK = EventType("sy.gateway.rollout.rolled_back", ev.RolloutChanged)

CATALOG: dict[str, EventType] = {
    t.name: t for t in list(globals().values()) if isinstance(t, EventType)
}
