"""Submits from several threads share SubmitJobs calls; each keeps its own outcome and trace."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import pytest

from switchyard import errors
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.sdk.jobs import Job, JobsClient
from switchyard.testing.platform import LocalPlatform


@pytest.fixture
def jobs(switchyard_platform: LocalPlatform) -> Iterator[JobsClient]:
    with JobsClient(settings=switchyard_platform.client_settings()) as client:
        yield client


def rpc_count(platform: LocalPlatform, method: str) -> float:
    with urllib.request.urlopen(platform.bound["scheduler"].http + "/metrics", timeout=5) as r:
        text = r.read().decode()
    key = f'switchyard_rpc_total{{code="OK",method="/switchyard.v1.SchedulerService/{method}"}} '
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(key))


def test_one_call_of_several_submits_each_accepted_or_refused_alone(jobs: JobsClient) -> None:
    pool = f"sub-{uuid4().hex[:6]}"

    def item(queue: str = "default", cpus: float = 1.0, trace: str = "") -> pb.SubmitJobRequest:
        spec = pb.JobSpec(
            command=["true"], pool=pool, queue=queue, resources=pb.Resources(cpus=cpus)
        )
        return pb.SubmitJobRequest(spec=spec, trace={"traceparent": trace} if trace else {})

    traceparent = f"00-{uuid4().hex}-{uuid4().hex[:16]}-01"
    request = pb.SubmitJobsRequest(
        submits=[item(), item(cpus=-1), item(queue="no-such-queue"), item(trace=traceparent)]
    )
    from switchyard.testing.auth import bearer

    metadata = bearer(jobs.transport.settings)
    ok, negative, unknown, traced = jobs._stub.SubmitJobs(
        request, timeout=10, metadata=metadata
    ).results
    assert ok.job.state == pb.JOB_QUEUED and traced.job.state == pb.JOB_QUEUED
    assert (negative.error.code, negative.error.field) == ("INVALID_ARGUMENT", "resources.cpus")
    assert (unknown.error.code, unknown.error.field) == ("INVALID_ARGUMENT", "queue")
    assert "no-such-queue" in unknown.error.message
    assert not negative.HasField("job") and not unknown.HasField("job")
    listed = {j.id for j in jobs.list_jobs(name="true", limit=10_000) if j.spec.pool == pool}
    assert listed == {ok.job.job_id, traced.job.job_id}  # the refused left nothing behind

    import switchyard as sy

    settings = jobs.settings
    for event in sy.events(
        "sy.scheduler.job.queued", deliver="all", timeout=1.0, settings=settings
    ):
        if event.subject == traced.job.job_id:  # its event carries its submitter's trace
            assert event.traceparent == traceparent
            break
    else:
        raise AssertionError("no queued event for the traced job")
    for job_id in listed:
        jobs.get_job(job_id).cancel()


def test_threads_submitting_at_once_share_calls_and_get_their_own_jobs(
    jobs: JobsClient, switchyard_platform: LocalPlatform
) -> None:
    pool = f"sub-{uuid4().hex[:6]}"
    batched_before = rpc_count(switchyard_platform, "SubmitJobs")

    def submit(i: int) -> Job | errors.SwitchyardError:
        queue = "no-such-queue" if i == 37 else "default"
        try:
            return jobs.submit_job(["true"], name=f"t{i}", pool=pool, queue=queue, cpus=0.1)
        except errors.SwitchyardError as exc:
            return exc

    with ThreadPoolExecutor(8) as threads:
        outcomes = list(threads.map(submit, range(80)))
    refused = outcomes.pop(37)
    assert isinstance(refused, errors.InvalidArgument) and refused.field == "queue"
    assert [o.name for o in outcomes] == [f"t{i}" for i in range(80) if i != 37]  # type: ignore[union-attr]
    assert len({o.id for o in outcomes}) == 79  # type: ignore[union-attr]
    assert rpc_count(switchyard_platform, "SubmitJobs") > batched_before
    for job in outcomes:
        job.cancel()  # type: ignore[union-attr]
