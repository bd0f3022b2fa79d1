"""Bad input to the SDK raises the error tree's InvalidArgument (a ValueError too),
before anything is sent: never a bare TypeError, ValueError or KeyError."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.errors import FailedPrecondition, InvalidArgument
from switchyard.sdk import fluent
from switchyard.sdk.jobs import parse_memory_mb

NOWHERE = "127.0.0.1:1"  # nothing listens: a call that got sent would fail otherwise


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, address=NOWHERE)


@pytest.fixture
def client(settings: Settings) -> Iterator[sy.Client]:
    with sy.Client(settings=settings, timeout=2) as c:
        yield c


@pytest.fixture
def jobs(settings: Settings) -> Iterator[sy.JobsClient]:
    with sy.JobsClient(settings=settings, timeout=2) as c:
        yield c


def _bad(call: Callable[[], Any], field: str | None = None) -> None:
    with pytest.raises(InvalidArgument) as caught:
        call()
    assert isinstance(caught.value, ValueError)
    if field is not None:
        assert caught.value.field == field, caught.value


def test_tracking_arguments(client: sy.Client) -> None:
    _bad(lambda: client.search_runs(["1"], run_view_type="bogus"), "run_view_type")
    _bad(lambda: client.search_runs(["1"], run_view_type=99), "run_view_type")
    _bad(lambda: client.search_experiments(view_type="nope"), "view_type")
    _bad(lambda: client.get_run(123))  # type: ignore[arg-type]
    _bad(lambda: client.create_run(start_time="soon"))  # type: ignore[arg-type]
    _bad(lambda: client.create_experiment("x", tags=["a"]), "tags")  # type: ignore[arg-type]
    _bad(lambda: client.update_run("r", status="DONE"), "status")
    _bad(lambda: client.log_metric("r", "k", "abc"), "value")  # type: ignore[arg-type]
    _bad(lambda: client.log_metric("r", "k", None, synchronous=False), "value")  # type: ignore[arg-type]
    _bad(lambda: client.log_batch("r", params=[1, 2]), "params")
    _bad(lambda: client.log_inputs("r", [object()]), "datasets")


def test_registry_arguments(client: sy.Client) -> None:
    _bad(lambda: client.get_model_version("m", "one"), "version")
    _bad(lambda: client.get_model_version_download_uri("m"), "version")
    _bad(lambda: client.create_registered_model("m", tags=7))  # type: ignore[arg-type]


def test_job_arguments(jobs: sy.JobsClient) -> None:
    for memory in ("lots", "infG", 1.5, [1]):
        _bad(lambda memory=memory: parse_memory_mb(memory), "memory")  # type: ignore[misc]
    assert parse_memory_mb("4Gi") == 4096 and parse_memory_mb("512M") == 512
    _bad(lambda: jobs.submit_job("true", memory="x"), "memory")
    _bad(lambda: jobs.submit_job("true", cpus="two"))  # type: ignore[arg-type]
    _bad(lambda: jobs.submit_job(123))  # type: ignore[arg-type]
    _bad(lambda: jobs.list_jobs(states=["DONE"]), "states")


async def test_async_job_arguments(settings: Settings) -> None:
    async with sy.AsyncJobsClient(settings=settings, timeout=2) as jobs:
        with pytest.raises(InvalidArgument):
            await jobs.submit_job("true", memory="a lot")
        with pytest.raises(InvalidArgument):
            await jobs.list_jobs(states=["SLEEPING"])
    async with sy.AsyncClient(settings=settings, timeout=2) as client:
        with pytest.raises(InvalidArgument):
            await client.search_runs(["1"], run_view_type="bogus")


def test_pipeline_arguments() -> None:
    pipe = sy.Pipeline("p")
    _bad(lambda: pipe.step("s", ["true"], inputs={"x": object()}), "inputs")
    _bad(lambda: pipe.step("s", ["true"], no_such_option=1))

    @sy.step()
    def lonely() -> dict[str, int]:
        return {}

    with pytest.raises(FailedPrecondition):
        lonely()


def test_fluent_arguments(settings: Settings) -> None:
    fluent.reset(settings)
    try:
        _bad(lambda: sy.set_experiment(), "experiment_name")
        _bad(lambda: sy.log_input(object()), "dataset")
        _bad(lambda: sy.search_runs(["1"], experiment_names=["x"]), "experiment_names")
    finally:
        fluent.reset()


def test_event_arguments() -> None:
    _bad(lambda: sy.events(123), "subject")  # type: ignore[arg-type]
    _bad(lambda: sy.events("tracking.run.finished"), "subject")
    _bad(lambda: sy.events(sy.event_types.RUN_FINISHED, deliver="later"), "deliver")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        sy.event_types.NO_SUCH_EVENT  # noqa: B018


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb"])
def test_lone_surrogates_are_invalid_arguments(
    client: sy.Client, jobs: sy.JobsClient, text: str
) -> None:
    # Protobuf cannot encode them as UTF-8; the SDK says so before sending anything.
    _bad(lambda: client.create_experiment(text))
    _bad(lambda: client.log_param("0" * 32, text, "v"))
    _bad(lambda: client.set_tag("0" * 32, "k", text))
    _bad(lambda: client.search_runs(["0"], f"params.p = '{text}'"))
    _bad(lambda: client.create_registered_model(text))
    _bad(lambda: jobs.submit_job(["echo", text]))
