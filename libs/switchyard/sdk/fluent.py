"""The fluent API: `sy.start_run()`, `sy.log_metric()`, ... as in `mlflow`.

One client per process (created on first use), one stack of active runs per
thread. Metrics are batched in the background; `end_run` (and interpreter
exit) flushes them, and a failure to store them is raised there.

With `synchronous=False` (or SWITCHYARD_ASYNC_LOGGING=true, as MLflow's
MLFLOW_ENABLE_ASYNC_LOGGING) a run's whole life is pipelined: the client
makes the run id, `start_run` returns at once, and the creation, params,
tags, metrics and the end travel in order on one stream. They are stored
(acknowledged) when `sy.flush()` returns; a refused write is raised at the
next `flush`, `end_run` or write, never dropped.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from switchyard.core.config import Settings
from switchyard.core.ids import new_run_id, now_ms
from switchyard.errors import FailedPrecondition, InvalidArgument
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.sdk import frames, ops
from switchyard.sdk.arguments import number, pairs
from switchyard.sdk.client import Client
from switchyard.sdk.entities import Dataset, DatasetInput, Experiment, Run, RunData, RunInfo

if TYPE_CHECKING:
    import pandas

DATASET_CONTEXT_TAG = "mlflow.data.context"  # MLflow's name: its UI shows it
_SEARCH_PAGE = 10_000

_lock = threading.Lock()
_client: Client | None = None
_experiment_id: str | None = None
_local = threading.local()


def _get_client() -> Client:
    global _client
    with _lock:
        if _client is None:
            _client = Client()
        return _client


def _stack() -> list[ActiveRun]:
    if not hasattr(_local, "runs"):
        _local.runs = []
    return _local.runs  # type: ignore[no-any-return]


class ActiveRun:
    """The run a `with sy.start_run():` block logs into; ends it on exit."""

    def __init__(self, run_id: str, run: Run | None) -> None:
        self.run_id = run_id
        self.pipelined = run is None  # its creation was queued, not made
        self._run = run

    @property
    def info(self) -> RunInfo:
        if self._run is None:  # pipelined: read once it is stored
            self._run = _get_client().get_run(_stored(self))
        return self._run.info

    @property
    def data(self) -> RunData:
        return _get_client().get_run(_stored(self)).data

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if _stack() and _stack()[-1] is self:
            end_run("FINISHED" if et is None else "FAILED")


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment active, creating it by name if needed."""
    global _experiment_id
    client = _get_client()
    if experiment_id is not None:
        experiment = client.get_experiment(experiment_id)
    elif experiment_name:
        experiment = client.get_experiment_by_name(experiment_name)  # type: ignore[assignment]
        if experiment is None:
            client.create_experiment(experiment_name)
            experiment = client.get_experiment_by_name(experiment_name)  # type: ignore[assignment]
        assert experiment is not None
    else:
        raise InvalidArgument(
            "set_experiment needs experiment_name or experiment_id", field="experiment_name"
        )
    if experiment.lifecycle_stage != "active":
        raise FailedPrecondition(
            f"experiment '{experiment.name}' is deleted; restore it first", entity="experiment"
        )
    _experiment_id = experiment.experiment_id
    return experiment


def _pipelined(synchronous: bool | None, run: ActiveRun | None = None) -> bool:
    """Whether a write is pipelined: as asked, else as its run was started, else
    as SWITCHYARD_ASYNC_LOGGING says."""
    if synchronous is None:
        return (run is not None and run.pipelined) or _get_client().settings.async_logging
    return not synchronous


