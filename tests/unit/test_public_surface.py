"""The SDK's public names are deliberate: changing them must be a visible decision."""

import inspect

import switchyard as sy

PUBLIC = [
    "ActiveRun",
    "AsyncClient",
    "Client",
    "Dataset",
    "DatasetInput",
    "Event",
    "Experiment",
    "FileInfo",
    "Metric",
    "PagedList",
    "Run",
    "RunData",
    "RunInfo",
    "Subscription",
    "__version__",
    "active_run",
    "async_events",
    "end_run",
    "errors",
    "events",
    "flush",
    "log_artifact",
    "log_artifacts",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "set_experiment",
    "set_tag",
    "set_tags",
    "start_run",
    "subscribe",
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
    "log_inputs",
    "search_runs",
    "get_metric_history",
    "log_artifact",
    "log_artifacts",
    "list_artifacts",
    "download_artifacts",
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
