"""The tuner's one connection to the tracking service, through the SDK's `AsyncClient`.

A study has a run of its own (the parent); each trial's run is nested under
it (`mlflow.parentRunId`), with the trial's parameters logged as params.
A trial's final values are the latest values of its objective metrics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from switchyard.core.config import Settings
from switchyard.core.peers import Peer
from switchyard.sdk.async_client import AsyncClient, experiment_id_for
from switchyard.services.tuner.space import Value, as_text

TRACKING_TIMEOUT_S = 10.0


class Tracking(Peer[AsyncClient]):
    """`close()` is idempotent."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(lambda: AsyncClient(settings=settings, timeout=TRACKING_TIMEOUT_S))
        self.settings = settings

    async def experiment_id(self, name: str) -> str:
        return await experiment_id_for(await self.client(), name)

    async def study_run(self, experiment_id: str, study_id: str, name: str) -> str:
        client = await self.client()
        run = await client.create_run(
            experiment_id,
            run_name=name,
            tags={"switchyard.study_id": study_id, "switchyard.study": name},
        )
        return run.info.run_id

    async def trial_run(
        self,
        experiment_id: str,
        parent_run_id: str,
        study_id: str,
        name: str,
        params: Mapping[str, Value],
    ) -> str:
        client = await self.client()
        run = await client.create_run(
            experiment_id,
            run_name=name,
            tags={"switchyard.study_id": study_id, "switchyard.trial": name},
            parent_run_id=parent_run_id,
        )
        await client.log_batch(run.info.run_id, params={k: as_text(v) for k, v in params.items()})
        return run.info.run_id

    async def final_values(self, run_id: str, metrics: Sequence[str]) -> list[float] | None:
        """The latest value of each metric; None when one was never logged."""
        client = await self.client()
        run = await client.get_run(run_id)
        logged = run.data.metrics
        if any(m not in logged for m in metrics):
            return None
        return [float(logged[m]) for m in metrics]

    async def end_run(self, run_id: str, status: str) -> None:
        client = await self.client()
        await client.set_terminated(run_id, status)
