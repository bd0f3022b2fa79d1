"""What a job ran, recorded in its run; reruns with the same code; every gang rank tracked.

Workers are real `switchyard worker` processes; the jobs run real git work
trees made in tmp folders.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from switchyard import errors
from switchyard.sdk.client import Client
from switchyard.sdk.jobs import JobsClient
from switchyard.testing.platform import LocalPlatform

PY = sys.executable
TRAIN = """\
import os, random
import switchyard as sy

seed = int(os.environ.get("SEED", "1"))
rng = random.Random(seed)
lr = float(os.environ.get("LR", "0.1"))
sy.log_params({"seed": seed, "lr": lr})
loss = 1.0
for step in range(20):
    loss *= 1 - lr * rng.random()
    sy.log_metric("loss", loss, step=step)
sy.flush()
print("final", loss)
"""


@pytest.fixture(scope="module")
def pool(switchyard_workers: object) -> str:
    name = f"prov-{uuid4().hex[:6]}"
    switchyard_workers(name, count=2, cpus=2)  # type: ignore[operator]
    return name


@pytest.fixture(scope="module")
def jobs(switchyard_platform: LocalPlatform) -> Iterator[JobsClient]:
    with JobsClient(settings=switchyard_platform.client_settings()) as client:
        yield client


@pytest.fixture(scope="module")
def tracking(switchyard_platform: LocalPlatform) -> Iterator[Client]:
    with Client(settings=switchyard_platform.client_settings()) as client:
        yield client


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "requirements.txt").write_text("numpy\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "first")
    return tmp_path


def test_a_jobs_run_records_code_environment_command_and_resources(
    jobs: JobsClient, tracking: Client, pool: str, repo: Path
) -> None:
    job = jobs.submit_job(
        [PY, "train.py"], workdir=str(repo), pool=pool, experiment=f"prov-{uuid4().hex[:6]}"
    )
    job.wait(timeout=60)
    assert job.state == "SUCCEEDED", job.logs()
    tags = tracking.get_run(job.run_id).data.tags
    commit = git(repo, "rev-parse", "HEAD")
    assert tags["mlflow.source.git.commit"] == commit
    assert tags["switchyard.code.version"] == f"git:{commit}"
    assert "switchyard.code.dirty" not in tags
    assert tags["switchyard.command"] == f"{PY} train.py"
    assert tags["mlflow.source.type"] == "JOB"
    assert tags["switchyard.resources"] == "cpus=1 gpus=0 memory_mb=0"
    assert tags["switchyard.pool"] == pool and tags["switchyard.rank"] == "0"
    assert tags["switchyard.python"].startswith(f"{sys.version_info[0]}.{sys.version_info[1]}.")
    assert len(tags["switchyard.env.digest"]) == 64
    assert "switchyard.env.lock.requirements.txt" in tags
    files = {f.path for f in tracking.list_artifacts(job.run_id, "environment")}
    assert files == {"environment/pip-freeze.txt", "environment/requirements.txt"}
    freeze = tracking.download_artifacts(job.run_id, "environment/pip-freeze.txt")
    assert "grpcio==" in Path(freeze).read_text()


def test_uncommitted_changes_make_a_dirty_version(
    jobs: JobsClient, tracking: Client, pool: str, repo: Path
) -> None:
    (repo / "notes.txt").write_text("untracked\n")
    job = jobs.submit_job([PY, "train.py"], workdir=str(repo), pool=pool, experiment="prov-dirty")
    job.wait(timeout=60)
    tags = tracking.get_run(job.run_id).data.tags
    commit = git(repo, "rev-parse", "HEAD")
    assert tags["switchyard.code.version"] == (
        f"git:{commit}+dirty:{tags['switchyard.code.dirty'][:12]}"
    )


def test_outside_git_the_version_is_a_digest_of_the_files_the_command_names(
    jobs: JobsClient, tracking: Client, pool: str, tmp_path: Path
) -> None:
    (tmp_path / "train.py").write_text(TRAIN)
    first = jobs.submit_job(
        [PY, "train.py"], workdir=str(tmp_path), pool=pool, experiment="prov-files"
    )
    first.wait(timeout=60)
    (tmp_path / "train.py").write_text(TRAIN + "# one more line\n")
    second = jobs.submit_job(
        [PY, "train.py"], workdir=str(tmp_path), pool=pool, experiment="prov-files"
    )
    second.wait(timeout=60)
    versions = [
        tracking.get_run(j.run_id).data.tags["switchyard.code.version"] for j in (first, second)
    ]
    assert all(v.startswith("files:") for v in versions)
    assert versions[0] != versions[1]


def test_a_rerun_reproduces_params_and_final_metrics_and_links_the_runs(
    jobs: JobsClient, tracking: Client, pool: str, repo: Path
) -> None:
    job = jobs.submit_job(
        [PY, "train.py"],
        workdir=str(repo),
        pool=pool,
        env={"SEED": "7"},
        experiment=f"rerun-{uuid4().hex[:6]}",
    )
    job.wait(timeout=60)
    again = jobs.rerun(job.id)
    again.wait(timeout=60)
    assert again.state == "SUCCEEDED", again.logs()
    old, new = tracking.get_run(job.run_id), tracking.get_run(again.run_id)
    assert new.data.params == old.data.params == {"seed": "7", "lr": "0.1"}
    assert new.data.metrics == old.data.metrics
    assert new.data.tags["switchyard.rerun_of"] == job.id
    assert new.data.tags["switchyard.code.version"] == old.data.tags["switchyard.code.version"]
    assert again.spec.rerun_of == job.id

    changed = jobs.rerun(job.id, env={"LR": "0.2"}, name="lr-0.2")
    changed.wait(timeout=60)
    params = tracking.get_run(changed.run_id).data.params
    assert params == {"seed": "7", "lr": "0.2"} and changed.name == "lr-0.2"


def test_a_rerun_refuses_other_code_unless_allowed(
    jobs: JobsClient, tracking: Client, pool: str, repo: Path
) -> None:
    job = jobs.submit_job([PY, "train.py"], workdir=str(repo), pool=pool, experiment="rerun-code")
    job.wait(timeout=60)
    (repo / "train.py").write_text(TRAIN.replace("1 - lr", "1 - 2 * lr"))
    refused = jobs.rerun(job.id)
    refused.wait(timeout=60)
    assert refused.state == "FAILED"
    assert "the code differs from what job" in refused.message
    assert f"git:{git(repo, 'rev-parse', 'HEAD')}+dirty:" in refused.message
    assert "allow_code_change" in refused.message
    assert "switchyard: could not start the job" in refused.logs()

    allowed = jobs.rerun(job.id, allow_code_change=True)
    allowed.wait(timeout=60)
    assert allowed.state == "SUCCEEDED", allowed.logs()
    tags = tracking.get_run(allowed.run_id).data.tags
    assert "+dirty:" in tags["switchyard.code.version"]


def test_rerun_of_an_unknown_job_or_a_bad_override(jobs: JobsClient) -> None:
    with pytest.raises(errors.NotFound):
        jobs.rerun(uuid4().hex)
    with pytest.raises(errors.InvalidArgument, match="job_id"):
        jobs.rerun("not-an-id")
    job = jobs.submit_job("true", pool="nobody-here")
    with pytest.raises(errors.InvalidArgument, match="colour"):
        jobs.rerun(job.id, colour="red")
    job.cancel()


def test_every_gang_rank_logs_into_a_child_of_the_jobs_run(
    jobs: JobsClient, tracking: Client, pool: str
) -> None:
    script = (
        "import os, switchyard as sy; r = int(os.environ['RANK']);"
        " sy.log_metric('rank_loss', 1.0 + r, step=r); sy.flush(); print('rank', r, 'done')"
    )
    experiment = f"gang-{uuid4().hex[:6]}"
    job = jobs.submit_job([PY, "-c", script], pool=pool, gang_size=2, experiment=experiment)
    job.wait(timeout=60)
    assert job.state == "SUCCEEDED", job.logs()
    parent = tracking.get_run(job.run_id)
    assert parent.data.metrics["rank_loss"] == 1.0
    exp = tracking.get_experiment_by_name(experiment)
    assert exp is not None
    runs = tracking.search_runs(exp.experiment_id)
    assert len(runs) == 2  # the job's run and rank 1's: no stray run
    child = next(r for r in runs if r.info.run_id != job.run_id)
    assert child.data.tags["mlflow.parentRunId"] == job.run_id
    assert child.data.tags["switchyard.rank"] == "1"
    assert child.data.metrics["rank_loss"] == 2.0
    assert child.info.status == "FINISHED"
    for run_id, rank in ((job.run_id, 0), (child.info.run_id, 1)):
        (log,) = tracking.list_artifacts(run_id, "logs")
        text = Path(tracking.download_artifacts(run_id, log.path)).read_text()
        assert f"rank {rank} done" in text
