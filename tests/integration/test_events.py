"""Every tracking state change is an event a user can follow through the SDK."""

from __future__ import annotations

import uuid

import switchyard as sy
from switchyard.core.config import Settings


def _name() -> str:
    return f"ev-{uuid.uuid4().hex[:8]}"


def test_run_lifecycle_events_in_order(switchyard_settings: Settings) -> None:
    stream = sy.events("sy.tracking.>", timeout=10, settings=switchyard_settings)
    with sy.Client(settings=switchyard_settings) as client:
        exp = client.create_experiment(_name())
        run = client.create_run(exp, run_name="r")
        run_id = run.info.run_id
        client.log_batch(
            run_id, [sy.Metric("loss", 0.5, 1, 3)], params={"lr": "0.1"}, tags={"t": "x"}
        )
        client.set_terminated(run_id)

    mine = []
    for event in stream:
        if event.subject in (exp, run_id):
            mine.append(event)
        if event.type == "sy.tracking.run.finished" and event.subject == run_id:
            break
    assert [e.type for e in mine] == [
        "sy.tracking.experiment.created",
        "sy.tracking.run.created",
        "sy.tracking.params.logged",
        "sy.tracking.tags.set",
        "sy.tracking.metrics.logged",
        "sy.tracking.run.finished",
    ]
    metrics = mine[4].data
    assert metrics.run_id == run_id and metrics.experiment_id == exp
    assert list(metrics.series[0].values) == [0.5] and list(metrics.series[0].steps) == [3]
    assert mine[5].data.info.end_time > 0
    assert all(e.id and e.time and e.source == "switchyard/tracking" for e in mine)


def test_streamed_metrics_are_followable_live(switchyard_settings: Settings) -> None:
    stream = sy.events("sy.tracking.metrics.logged", timeout=10, settings=switchyard_settings)
    with sy.Client(settings=switchyard_settings) as client:
        run_id = client.create_run(client.create_experiment(_name())).info.run_id
        for step in range(5000):
            client.log_metric(run_id, "acc", step / 5000, step=step, synchronous=False)
        client.flush()
    steps: list[int] = []
    for event in stream:
        if event.data.run_id == run_id:
            steps.extend(s for series in event.data.series for s in series.steps)
        if len(steps) >= 5000:
            break
    assert sorted(steps) == list(range(5000))


def test_durable_subscription_resumes_where_it_stopped(switchyard_settings: Settings) -> None:
    durable = f"d{uuid.uuid4().hex[:8]}"
    seen: list[str] = []
    with sy.Client(settings=switchyard_settings) as client:
        # Create the durable consumer, then stop it.
        sy.subscribe(
            "sy.tracking.experiment.created",
            lambda e: None,
            durable=durable,
            settings=switchyard_settings,
        ).close()
        missed = client.create_experiment(_name())  # published while nobody listens
        for event in sy.events(
            "sy.tracking.experiment.created",
            durable=durable,
            timeout=1.5,
            settings=switchyard_settings,
        ):
            seen.append(event.subject)
    assert missed in seen


async def test_async_events(switchyard_settings: Settings) -> None:
    async with sy.AsyncClient(settings=switchyard_settings) as client:
        exp = await client.create_experiment(_name())
        found = [
            e.subject
            async for e in sy.async_events(
                "sy.tracking.experiment.created",
                deliver="all",
                timeout=1,
                settings=switchyard_settings,
            )
        ]
    assert exp in found


def test_bad_subject_is_rejected(switchyard_settings: Settings) -> None:
    import pytest

    with pytest.raises(sy.errors.InvalidArgument) as err:
        sy.events("tracking.>", settings=switchyard_settings)
    assert err.value.field == "subject"