def _stored(run: ActiveRun) -> str:
    """The run's id, once its pipelined writes are stored (a synchronous call next)."""
    if run.pipelined:
        _get_client().flush()
    return run.run_id


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    tags: Mapping[str, Any] | None = None,
    parent_run_id: str | None = None,
    synchronous: bool | None = None,
) -> ActiveRun:
    """Start a run (or resume `run_id`) and make it active in this thread.

    `synchronous=False` queues the creation and returns at once (the run id is
    made here); the default is SWITCHYARD_ASYNC_LOGGING's (false).
    """
    client = _get_client()
    stack = _stack()
    if stack and not nested:
        raise FailedPrecondition(
            f"run {stack[-1].run_id} is already active; end it first or pass nested=True"
        )
    settings = client.settings
    run_id = run_id or (settings.run_id if not stack else None)
    if run_id:
        run = client.get_run(run_id)
        if run.info.status != "RUNNING":
            client.update_run(run_id, status="RUNNING")
        active = ActiveRun(run_id, run)
    else:
        parent = parent_run_id or (stack[-1].run_id if stack else None)
        exp = experiment_id or _experiment_id or settings.experiment_id or "0"
        if _pipelined(synchronous):
            new = cast(
                pb.CreateRunRequest, ops.create_run(exp, now_ms(), tags, run_name, parent).request
            )
            new.run_id = new_run_id()
            client.batcher.write(pb.RunWrite(create_run=new))
            active = ActiveRun(new.run_id, None)
        else:
            run = client.create_run(exp, tags=tags, run_name=run_name, parent_run_id=parent)
            active = ActiveRun(run.info.run_id, run)
    stack.append(active)
    return active


def active_run() -> ActiveRun | None:
    stack = _stack()
    return stack[-1] if stack else None


def _active() -> ActiveRun:
    """The active run, started on demand as MLflow does."""
    stack = _stack()
    return stack[-1] if stack else start_run()


def _run_id() -> str:
    return _active().run_id


def _write_to(synchronous: bool | None) -> tuple[str, bool]:
    """The active run's id, and whether this write is pipelined (a synchronous one
    waits for the run's pipelined writes first: its creation may be among them)."""
    run = _active()
    if _pipelined(synchronous, run):
        return run.run_id, True
    return _stored(run), False


def end_run(status: str = "FINISHED", synchronous: bool | None = None) -> None:
    """End the active run. Pipelined (`synchronous=False`, the default for a run
    started so), the end is queued and only refusals already reported are raised;
    `sy.flush()` waits for the rest."""
    stack = _stack()
    if not stack:
        return
    run = stack.pop()
    client = _get_client()
    if _pipelined(synchronous, run):
        end = cast(pb.UpdateRunRequest, ops.set_terminated(run.run_id, status, None).request)
        client.batcher.write(pb.RunWrite(update_run=end))
        client.batcher.check()
        return
    try:
        client.flush()
    except BaseException:
        # Metrics were lost: the run did not complete as logged.
        client.set_terminated(run.run_id, "FAILED")
        raise
    client.set_terminated(run.run_id, status)


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    run_id, pipelined = _write_to(synchronous)
    return _get_client().log_param(run_id, key, value, synchronous=not pipelined)


def log_params(params: Mapping[str, Any], synchronous: bool | None = None) -> None:
    run_id, pipelined = _write_to(synchronous)
    _get_client().log_batch(run_id, params=params, synchronous=not pipelined)


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    run_id, pipelined = _write_to(synchronous)
    _get_client().set_tag(run_id, key, value, synchronous=not pipelined)


def set_tags(tags: Mapping[str, Any], synchronous: bool | None = None) -> None:
    run_id, pipelined = _write_to(synchronous)
    _get_client().log_batch(run_id, tags=tags, synchronous=not pipelined)


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    """Queue one point; it is sent in the background, in batches."""
    # The hot path of a training loop: no lock, no lookups beyond the needed.
    client = _client or _get_client()
    runs = getattr(_local, "runs", None)
    run_id = runs[-1].run_id if runs else _run_id()
    stamp = timestamp or time.time_ns() // 1_000_000
    try:
        value = float(value)
    except (TypeError, ValueError):
        value = number(value)  # raises InvalidArgument
    client.batcher.log(run_id, key, value, step or 0, stamp)


