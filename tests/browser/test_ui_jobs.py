"""Jobs and pipelines in Chromium: filters, a job's live log, cancel, a pipeline's DAG.

The jobs run on a real worker of this module's own pool; the jobs the
filters read are queued on a pool no worker serves, so they never start.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_browser import assert_fits, assert_not_found, held_streams

from switchyard.sdk.jobs import Job, JobsClient
from switchyard.sdk.scheduler_pipelines import Pipeline, run_pipeline
from switchyard.testing.platform import LocalPlatform
from switchyard.testing.workers import WorkerProcess, new_pool

PY = sys.executable


@pytest.fixture(scope="module")
def jobs(switchyard_platform: LocalPlatform) -> Iterator[JobsClient]:
    with JobsClient(settings=switchyard_platform.client_settings()) as client:
        yield client


@pytest.fixture(scope="module")
def pool(switchyard_workers: Callable[..., list[WorkerProcess]]) -> str:
    return switchyard_workers(new_pool("ui-jobs"), cpus=2)[0].pool


@pytest.fixture(scope="module")
def queued(jobs: JobsClient, uniq: Callable[..., str]) -> Iterator[dict[str, Any]]:
    """Three jobs that stay QUEUED: two in a queue of their own, one in the default queue."""
    queue, idle_pool = uniq("q"), new_pool("nobody")
    jobs.put_queue(queue, max_cpus=8)
    made = [
        jobs.submit_job("true", name=uniq("alpha"), queue=queue, pool=idle_pool, cpus=0.5),
        jobs.submit_job("true", name=uniq("beta"), queue=queue, pool=idle_pool, memory="2g"),
        jobs.submit_job("true", name=uniq("gamma"), pool=idle_pool),
    ]
    yield {"queue": queue, "pool": idle_pool, "jobs": made}
    for job in made:
        job.cancel()


def wait_logs(job: Job, text: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while text not in job.logs():
        assert time.monotonic() < deadline, f"{text!r} never in the logs of {job}"
        time.sleep(0.05)


def started(jobs: JobsClient, pool: str, name: str, go: Path, then: str) -> Job:
    """A job that prints 'started', waits for the file `go`, then runs `then`;
    returned once 'started' is in its log."""
    script = (
        "import os, time\n"
        "print('started', flush=True)\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.02)\n"
        f"{then}\n"
    )
    job = jobs.submit_job([PY, "-c", script], pool=pool, name=name, cpus=0.5)
    wait_logs(job, "started")
    return job


def rows(page: Any) -> list[str]:
    return page.locator("#jobs tbody tr[data-job]").evaluate_all("rs => rs.map(r => r.dataset.job)")


def test_filters_narrow_the_jobs_table(page: Any, queued: dict[str, Any]) -> None:
    alpha, beta, _ = queued["jobs"]
    page.goto(f"/jobs?queue={queued['queue']}")
    assert sorted(rows(page)) == sorted([alpha.id, beta.id])
    row = page.locator(f'tr[data-job="{alpha.id}"]')
    assert "QUEUED" in row.inner_text() and "0.5 CPU" in row.inner_text()
    assert queued["pool"] in row.inner_text()
    assert "2.0 GB" in page.locator(f'tr[data-job="{beta.id}"]').inner_text()

    page.fill("#name", beta.name)  # the form: the filters keep their values, the URL has them
    page.press("#name", "Enter")
    page.wait_for_function("document.querySelectorAll('#jobs tbody tr[data-job]').length === 1")
    assert rows(page) == [beta.id] and "name=" in page.url

    page.select_option("#state", "SUCCEEDED")
    page.get_by_role("button", name="Filter").click()
    page.locator("#jobs td.empty").wait_for()
    assert "state=SUCCEEDED" in page.url

    page.goto("/jobs?state=NOPE")
    assert "unknown state" in page.get_by_role("alert").inner_text()


def test_a_job_page_streams_its_log_and_cancels_from_the_keyboard(
    page: Any, jobs: JobsClient, pool: str, tmp_path: Path, uniq: Callable[..., str]
) -> None:
    go = tmp_path / "go"
    then = "for i in range(100000): print(f'tick {i}', flush=True); time.sleep(0.1)"
    job = started(jobs, pool, uniq("ticker"), go, then)
    page.goto(f"/jobs/{job.id}")
    log = page.locator("#job-log")
    assert "started" in log.inner_text() and "tick" not in log.inner_text()
    assert page.locator("#job-state").inner_text() == "RUNNING"
    page.wait_for_selector("#job-log[data-stream=live]")  # subscribed, and caught up
    began = time.monotonic()
    go.touch()  # the job prints from now on, into the open page
    page.wait_for_function(
        "document.querySelector('#job-log').textContent.includes('tick 1')", timeout=2000
    )
    print(f"printed -> in the page: {(time.monotonic() - began) * 1000:.0f} ms")

    for _ in range(20):  # Tab from the top of the page to the cancel button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Cancel job":
            break
    with page.expect_navigation(url=f"**/jobs/{job.id}"):
        page.keyboard.press("Enter")  # POST, then 303 back to the job
    page.wait_for_function(
        "document.querySelector('#job-state').textContent === 'CANCELLED'", timeout=10_000
    )
    assert page.locator("#cancel-job").count() == 0  # a final job has nothing to cancel
    assert job.refresh().state == "CANCELLED"


def test_what_happens_before_the_stream_opens_still_reaches_the_page(
    page: Any, jobs: JobsClient, pool: str, tmp_path: Path, uniq: Callable[..., str]
) -> None:
    """The job prints its last lines and ends between the render and the stream's
    first byte: the catch-up shows both, so the page never stays RUNNING."""
    go = tmp_path / "go"
    job = started(jobs, pool, uniq("brief"), go, "print('late line', flush=True)")
    with held_streams(page) as held:
        page.goto(f"/jobs/{job.id}")
        assert page.locator("#job-state").inner_text() == "RUNNING"
        held.wait_asked()
        go.touch()
        assert job.wait(timeout=20).state == "SUCCEEDED"
    page.wait_for_function(
        "document.querySelector('#job-state').textContent === 'SUCCEEDED'", timeout=5_000
    )
    assert "late line" in page.locator("#job-log").inner_text()
    assert page.locator("#cancel-job").count() == 0


def test_a_pipeline_page_draws_the_dag_with_states_and_cache_hits(
    page: Any, jobs: JobsClient, pool: str, uniq: Callable[..., str]
) -> None:
    salt = uniq("salt")  # a fresh cache key: the first run computes, the second reuses

    def build() -> Pipeline:
        pipe = Pipeline(uniq("pipe"))
        make = pipe.step(
            "make",
            ["sh", "-c", f"echo {salt}; echo '{{\"xs\": [1, 2]}}' > $SWITCHYARD_OUTPUTS"],
            pool=pool,
            cpus=0.5,
            cache=True,
        )
        pipe.step("double", ["echo", "{{item}}"], for_each=make.output("xs"), pool=pool, cpus=0.5)
        pipe.step("report", ["echo", "done"], after=["double"], pool=pool, cpus=0.5)
        return pipe

    first = run_pipeline(build(), client=jobs).wait(timeout=60)
    assert first.state == "SUCCEEDED", first.message
    second = run_pipeline(build(), client=jobs)
    page.goto(f"/pipelines/{second.id}")  # opened while it runs: the panel follows it
    page.wait_for_function(
        "document.querySelector('#pipeline-state').textContent === 'SUCCEEDED'", timeout=30_000
    )
    columns = page.locator("#dag .dag-column").evaluate_all(
        "cs => cs.map(c => [...c.querySelectorAll('li.step')].map(s => s.dataset.step))"
    )
    assert columns == [["make"], ["double"], ["report"]]
    states = page.locator("li.step").evaluate_all("ss => ss.map(s => s.dataset.state)")
    assert states == ["SUCCEEDED"] * 3
    assert page.locator('li.step[data-step="make"] .cached').count() == 1
    assert page.locator('li.step[data-step="double"] .cached').count() == 0
    assert page.locator("#dag[data-edges='2'] svg.edges path[data-from]").count() == 2
    assert page.locator('li.step[data-step="double"] .members li').count() == 2
    made = next(s for s in second.wait(timeout=30).steps if s.step == "make")
    key = made.cache_key[:12]  # each step's cache key, as the SDK has it
    assert page.locator('li.step[data-step="make"] code.key').inner_text() == f"key {key}"

    page.get_by_role("link", name="job of report").click()
    page.wait_for_url("**/jobs/*")
    assert "done" in page.locator("#job-log").inner_text()
    assert page.locator("#job-state").inner_text() == "SUCCEEDED"

    page.goto("/pipelines")
    page.get_by_role("link", name=first.name).first.wait_for()


def test_queues_and_workers_show_quotas_use_and_running_jobs(
    page: Any, jobs: JobsClient, pool: str, queued: dict[str, Any], uniq: Callable[..., str]
) -> None:
    page.goto("/jobs")
    page.get_by_role("navigation", name="Jobs").get_by_role("link", name="Queues").click()
    row = page.locator(f'#queues tr[data-queue="{queued["queue"]}"]')
    assert row.locator(".cpus").inner_text().strip() == "0 of 8"
    assert row.locator(".waiting").inner_text() == "2"
    row.locator(".waiting a").click()  # its waiting jobs, in the jobs table
    page.wait_for_url("**/jobs?queue=*state=QUEUED")
    assert len(rows(page)) == 2

    job = jobs.submit_job(
        [PY, "-c", "import time; time.sleep(60)"], pool=pool, name=uniq("sleeper"), cpus=0.5
    )
    try:
        deadline = time.monotonic() + 20
        while job.refresh().state != "RUNNING":
            assert time.monotonic() < deadline, f"{job} never started"
            time.sleep(0.05)
        page.goto(f"/jobs/workers?pool={pool}")
        assert page.locator(f'#pools tr[data-pool="{pool}"]').inner_text().count("0.5 of 2") == 1
        page.locator("#workers").get_by_role("link", name=job.name).click()
        page.wait_for_url(f"**/jobs/{job.id}")
    finally:
        job.cancel()
    page.goto("/jobs/workers?pool=Not%20A%20Pool")
    assert "pool" in page.get_by_role("alert").inner_text()


def test_unknown_jobs_and_pipelines_get_the_404_page(page: Any) -> None:
    paths = ("/jobs/nope", f"/jobs/{'0' * 32}", "/pipelines/x", f"/pipelines/{'0' * 32}")
    assert_not_found(page, paths)


def test_a_narrow_window_scrolls_the_tables_not_the_page(
    narrow: Any, queued: dict[str, Any]
) -> None:
    paths = ("/jobs", f"/jobs/{queued['jobs'][0].id}", "/jobs/queues", "/jobs/workers")
    for path in (*paths, "/pipelines"):
        assert_fits(narrow, path)


def test_a_paused_queue_shows_paused_with_its_limits(
    page: Any, jobs: JobsClient, uniq: Callable[..., str]
) -> None:
    name = uniq("paused")
    jobs.create_queue(name, max_cpus=2, max_memory="1G", max_jobs=3)
    jobs.pause_queue(name)
    page.goto("/jobs/queues")
    row = page.locator(f'#queues tr[data-queue="{name}"]')
    assert "PAUSED" in row.inner_text()
    assert row.locator(".memory").inner_text().strip() == "0 of 1024"
    assert "of 3" in row.locator(".active").inner_text()


def test_a_reruns_run_page_shows_its_job_origin_code_and_environment(
    page: Any, jobs: JobsClient, pool: str, uniq: Callable[..., str], tmp_path: Path
) -> None:
    (tmp_path / "train.py").write_text("print('trained')\n")
    first = jobs.submit_job(
        [PY, "train.py"], workdir=str(tmp_path), pool=pool, cpus=0.5, experiment=uniq("rerun")
    )
    first.wait(timeout=30)
    again = jobs.rerun(first.id)
    again.wait(timeout=30)
    assert again.state == "SUCCEEDED", again.logs()
    page.goto(f"/runs/{again.run_id}")
    origin = page.locator("#rerun-of")
    assert origin.inner_text() == f"job {first.id}"
    assert page.locator("#code-version").inner_text().startswith("files:")
    assert "train.py" in page.locator(".facts").inner_text()
    origin.click()
    page.wait_for_url(f"**/jobs/{first.id}")
