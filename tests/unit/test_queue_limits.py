"""Queue limits as admission applies them, and the words a refused submit reads."""

from __future__ import annotations

import pytest

from switchyard.errors import InvalidArgument
from switchyard.sdk.jobs import UNCHANGED
from switchyard.sdk.jobs._queues import create_request, update_request
from switchyard.services.scheduler.admission import Cluster, Need, Pending, Quota, Slot


def pending(job_id: str, queue: str = "q", cpus: float = 1, memory_mb: int = 0) -> Pending:
    return Pending(job_id, queue, "p", Need(cpus, memory_mb, 0), 1)


def test_a_paused_queue_admits_nothing_and_others_go_on() -> None:
    cluster = Cluster(pools={"p": [Slot("w", 8, 8192, 0)]})
    cluster.quotas = {"q": Quota(paused=True), "r": Quota()}
    admitted = cluster.admit([pending("a"), pending("b", queue="r")])
    assert [p.job_id for p in admitted] == ["b"]


def test_memory_and_job_count_limits_hold_jobs_back() -> None:
    cluster = Cluster(pools={"p": [Slot("w", 8, 8192, 0)]})
    cluster.quotas = {"mem": Quota(max_memory_mb=1024), "two": Quota(max_jobs=2)}
    jobs = [pending(f"m{i}", "mem", memory_mb=768) for i in range(2)]
    jobs += [pending(f"t{i}", "two", cpus=0.5) for i in range(3)]
    assert [p.job_id for p in cluster.admit(jobs)] == ["m0", "t0", "t1"]


@pytest.mark.parametrize(
    ("quota", "need", "count", "field", "message"),
    [
        (
            Quota(max_cpus=1),
            Need(2, 0, 0),
            1,
            "resources.cpus",
            "needs 2 CPUs; queue 'q' allows at most 1",
        ),
        (
            Quota(max_cpus=3),
            Need(2, 0, 0),
            2,
            "gang_size",
            "needs 4 CPUs (2 processes of 2 CPUs each); queue 'q' allows at most 3",
        ),
        (
            Quota(max_memory_mb=1024),
            Need(1, 2048, 0),
            1,
            "resources.memory_mb",
            "needs 2 GB of memory; queue 'q' allows at most 1 GB",
        ),
        (
            Quota(max_gpus=1),
            Need(1, 0, 2),
            1,
            "resources.gpus",
            "needs 2 GPUs; queue 'q' allows at most 1",
        ),
    ],
)
def test_a_job_larger_than_its_queue_is_refused_in_words(
    quota: Quota, need: Need, count: int, field: str, message: str
) -> None:
    refused = quota.refusal("q", need, count)
    assert refused is not None and (refused.field, refused.message) == (field, message)
    assert "Need(" not in refused.message


def test_a_job_within_every_limit_is_not_refused() -> None:
    quota = Quota(max_cpus=4, max_gpus=2, max_memory_mb=4096, max_jobs=1, paused=True)
    assert quota.refusal("q", Need(2, 2048, 1, "a100"), 2) is None


def test_need_in_words() -> None:
    assert Need(1, 0, 0).words() == "1 CPU"
    assert Need(0.5, 1536, 2, "a100").words() == "0.5 CPUs, 1.5 GB of memory and 2 GPUs (a100)"


def test_sdk_limits_none_zero_and_sizes() -> None:
    req = create_request("q", None, 2, "4G", None)
    assert (req.max_cpus, req.max_gpus, req.max_memory_mb, req.max_jobs) == (0, 2, 4096, 0)
    for bad in (0, -1, "x", float("nan"), True):
        with pytest.raises(InvalidArgument) as err:
            create_request("q", bad, None, None, None)
        assert err.value.field == "max_cpus"
    with pytest.raises(InvalidArgument) as err:
        create_request("q", None, None, "lots", None)
    assert err.value.field == "max_memory"
    with pytest.raises(InvalidArgument):
        create_request("q", None, 1.5, None, None)
    update = update_request("q", UNCHANGED, None, UNCHANGED, 3)
    assert not update.HasField("max_cpus") and not update.HasField("paused")
    assert update.HasField("max_gpus") and update.max_gpus == 0  # lifted
    assert update.max_jobs == 3
    assert update_request("q", UNCHANGED, UNCHANGED, UNCHANGED, UNCHANGED, True).paused
