"""The blocking and asyncio clients cannot drift: same public methods, same signatures."""

from __future__ import annotations

import inspect
import re

import pytest

import switchyard as sy

# What the async twin's annotations may say differently: Async* types, async iterables.
_ASYNC = re.compile(r"\bAsync(?=[A-Z])")


def _methods(cls: type) -> dict[str, inspect.Signature]:
    found = {}
    for name in dir(cls):
        member = inspect.getattr_static(cls, name)
        if name.startswith("_") or not inspect.isfunction(member):
            continue
        found[name] = inspect.signature(member)
    return found


def _shape(signature: inspect.Signature) -> tuple[object, ...]:
    params = tuple(
        (p.name, p.kind, p.default, _ASYNC.sub("", str(p.annotation)))
        for p in signature.parameters.values()
    )
    return params, _ASYNC.sub("", str(signature.return_annotation))


@pytest.mark.parametrize(
    ("blocking", "asynchronous"),
    [(sy.Client, sy.AsyncClient), (sy.JobsClient, sy.AsyncJobsClient)],
)
def test_same_methods_and_signatures(blocking: type, asynchronous: type) -> None:
    sync_methods, async_methods = _methods(blocking), _methods(asynchronous)
    assert sorted(sync_methods) == sorted(async_methods)
    for name, signature in sync_methods.items():
        assert _shape(signature) == _shape(async_methods[name]), name


@pytest.mark.parametrize("cls", [sy.AsyncClient, sy.AsyncJobsClient])
def test_async_methods_are_coroutines_or_async_iterators(cls: type) -> None:
    for name in _methods(cls):
        method = getattr(cls, name)
        assert inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method), name


def test_the_old_gaps_are_closed() -> None:
    assert callable(sy.Client.stream_metrics)
    assert inspect.iscoroutinefunction(sy.AsyncClient.log_text)
    for cls in (sy.JobsClient, sy.AsyncJobsClient):
        for name in ("cancel_job", "get_job_logs", "follow_job_logs", "run_pipeline"):
            assert hasattr(cls, name), (cls, name)
