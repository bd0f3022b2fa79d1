"""`sy.Client`: the synchronous client, with `MlflowClient`'s method names.

Thin over its `Transport`: each method builds an `Op` (`ops.py`) and sends
it. `AsyncClient` has the same methods and signatures (a unit test holds
them together).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from switchyard.core.artifacts import ArtifactStore, FileInfo, open_store
from switchyard.core.config import Settings
from switchyard.core.ids import now_ms
from switchyard.errors import NotFound
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.sdk import access_ops, ops
from switchyard.sdk.access_ops import AuditRecord, NewToken, Token
from switchyard.sdk.arguments import number
from switchyard.sdk.batcher import RunWriter
from switchyard.sdk.endpoints import Endpoints, settings_for_artifacts
from switchyard.sdk.entities import (
    Experiment,
    Metric,
    PagedList,
    Run,
    RunInfo,
    metrics_from_series,
)
from switchyard.sdk.progress import TransferBar
from switchyard.sdk.registry_client import RegistryMethods
from switchyard.sdk.rpcs import tracking as rpc
from switchyard.sdk.transport import Transport


class Client(RegistryMethods):
    """Talks to the tracking service and the model registry; artifacts go straight
    to the store.

    `Client()` finds the platform that `switchyard up` started; pass
    `tracking_address="host:port"` (or `registry_address=`) to point elsewhere.
    """

    def __init__(
        self,
        tracking_address: str | None = None,
        *,
        settings: Settings | None = None,
        timeout: float | None = 30.0,
        registry_address: str | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.transport = Transport(
            self.settings,
            addresses={"tracking": tracking_address, "registry": registry_address},
            timeout=timeout,
        )
        self.endpoints: Endpoints = self.transport.endpoints
        self.address = self.transport.address("tracking")
        self._batcher: RunWriter | None = None

    @property
    def timeout(self) -> float | None:
        return self.transport.timeout

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Flush pending metrics, then close the channels (idempotent)."""
        batcher, self._batcher = self._batcher, None
        try:
            if batcher is not None:
                batcher.close()
        finally:
            self.transport.close()

    # -- API tokens (admin, but `whoami`) -----------------------------------------

    def create_token(
        self, name: str, *, role: str = "viewer", project: str = "default", expires_in_s: int = 0
    ) -> NewToken:
        """A new token; `.secret` is the only time its value is shown."""
        return self.transport.call(access_ops.create_token(name, role, project, expires_in_s))

    def list_tokens(self, *, include_revoked: bool = False) -> list[Token]:
        return self.transport.call(access_ops.list_tokens(include_revoked))

    def revoke_token(self, token_id: str) -> Token:
        """Refused by every service from within a second on."""
        return self.transport.call(access_ops.revoke_token(token_id))

    def whoami(self) -> Token:
        """The record of the token this client calls with."""
        return self.transport.call(access_ops.whoami())

    def search_audit(
        self,
        *,
        project: str | None = None,
        actor: str | None = None,
        entity: str | None = None,
        since: datetime | int | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> PagedList[AuditRecord]:
        """Acknowledged changes of every service, newest first (admin only): each with
        who made it, the call, the ids it changed, the caller's address and trace.
        `since` is a datetime or epoch milliseconds; `.token` asks for the next page."""
        op = access_ops.search_audit(project, actor, entity, since, limit, page_token)
        return self.transport.call(op)

    # -- experiments ------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
    ) -> str:
        return self.transport.call(ops.create_experiment(name, artifact_location, tags))

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self.transport.call(ops.get_experiment(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment, or None when there is none by that name (as MLflow)."""
        try:
            return self.transport.call(ops.get_experiment_by_name(name))
        except NotFound:
            return None

    def search_experiments(
        self,
        view_type: str | int = "active_only",
        max_results: int = 1000,
        filter_string: str = "",
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        return self.transport.call(
            ops.search_experiments(view_type, max_results, filter_string, order_by, page_token)
        )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.transport.call(ops.rename_experiment(experiment_id, new_name))

    def delete_experiment(self, experiment_id: str) -> None:
        self.transport.call(ops.delete_experiment(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        self.transport.call(ops.restore_experiment(experiment_id))

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self.transport.call(ops.set_experiment_tag(experiment_id, key, value))

    # -- runs -------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str | None = None,
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        run_name: str | None = None,
        parent_run_id: str | None = None,
    ) -> Run:
        return self.transport.call(
            ops.create_run(experiment_id, start_time, tags, run_name, parent_run_id)
        )

    def get_run(self, run_id: str) -> Run:
        return self.transport.call(ops.get_run(run_id))

    def update_run(
        self, run_id: str, status: str | None = None, name: str | None = None
    ) -> RunInfo:
        return self.transport.call(ops.update_run(run_id, status, None, name))

    def set_terminated(
        self, run_id: str, status: str | None = None, end_time: int | None = None
    ) -> RunInfo:
        self.flush()
        return self.transport.call(ops.set_terminated(run_id, status, end_time))

    def delete_run(self, run_id: str) -> None:
        self.transport.call(ops.delete_run(run_id))

    def restore_run(self, run_id: str) -> None:
        self.transport.call(ops.restore_run(run_id))

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        """Set a tag; with `synchronous=False` it is pipelined (see `flush`)."""
        if synchronous is False:
            self.log_batch(run_id, tags={key: value}, synchronous=False)
            return
        self.transport.call(ops.set_tag(run_id, key, value))

    def delete_tag(self, run_id: str, key: str) -> None:
        self.transport.call(ops.delete_tag(run_id, key))

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Log a param; with `synchronous=False` it is pipelined (see `flush`)."""
        self.log_batch(run_id, params={key: value}, synchronous=synchronous)
        return value

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Log one point; with `synchronous=False` it is batched in the background."""
        if synchronous is False:
            self.batcher.log(run_id, key, number(value), int(step or 0), int(timestamp or now_ms()))
            return
        metric = Metric(key, number(value), timestamp or now_ms(), step or 0)
        self.transport.call(ops.log_batch(run_id, [metric]))

    def log_batch(
        self,
        run_id: str,
        metrics: Iterable[Metric] = (),
        params: Mapping[str, Any] | Iterable[Any] | None = None,
        tags: Mapping[str, Any] | Iterable[Any] | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Log metrics, params and tags at once; with `synchronous=False` they are
        pipelined: checked here, sent in order behind earlier background writes, and
        stored (or refused, raised then) by the next `flush`."""
        op = ops.log_batch(run_id, metrics, params, tags)
        if synchronous is False:
            self.batcher.write(pb.RunWrite(log_batch=cast(pb.LogBatchRequest, op.request)))
            return
        self.transport.call(op)

    def stream_metrics(self, batches: Iterable[pb.StreamMetricsRequest]) -> int:
        """High-rate ingest: send columnar batches over one stream; return points written."""
        return int(self.transport.stream(rpc.STREAM_METRICS, batches).metrics_written)

    def log_inputs(self, run_id: str, datasets: Sequence[Any]) -> None:
        self.transport.call(ops.log_inputs(run_id, datasets))

    @property
    def batcher(self) -> RunWriter:
        """The background sender of `synchronous=False` writes and `sy.log_metric`."""
        if self._batcher is None:
            self._batcher = RunWriter(self._write_runs)
        return self._batcher

    def _write_runs(self, writes: Iterable[pb.RunWrite]) -> Iterator[pb.WriteRunsResponse]:
        """The background writer's stream (a subclass of it sends through here too)."""
        return self.transport.exchange(rpc.WRITE_RUNS, writes)

    def flush(self) -> None:
        """Wait until every write made in the background (`synchronous=False`, `sy.log_metric`)
        is stored; raise the first that was refused."""
        if self._batcher is not None:
            self._batcher.flush()

    def search_runs(
        self,
        experiment_ids: Sequence[str] | str,
        filter_string: str = "",
        run_view_type: str | int = "active_only",
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        return self.transport.call(
            ops.search_runs(
                experiment_ids, filter_string, run_view_type, max_results, order_by, page_token
            )
        )

    def get_metric_history(
        self,
        run_id: str,
        key: str,
        max_points: int | None = None,
        *,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> list[Metric]:
        """Every point of a metric by step, or at most `max_points` for a chart;
        `min_step`/`max_step` keep a window of steps (a zoomed chart's)."""
        points: list[Metric] = []
        token = ""
        window = (min_step, max_step)
        while True:
            series, token = self.transport.call(
                ops.metric_history_page(run_id, key, max_points, token, window)
            )
            points.extend(metrics_from_series(series))
            if not token:
                return points

    # -- artifacts (straight to the store, never through the service) ------------

    def _store(self, run_id: str) -> ArtifactStore:
        uri = self.get_run(run_id).info.artifact_uri
        return open_store(uri, settings_for_artifacts(self.settings, self.endpoints))

    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> None:
        self._store(run_id).upload_file(local_path, artifact_path)

    def log_artifacts(
        self, run_id: str, local_dir: str | Path, artifact_path: str | None = None
    ) -> None:
        with TransferBar(f"uploading {Path(local_dir).name}") as bar:
            self._store(run_id).upload_dir(local_dir, artifact_path, progress=bar)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self._store(run_id).write_bytes(artifact_file, text.encode())

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return self._store(run_id).list(path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | Path | None = None) -> str:
        dst = Path(dst_path) if dst_path else Path(tempfile.mkdtemp(prefix="switchyard-"))
        dst.mkdir(parents=True, exist_ok=True)
        with TransferBar(f"downloading {path or 'artifacts'}") as bar:
            return str(self._store(run_id).download(path, dst, bar))
