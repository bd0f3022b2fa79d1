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

This module is the public surface; a test pins it. Its names load on first
use (PEP 562), so `import switchyard` is cheap and a process imports only
what it touches: a service does not load the SDK's clients, nor the CLI's
`up` the gRPC stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the real names, for type checkers and editors
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
    from switchyard.sdk.serving import Deployment, deploy, get_deployment, list_deployments, predict
    from switchyard.sdk.subscriptions import Subscription, async_events, events, subscribe
    from switchyard.sdk.tuner import Study, Trial, get_study, list_studies, tune
    from switchyard.sdk.tuner import space as space

_EXPORTS = {
    "Deployment": "switchyard.sdk.serving",
    "deploy": "switchyard.sdk.serving",
    "get_deployment": "switchyard.sdk.serving",
    "list_deployments": "switchyard.sdk.serving",
    "predict": "switchyard.sdk.serving",
    "space": "switchyard.sdk.tuner",
    "Study": "switchyard.sdk.tuner",
    "Trial": "switchyard.sdk.tuner",
    "get_study": "switchyard.sdk.tuner",
    "list_studies": "switchyard.sdk.tuner",
    "tune": "switchyard.sdk.tuner",
    "active_run": "switchyard.sdk.fluent",
    "ActiveRun": "switchyard.sdk.fluent",
    "async_events": "switchyard.sdk.subscriptions",
    "AsyncClient": "switchyard.sdk.async_client",
    "AsyncJobsClient": "switchyard.sdk.jobs",
    "Client": "switchyard.sdk.client",
    "Dataset": "switchyard.sdk.entities",
    "DatasetInput": "switchyard.sdk.entities",
    "end_run": "switchyard.sdk.fluent",
    "errors": "switchyard.errors",
    "Event": "switchyard.core.events",
    "event_types": "switchyard.sdk",
    "events": "switchyard.sdk.subscriptions",
    "Experiment": "switchyard.sdk.entities",
    "FileInfo": "switchyard.core.artifacts",
    "flush": "switchyard.sdk.fluent",
    "get_job": "switchyard.sdk.jobs",
    "get_pipeline": "switchyard.sdk.scheduler_pipelines",
    "get_run": "switchyard.sdk.fluent",
    "Job": "switchyard.sdk.jobs",
    "jobs": "switchyard.sdk.namespaces",
    "JobsClient": "switchyard.sdk.jobs",
    "list_jobs": "switchyard.sdk.jobs",
    "load_model": "switchyard.sdk.models",
    "log_artifact": "switchyard.sdk.fluent",
    "log_artifacts": "switchyard.sdk.fluent",
    "log_input": "switchyard.sdk.fluent",
    "log_metric": "switchyard.sdk.fluent",
    "log_metrics": "switchyard.sdk.fluent",
    "log_model": "switchyard.sdk.models",
    "log_param": "switchyard.sdk.fluent",
    "log_params": "switchyard.sdk.fluent",
    "log_text": "switchyard.sdk.fluent",
    "Metric": "switchyard.sdk.entities",
    "ModelInfo": "switchyard.sdk.registry_entities",
    "ModelVersion": "switchyard.sdk.registry_entities",
    "PagedList": "switchyard.sdk.entities",
    "Pipeline": "switchyard.sdk.scheduler_pipelines",
    "PipelineRun": "switchyard.sdk.scheduler_pipelines",
    "pipelines": "switchyard.sdk.namespaces",
    "register_model": "switchyard.sdk.models",
    "RegisteredModel": "switchyard.sdk.registry_entities",
    "Run": "switchyard.sdk.entities",
    "run_pipeline": "switchyard.sdk.scheduler_pipelines",
    "RunData": "switchyard.sdk.entities",
    "RunInfo": "switchyard.sdk.entities",
    "search_runs": "switchyard.sdk.fluent",
    "set_experiment": "switchyard.sdk.fluent",
    "set_tag": "switchyard.sdk.fluent",
    "set_tags": "switchyard.sdk.fluent",
    "start_run": "switchyard.sdk.fluent",
    "step": "switchyard.sdk.scheduler_pipelines",
    "submit_job": "switchyard.sdk.jobs",
    "subscribe": "switchyard.sdk.subscriptions",
    "Subscription": "switchyard.sdk.subscriptions",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'switchyard' has no attribute {name!r}")
    loaded = importlib.import_module(module)
    if module == f"switchyard.{name}":
        value = loaded
    else:  # a name in the module, or a submodule of it (sy.jobs, sy.event_types)
        value = getattr(loaded, name, None) or importlib.import_module(f"{module}.{name}")
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__version__ = "0.1.0"

__all__ = [
    "ActiveRun",
    "AsyncClient",
    "AsyncJobsClient",
    "Client",
    "Dataset",
    "DatasetInput",
    "Deployment",
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
    "Study",
    "Subscription",
    "Trial",
    "__version__",
    "active_run",
    "async_events",
    "deploy",
    "end_run",
    "errors",
    "event_types",
    "events",
    "flush",
    "get_deployment",
    "get_job",
    "get_pipeline",
    "get_run",
    "get_study",
    "jobs",
    "list_deployments",
    "list_jobs",
    "list_studies",
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
    "predict",
    "register_model",
    "run_pipeline",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "space",
    "start_run",
    "step",
    "submit_job",
    "subscribe",
    "tune",
]
