"""A version's lineage lists the deployments that serve it, learnt from the gateway's events.

The first test goes through the real gateway and bus; the second hands the
registry's handler events directly (as the bus would, twice and out of order)
to check that only the newest one per deployment counts.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import numpy as np
import pytest

import switchyard as sy
from switchyard.core import event_types as et
from switchyard.core.config import Settings
from switchyard.core.db import Database
from switchyard.core.event_types import EventType
from switchyard.core.events import Event, new_event
from switchyard.proto.v1 import events_pb2 as ev
from switchyard.proto.v1 import gateway_pb2 as gpb
from switchyard.sdk import fluent
from switchyard.sdk.registry_entities import ModelDeployment
from switchyard.services.registry.deployment_store import DeploymentStore
from switchyard.services.registry.deployments import Follower
from switchyard.testing.platform import LocalPlatform
from switchyard.testing.workers import WorkerProcess, new_pool

X = np.random.default_rng(0).normal(size=(32, 3))
EVENTS_S = 10.0  # events reach the registry asynchronously


@pytest.fixture(scope="module")
def pool(switchyard_workers: Callable[..., list[WorkerProcess]]) -> str:
    return switchyard_workers(new_pool("lineage"), cpus=8)[0].pool


@pytest.fixture(scope="module")
def settings(switchyard_platform: LocalPlatform) -> Iterator[Settings]:
    settings = switchyard_platform.client_settings()
    fluent.reset(settings)
    yield settings
    fluent.reset()


def deployments_of(
    client: sy.Client, name: str, version: int, until: Callable[[list[ModelDeployment]], bool]
) -> list[ModelDeployment]:
    """The version's deployments once `until` holds of them (or as they are after EVENTS_S)."""
    deadline = time.monotonic() + EVENTS_S
    while True:
        found = client.get_model_lineage(name, version).deployments
        if until(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_lineage_lists_the_deployments_serving_a_version(
    pool: str, settings: Settings, uniq: Callable[..., str]
) -> None:
    from sklearn.linear_model import LinearRegression

    name = uniq("lineage-model")
    with sy.start_run():
        model = LinearRegression().fit(X, X @ np.array([1.0, 2.0, 3.0]))
        sy.log_model(model, "model", registered_model_name=name, input_example=X[:2])
    client = sy.Client(settings=settings)
    before = time.time() * 1000

    deployment = sy.deploy(f"models:/{name}/1", uniq("serves"), pool=pool, settings=settings)
    found = deployments_of(client, name, 1, lambda ds: bool(ds))
    (served,) = found
    assert served.name == deployment.name
    assert served.target == "stable 100 %"
    assert served.state in ("PENDING", "READY")
    assert before - 1000 <= served.since <= time.time() * 1000

    deployment.delete()
    assert deployments_of(client, name, 1, lambda ds: not ds) == []


def changed(kind: EventType, deployment: gpb.Deployment, at_s: float) -> Event:
    """A gateway event as the bus would hand it over, sent at `at_s`."""
    data = ev.DeploymentChanged(deployment=deployment, reason="test")
    event = new_event(kind, deployment.name, data, {})
    return dataclasses.replace(event, time=datetime.fromtimestamp(at_s, UTC))


def revision(number: int, role: str, version: str, percent: float = 0) -> gpb.Revision:
    return gpb.Revision(
        revision=number, role=role, model_name="m", model_version=version, percent=percent
    )


async def test_redelivered_and_late_events_change_nothing(
    switchyard_platform: LocalPlatform, uniq: Callable[..., str]
) -> None:
    settings = switchyard_platform.settings
    async with Database(settings.database_url, settings.schema_for("registry")) as db:
        store = DeploymentStore(db)
        follower = Follower(store, keep_tombstones_s=3600)
        name = uniq("late")
        v1 = gpb.Deployment(
            name=name,
            state=gpb.DEPLOYMENT_PENDING,
            updated_ms=1000,
            revisions=[revision(1, "stable", "1")],
        )
        created = changed(et.DEPLOYMENT_CREATED, v1, 1.0)
        await follower.on_deployment(created)
        canary = gpb.Deployment(
            name=name,
            state=gpb.DEPLOYMENT_READY,
            updated_ms=2000,
            revisions=[revision(1, "stable", "1"), revision(2, "canary", "2", 25)],
        )
        updated = changed(et.DEPLOYMENT_UPDATED, canary, 2.0)
        await follower.on_deployment(updated)
        await follower.on_deployment(created)  # late and redelivered: skipped
        await follower.on_deployment(updated)

        async def rows() -> list[tuple[str, int, str, str, int]]:
            found = await db.pool.fetch(
                "SELECT model_name, model_version, target, state, since_ms"
                " FROM version_deployments WHERE deployment = $1 ORDER BY model_version",
                name,
            )
            return [tuple(r) for r in found]

        assert await rows() == [
            ("m", 1, "stable 75 %", "READY", 1000),  # since: kept from `created`
            ("m", 2, "canary 25 %", "READY", 2000),
        ]
        (one,) = await store.serving("m", 2)
        assert (one.name, one.target, one.since) == (name, "canary 25 %", 2000)

        # Deleted (same updated_ms as the last update, a later event time), then
        # the update again: it stays deleted.
        await follower.on_deployment(changed(et.DEPLOYMENT_DELETED, canary, 3.0))
        await follower.on_deployment(updated)
        assert await rows() == []
        # A new deployment of the same name starts afresh.
        again = gpb.Deployment(
            name=name,
            state=gpb.DEPLOYMENT_PENDING,
            updated_ms=4000,
            revisions=[revision(1, "stable", "2")],
        )
        await follower.on_deployment(changed(et.DEPLOYMENT_CREATED, again, 4.0))
        assert await rows() == [("m", 2, "stable 100 %", "PENDING", 4000)]
        await follower.on_deployment(changed(et.DEPLOYMENT_DELETED, again, 5.0))