def log_metrics(
    metrics: Mapping[str, float], step: int | None = None, timestamp: int | None = None
) -> None:
    run_id = _run_id()
    batcher = _get_client().batcher
    ts = timestamp or now_ms()
    for key, value in metrics.items():
        batcher.log(run_id, key, number(value, f"metrics[{key!r}]"), step or 0, ts)


def log_artifact(local_path: str | Path, artifact_path: str | None = None) -> None:
    _get_client().log_artifact(_stored(_active()), local_path, artifact_path)


def log_artifacts(local_dir: str | Path, artifact_path: str | None = None) -> None:
    _get_client().log_artifacts(_stored(_active()), local_dir, artifact_path)


def log_text(text: str, artifact_file: str) -> None:
    _get_client().log_text(_stored(_active()), text, artifact_file)


def log_input(
    dataset: Any, context: str | None = None, tags: Mapping[str, Any] | None = None
) -> None:
    """Record that the active run used `dataset` (sy's, or MLflow's `mlflow.data` ones);
    `context` ("training", "eval", ...) is kept as the input's tag, as MLflow does."""
    source = dataset._to_mlflow_entity() if hasattr(dataset, "_to_mlflow_entity") else dataset
    if not (hasattr(source, "name") and hasattr(source, "digest")):
        raise InvalidArgument(
            f"{type(dataset).__name__} is not a dataset: it needs .name and .digest",
            field="dataset",
        )
    entity = Dataset(
        name=source.name,
        digest=source.digest,
        source_type=getattr(source, "source_type", "") or "",
        source=str(getattr(source, "source", "") or ""),
        schema=str(getattr(source, "schema", "") or ""),
        profile=str(getattr(source, "profile", "") or ""),
    )
    input_tags = dict(pairs(tags, "tags"))
    if context:
        input_tags[DATASET_CONTEXT_TAG] = context
    _get_client().log_inputs(_stored(_active()), [DatasetInput(entity, input_tags)])


def get_run(run_id: str) -> Run:
    return _get_client().get_run(run_id)


def search_runs(
    experiment_ids: Sequence[str] | str | None = None,
    filter_string: str = "",
    run_view_type: str | int = "active_only",
    max_results: int = 100_000,
    order_by: Sequence[str] | None = None,
    *,
    experiment_names: Sequence[str] | None = None,
) -> pandas.DataFrame:
    """Runs as a pandas DataFrame, as `mlflow.search_runs` gives them.

    By experiment ids or names (not both); with neither, the active experiment.
    """
    frames.pandas_module()  # before any call: say what is missing first
    client = _get_client()
    if experiment_ids is not None and experiment_names is not None:
        raise InvalidArgument(
            "give experiment_ids or experiment_names, not both", field="experiment_names"
        )
    if experiment_names is not None:
        found = [client.get_experiment_by_name(n) for n in experiment_names]
        ids: Sequence[str] | str = [e.experiment_id for e in found if e is not None]
    elif experiment_ids is not None:
        ids = experiment_ids
    else:
        ids = [_experiment_id or client.settings.experiment_id or "0"]
    runs: list[Run] = []
    token: str | None = None
    while ids and len(runs) < max_results:
        page = client.search_runs(
            ids,
            filter_string,
            run_view_type,
            min(max_results - len(runs), _SEARCH_PAGE),
            order_by,
            token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            break
    return frames.runs_frame(runs)


def flush() -> None:
    """Wait until every write made in the background so far (metric points, and a
    pipelined run's writes) is stored; raise the first that was refused."""
    if _client is not None:
        _client.flush()


def reset(settings: Settings | None = None) -> None:
    """Forget the process's client and active experiment (tests, notebooks)."""
    global _client, _experiment_id
    with _lock:
        old, _client = _client, None
        _experiment_id = None
    _local.runs = []
    if old is not None:
        old.close()
    if settings is not None:
        with _lock:
            _client = Client(settings=settings)


@atexit.register
def _at_exit() -> None:
    # Runs still open at exit end as FINISHED, and queued metrics are sent.
    try:
        while _stack():
            end_run()
    finally:
        if _client is not None:
            _client.close()
