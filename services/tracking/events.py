"""What the tracking service publishes (it consumes nothing yet).

Each function writes one event into the caller's transaction through the
outbox; the payload carries enough to act on without calling back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import asyncpg

from switchyard.core import event_types as et
from switchyard.core.events import Event, new_event
from switchyard.core.outbox import Outbox
from switchyard.core.telemetry import current_trace_headers
from switchyard.proto.v1 import events_pb2 as ev
from switchyard.proto.v1 import tracking_pb2 as pb

# Keep each metrics event well under NATS's 1 MB default payload limit.
MAX_POINTS_PER_EVENT = 20_000


async def experiment_changed(
    outbox: Outbox, conn: asyncpg.Connection, kind: et.EventType, experiment: pb.Experiment
) -> None:
    await outbox.add(
        conn, kind, experiment.experiment_id, ev.ExperimentChanged(experiment=experiment)
    )


async def run_changed(
    outbox: Outbox,
    conn: asyncpg.Connection,
    kind: et.EventType,
    info: pb.RunInfo,
    tags: Mapping[str, str] | None = None,
) -> None:
    await outbox.add(conn, kind, info.run_id, ev.RunChanged(info=info, tags=dict(tags or {})))


async def params_logged(
    outbox: Outbox, conn: asyncpg.Connection, info: pb.RunInfo, params: Mapping[str, str]
) -> None:
    payload = ev.ParamsLogged(run_id=info.run_id, experiment_id=info.experiment_id, params=params)
    await outbox.add(conn, et.PARAMS_LOGGED, info.run_id, payload)


async def tags_set(
    outbox: Outbox,
    conn: asyncpg.Connection,
    info: pb.RunInfo,
    tags: Mapping[str, str],
    deleted: Sequence[str] = (),
) -> None:
    payload = ev.TagsSet(
        run_id=info.run_id, experiment_id=info.experiment_id, tags=tags, deleted_keys=deleted
    )
    await outbox.add(conn, et.TAGS_SET, info.run_id, payload)


async def metrics_logged(
    outbox: Outbox,
    conn: asyncpg.Connection,
    run_id: str,
    experiment_id: str,
    series: Sequence[pb.MetricSeries],
) -> None:
    """One event per ~20k points, in ingest order."""
    trace = current_trace_headers()
    batch: list[Event] = []
    current = ev.MetricsLogged(run_id=run_id, experiment_id=experiment_id)
    points = 0
    for s in _pieces(series):
        current.series.append(s)
        points += len(s.values)
        if points >= MAX_POINTS_PER_EVENT:
            batch.append(new_event(et.METRICS_LOGGED, run_id, current, trace))
            current = ev.MetricsLogged(run_id=run_id, experiment_id=experiment_id)
            points = 0
    if current.series:
        batch.append(new_event(et.METRICS_LOGGED, run_id, current, trace))
    await outbox.add_events(conn, batch)


async def inputs_logged(
    outbox: Outbox, conn: asyncpg.Connection, info: pb.RunInfo, inputs: Sequence[pb.DatasetInput]
) -> None:
    payload = ev.InputsLogged(
        run_id=info.run_id, experiment_id=info.experiment_id, dataset_inputs=inputs
    )
    await outbox.add(conn, et.INPUTS_LOGGED, info.run_id, payload)


def _pieces(series: Sequence[pb.MetricSeries]) -> list[pb.MetricSeries]:
    """Split any series longer than one event holds."""
    out: list[pb.MetricSeries] = []
    for s in series:
        if len(s.values) <= MAX_POINTS_PER_EVENT:
            out.append(s)
            continue
        for lo in range(0, len(s.values), MAX_POINTS_PER_EVENT):
            hi = lo + MAX_POINTS_PER_EVENT
            out.append(
                pb.MetricSeries(
                    key=s.key,
                    values=s.values[lo:hi],
                    steps=s.steps[lo:hi],
                    timestamps=s.timestamps[lo:hi],
                )
            )
    return out
