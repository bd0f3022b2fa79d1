"""Switchyard: experiment tracking, a model registry, jobs and pipelines, tuning
and serving, with every state change published as an event.

    import switchyard as sy

    sy.set_experiment("fraud")
    with sy.start_run(run_name="baseline") as run:
        sy.log_params({"lr": 0.01, "depth": 6})
        for step in range(100):
            sy.log_metric("loss", 1 / (step + 1), step=step)

Jobs, pipelines and the event catalog have namespaces beside the flat names:
`sy.jobs.submit` (= `sy.submit_job`), `sy.pipelines.run` (= `sy.run_pipeline`),
`sy.events(sy.event_types.RUN_FINISHED)`.

This module is the public surface; a test pins it.
"""

from switchyard import errors
from switchyard.core.artifacts import FileInfo
from switchyard.core.events import Event
from switchyard.sdk import event_types
from switchyard.sdk.async_client import AsyncClient
from switchyard.sdk.client import Client
from switchyard.sdk.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    Metric,
    PagedList,
    Run,
    RunData,
    RunInfo,
)
from switchyard.sdk.fluent import (
    ActiveRun,
    active_run,
    end_run,
    flush,
    get_run,
    log_artifact,
    log_artifacts,
    log_input,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_text,
    search_runs,
    set_experiment,
    set_tag,
    set_tags,
    start_run,
)
from switchyard.sdk.jobs import AsyncJobsClient, Job, JobsClient, get_job, list_jobs, submit_job
from switchyard.sdk.models import load_model, log_model, register_model
from switchyard.sdk.namespaces import jobs, pipelines
from switchyard.sdk.registry_entities import ModelInfo, ModelVersion, RegisteredModel
from switchyard.sdk.scheduler_pipelines import (
    Pipeline,
    PipelineRun,
    get_pipeline,
    run_pipeline,
    step,
)
from switchyard.sdk.subscriptions import Subscription, async_events, events, subscribe

__version__ = "0.1.0"

__all__ = [
    "ActiveRun",
    "AsyncClient",
    "AsyncJobsClient",
    "Client",
    "Dataset",
    "DatasetInput",
    "Event",
    "Experiment",
    "FileInfo",
    "Job",
    "JobsClient",
    "Metric",
    "ModelInfo",
    "ModelVersion",
    "PagedList",
    "Pipeline",
    "PipelineRun",
    "RegisteredModel",
    "Run",
    "RunData",
    "RunInfo",
    "Subscription",
    "__version__",
    "active_run",
    "async_events",
    "end_run",
    "errors",
    "event_types",
    "events",
    "flush",
    "get_job",
    "get_pipeline",
    "get_run",
    "jobs",
    "list_jobs",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "log_text",
    "pipelines",
    "register_model",
    "run_pipeline",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "start_run",
    "step",
    "submit_job",
    "subscribe",
]
