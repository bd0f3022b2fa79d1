"""`sy.AsyncClient`: the asyncio client, for services and async code.

Same methods and arguments as `sy.Client` (a unit test holds them
together); every call is a coroutine, sent when awaited, so there is no
background batching: `synchronous=` is accepted as MLflow's clients take it,
and `flush()` has nothing to wait for. Services that call the tracking
service use this client too.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from switchyard.core.artifacts import ArtifactStore, FileInfo, open_store
from switchyard.core.config import Settings
from switchyard.core.ids import now_ms
from switchyard.errors import AlreadyExists, NotFound
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.sdk import access_ops, ops
from switchyard.sdk.access_ops import AuditRecord, NewToken, Token
from switchyard.sdk.arguments import number
from switchyard.sdk.async_registry_client import AsyncRegistryMethods
from switchyard.sdk.endpoints import Endpoints, settings_for_artifacts
from switchyard.sdk.entities import Experiment, Metric, PagedList, Run, RunInfo, metrics_from_series
from switchyard.sdk.rpcs import tracking as rpc
from switchyard.sdk.transport import AsyncTransport


class AsyncClient(AsyncRegistryMethods):
    def __init__(
        self,
        tracking_address: str | None = None,
        *,
        settings: Settings | None = None,
        timeout: float | None = 30.0,
        registry_address: str | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.transport = AsyncTransport(
            self.settings,
            addresses={"tracking": tracking_address, "registry": registry_address},
            timeout=timeout,
        )
        self.endpoints: Endpoints = self.transport.endpoints
        self.address = self.transport.address("tracking")

    @property
    def timeout(self) -> float | None:
        return self.transport.timeout

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the channels (idempotent)."""
        await self.transport.close()

    # -- experiments ------------------------------------------------------------

    async def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
    ) -> str:
        return await self.transport.call(ops.create_experiment(name, artifact_location, tags))

    # -- API tokens (admin, but `whoami`) -----------------------------------------

    async def create_token(
        self, name: str, *, role: str = "viewer", project: str = "default", expires_in_s: int = 0
    ) -> NewToken:
        """A new token; `.secret` is the only time its value is shown."""
        return await self.transport.call(access_ops.create_token(name, role, project, expires_in_s))

    async def list_tokens(self, *, include_revoked: bool = False) -> list[Token]:
        return await self.transport.call(access_ops.list_tokens(include_revoked))

    async def revoke_token(self, token_id: str) -> Token:
        return await self.transport.call(access_ops.revoke_token(token_id))

    async def whoami(self) -> Token:
        return await self.transport.call(access_ops.whoami())

    async def search_audit(
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
        return await self.transport.call(op)

    async def get_experiment(self, experiment_id: str) -> Experiment:
        return await self.transport.call(ops.get_experiment(experiment_id))

    async def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment, or None when there is none by that name (as MLflow)."""
        try:
            return await self.transport.call(ops.get_experiment_by_name(name))
        except NotFound:
            return None

    async def search_experiments(
        self,
        view_type: str | int = "active_only",
        max_results: int = 1000,
        filter_string: str = "",
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        return await self.transport.call(
            ops.search_experiments(view_type, max_results, filter_string, order_by, page_token)
        )

    async def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        await self.transport.call(ops.rename_experiment(experiment_id, new_name))

    async def delete_experiment(self, experiment_id: str) -> None:
        await self.transport.call(ops.delete_experiment(experiment_id))

    async def restore_experiment(self, experiment_id: str) -> None:
        await self.transport.call(ops.restore_experiment(experiment_id))

    async def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        await self.transport.call(ops.set_experiment_tag(experiment_id, key, value))

    # -- runs -------------------------------------------------------------------

    async def create_run(
        self,
        experiment_id: str | None = None,
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        run_name: str | None = None,
        parent_run_id: str | None = None,
    ) -> Run:
        return await self.transport.call(
            ops.create_run(experiment_id, start_time, tags, run_name, parent_run_id)
        )

    async def get_run(self, run_id: str) -> Run:
        return await self.transport.call(ops.get_run(run_id))

    async def update_run(
        self, run_id: str, status: str | None = None, name: str | None = None
    ) -> RunInfo:
        return await self.transport.call(ops.update_run(run_id, status, None, name))

    async def set_terminated(
        self, run_id: str, status: str | None = None, end_time: int | None = None
    ) -> RunInfo:
        return await self.transport.call(ops.set_terminated(run_id, status, end_time))

    async def delete_run(self, run_id: str) -> None:
        await self.transport.call(ops.delete_run(run_id))

    async def restore_run(self, run_id: str) -> None:
        await self.transport.call(ops.restore_run(run_id))

    async def set_tag(
        self, run_id: str, key: str, value: Any, synchronous: bool | None = None
    ) -> None:
        await self.transport.call(ops.set_tag(run_id, key, value))

    async def delete_tag(self, run_id: str, key: str) -> None:
        await self.transport.call(ops.delete_tag(run_id, key))

    async def log_param(
        self, run_id: str, key: str, value: Any, synchronous: bool | None = None
    ) -> Any:
        await self.transport.call(ops.log_batch(run_id, params={key: value}))
        return value

    async def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Log one point, sent when awaited (for many, `log_batch` or `stream_metrics`)."""
        metric = Metric(key, number(value), timestamp or now_ms(), step or 0)
        await self.transport.call(ops.log_batch(run_id, [metric]))

    async def log_batch(
        self,
        run_id: str,
        metrics: Iterable[Metric] = (),
        params: Mapping[str, Any] | Iterable[Any] | None = None,
        tags: Mapping[str, Any] | Iterable[Any] | None = None,
        synchronous: bool | None = None,
    ) -> None:
        await self.transport.call(ops.log_batch(run_id, metrics, params, tags))

    async def stream_metrics(self, batches: AsyncIterable[pb.StreamMetricsRequest]) -> int:
        """High-rate ingest: send columnar batches over one stream; return points written."""
        return int((await self.transport.stream(rpc.STREAM_METRICS, batches)).metrics_written)

    async def log_inputs(self, run_id: str, datasets: Sequence[Any]) -> None:
        await self.transport.call(ops.log_inputs(run_id, datasets))

    async def flush(self) -> None:
        """Nothing to wait for: every call was sent when it was awaited."""

    async def search_runs(
        self,
        experiment_ids: Sequence[str] | str,
        filter_string: str = "",
        run_view_type: str | int = "active_only",
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        return await self.transport.call(
            ops.search_runs(
                experiment_ids, filter_string, run_view_type, max_results, order_by, page_token
            )
        )

    async def get_metric_history(
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
            series, token = await self.transport.call(
                ops.metric_history_page(run_id, key, max_points, token, window)
            )
            points.extend(metrics_from_series(series))
            if not token:
                return points

    # -- artifacts (straight to the store, never through the service) ------------

    async def _store(self, run_id: str) -> ArtifactStore:
        uri = (await self.get_run(run_id)).info.artifact_uri
        return open_store(uri, settings_for_artifacts(self.settings, self.endpoints))

    async def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> None:
        store = await self._store(run_id)
        await asyncio.to_thread(store.upload_file, local_path, artifact_path)

    async def log_artifacts(
        self, run_id: str, local_dir: str | Path, artifact_path: str | None = None
    ) -> None:
        store = await self._store(run_id)
        await asyncio.to_thread(store.upload_dir, local_dir, artifact_path)

    async def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        store = await self._store(run_id)
        await asyncio.to_thread(store.write_bytes, artifact_file, text.encode())

    async def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        store = await self._store(run_id)
        return await asyncio.to_thread(store.list, path)

    async def download_artifacts(
        self, run_id: str, path: str, dst_path: str | Path | None = None
    ) -> str:
        store = await self._store(run_id)
        dst = Path(dst_path) if dst_path else Path(tempfile.mkdtemp(prefix="switchyard-"))
        dst.mkdir(parents=True, exist_ok=True)
        return str(await asyncio.to_thread(store.download, path, dst))


async def experiment_id_for(client: AsyncClient, name: str) -> str:
    """The id of the experiment `name`, made if there is none (by another process
    at the same moment too: whoever loses the race reads the winner's)."""
    found = await client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return await client.create_experiment(name)
    except AlreadyExists:
        again = await client.get_experiment_by_name(name)
        if again is None:
            raise
        return again.experiment_id
