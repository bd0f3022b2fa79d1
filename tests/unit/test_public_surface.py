"""The SDK's public names are deliberate: changing them must be a visible decision."""

import inspect

import switchyard as sy

PUBLIC = [
    "Study",
    "Trial",
    "get_study",
    "list_studies",
    "space",
    "tune",
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
    "Deployment",
    "deploy",
    "get_deployment",
    "list_deployments",
    "predict",
]

CLIENT_METHODS = [
    "create_experiment",
    "get_experiment",
    "get_experiment_by_name",
    "search_experiments",
    "rename_experiment",
    "delete_experiment",
    "restore_experiment",
    "set_experiment_tag",
    "create_run",
    "get_run",
    "update_run",
    "set_terminated",
    "delete_run",
    "restore_run",
    "set_tag",
    "delete_tag",
    "log_param",
    "log_metric",
    "log_batch",
    "stream_metrics",
    "log_inputs",
    "search_runs",
    "get_metric_history",
    "log_artifact",
    "log_artifacts",
    "log_text",
    "list_artifacts",
    "download_artifacts",
]

REGISTRY_METHODS = [
    "create_registered_model",
    "get_registered_model",
    "rename_registered_model",
    "update_registered_model",
    "delete_registered_model",
    "search_registered_models",
    "set_registered_model_tag",
    "delete_registered_model_tag",
    "get_latest_versions",
    "create_model_version",
    "get_model_version",
    "update_model_version",
    "delete_model_version",
    "search_model_versions",
    "set_model_version_tag",
    "delete_model_version_tag",
    "get_model_version_download_uri",
    "transition_model_version_stage",
    "set_registered_model_alias",
    "delete_registered_model_alias",
    "get_model_version_by_alias",
    "get_model_lineage",
    "get_model_history",
]


def test_public_names_are_pinned() -> None:
    assert sorted(sy.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert hasattr(sy, name), name


def test_errors_tree() -> None:
    for name in (
        "NotFound",
        "InvalidArgument",
        "AlreadyExists",
        "FailedPrecondition",
        "Unavailable",
    ):
        assert issubclass(getattr(sy.errors, name), sy.errors.SwitchyardError)


def test_clients_offer_mlflow_client_methods() -> None:
    for name in CLIENT_METHODS:
        assert callable(getattr(sy.Client, name)), name
        assert inspect.iscoroutinefunction(getattr(sy.AsyncClient, name)), name


def test_client_offers_mlflow_registry_methods() -> None:
    for name in REGISTRY_METHODS:
        assert callable(getattr(sy.Client, name)), name
        assert inspect.iscoroutinefunction(getattr(sy.AsyncClient, name)), name
    params = inspect.signature(sy.Client.transition_model_version_stage).parameters
    assert list(params)[1:] == ["name", "version", "stage", "archive_existing_versions"]
    assert list(inspect.signature(sy.log_model).parameters) == [
        "model",
        "artifact_path",
        "registered_model_name",
        "signature",
        "input_example",
        "flavor",
    ]


def test_fluent_signatures_match_mlflow() -> None:
    params = inspect.signature(sy.start_run).parameters
    assert {"run_name", "nested", "tags", "experiment_id"} <= set(params)
    assert list(inspect.signature(sy.log_metric).parameters) == [
        "key",
        "value",
        "step",
        "timestamp",
    ]
    assert list(inspect.signature(sy.log_metrics).parameters)[:2] == ["metrics", "step"]
    events = inspect.signature(sy.events).parameters
    assert next(iter(events)) == "subject" and {"deliver", "durable", "timeout"} <= set(events)


def test_namespaces_alias_the_flat_names() -> None:
    assert sy.jobs.submit is sy.submit_job
    assert sy.jobs.get is sy.get_job
    assert sy.jobs.list is sy.list_jobs
    assert callable(sy.jobs.cancel)
    assert sy.pipelines.run is sy.run_pipeline
    assert sy.pipelines.get is sy.get_pipeline
    assert sy.jobs.AsyncJobsClient is sy.AsyncJobsClient


def test_jobs_namespace_manages_queues() -> None:
    """Queues live under `sy.jobs` only, on both clients; the flat names stay as pinned."""
    calls = ("create_queue", "get_queue", "list_queues", "update_queue", "delete_queue")
    for name in (*calls, "pause_queue", "resume_queue"):
        assert callable(getattr(sy.jobs, name)), name
        assert callable(getattr(sy.JobsClient, name)), name
        assert inspect.iscoroutinefunction(getattr(sy.AsyncJobsClient, name)), name
        assert not hasattr(sy, name), name
    create = inspect.signature(sy.jobs.create_queue).parameters
    assert list(create) == ["name", "max_cpus", "max_gpus", "max_memory", "max_jobs"]
    assert all(create[k].default is None for k in list(create)[1:])


def test_event_types_are_subjects() -> None:
    finished = sy.event_types.RUN_FINISHED
    assert isinstance(finished, str) and finished == "sy.tracking.run.finished"
    assert finished.event_type is sy.event_types.CATALOG[finished]
    constants = [n for n in sy.event_types.__all__ if n.isupper() and n != "CATALOG"]
    assert {getattr(sy.event_types, n) for n in constants} == set(sy.event_types.CATALOG)


def test_mlflow_fluent_search_and_inputs() -> None:
    assert list(inspect.signature(sy.search_runs).parameters)[:5] == [
        "experiment_ids",
        "filter_string",
        "run_view_type",
        "max_results",
        "order_by",
    ]
    assert "experiment_names" in inspect.signature(sy.search_runs).parameters
    assert list(inspect.signature(sy.log_input).parameters) == ["dataset", "context", "tags"]
    assert list(inspect.signature(sy.get_run).parameters) == ["run_id"]
