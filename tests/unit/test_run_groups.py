"""Which groups of pipelined writes may be applied kind by kind (creations, then
batches, then ends) without changing any run's order or meaning."""

from __future__ import annotations

import uuid

from switchyard.services.tracking.run_groups import phased
from switchyard.services.tracking.writes import Batch, NewRun, Update

A, B = uuid.uuid4(), uuid.uuid4()


def new(run: uuid.UUID) -> NewRun:
    return NewRun(run, 1, "n", "", 1, {}, None)


def log(run: uuid.UUID, params: dict[str, str] | None = None, **tags: str) -> Batch:
    return Batch(run, [], params or {}, tags)


def end(run: uuid.UUID, name: str | None = None) -> Update:
    return Update(run, "FINISHED", None, name)


def test_fluent_runs_interleaved_are_phased() -> None:
    assert phased([new(A), log(A, {"p": "1"}), new(B), log(A), end(A), log(B), end(B)])
    assert phased([log(A, {"p": "1"}), log(A, {"q": "2"}), end(A)])  # runs made before
    assert phased([])


def test_an_order_the_phases_would_change_is_not() -> None:
    assert not phased([end(A), log(A)])  # logged after its end
    assert not phased([log(A), new(A)])  # a batch before its run exists
    assert not phased([new(A), new(A)])  # made twice: the second must be refused alone
    assert not phased([end(A), end(A)])


def test_a_key_twice_or_a_rename_is_not() -> None:
    assert not phased([log(A, {"p": "1"}), log(A, {"p": "2"})])  # the second is refused
    assert not phased([log(A, t="1"), log(A, t="2")])  # the last tag value wins
    assert phased([log(A, {"k": "1"}), log(A, k="tag")])  # a param and a tag may share a key
    assert not phased([log(A, **{"mlflow.runName": "x"})])
    assert not phased([new(A), end(A, name="renamed")])
