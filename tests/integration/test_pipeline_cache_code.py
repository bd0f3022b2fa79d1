"""The pipeline cache sees code: a step's key holds a digest of what it runs.

With real workers: an unchanged pipeline hits the cache on every step; one
edited line of a step's script re-runs that step and the steps downstream
of it, not its siblings; an edited decorated function re-runs its step;
`cache=False` re-runs; each step run shows its key (SDK and CLI).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from uuid import uuid4

import pytest
from test_scheduler_jobs import jobs, start_workers  # noqa: F401  (module fixtures)
from typer.testing import CliRunner

from switchyard.cli.main import app
from switchyard.sdk.jobs import JobsClient, PipelineRun
from switchyard.sdk.scheduler_pipelines import Pipeline, run_pipeline


@pytest.fixture(scope="module")
def pool(start_workers: object) -> str:  # noqa: F811
    name = f"cache-code-{uuid4().hex[:6]}"
    start_workers(name, count=1, cpus=4)  # type: ignore[operator]
    return name


def ran(run: PipelineRun) -> dict[str, bool]:
    """Step -> whether a job ran it (False: served from the cache)."""
    assert run.state == "SUCCEEDED", run.message
    return {s.step: not s.cached for s in run.steps}


def keys(run: PipelineRun) -> dict[str, str]:
    return {s.step: s.cache_key for s in run.steps}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


SCRIPT = """\
echo "step {name} building"
echo '{{"{name}": "{value}"}}' > "$SWITCHYARD_OUTPUTS"
"""


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    for name in "abcd":
        (tmp_path / f"{name}.sh").write_text(SCRIPT.format(name=name, value=name.upper()))
    return tmp_path


def diamond(folder: Path, pool: str) -> Pipeline:
    """a -> (b, c); b -> d: every step runs a script of `folder`, cache on."""
    pipe = Pipeline("cache-code", cache=True)
    options = {"pool": pool, "cpus": 0.5, "workdir": str(folder)}
    a = pipe.step("a", ["sh", "a.sh"], **options)
    b = pipe.step("b", "sh b.sh", inputs={"x": a.output("a")}, **options)
    pipe.step("c", ["sh", "-c", "sh c.sh"], after=[a], **options)
    pipe.step("d", ["sh", "d.sh"], inputs={"y": b.output("b")}, **options)
    return pipe


def test_an_edited_line_reruns_its_step_and_downstream_only(
    jobs: JobsClient,  # noqa: F811
    pool: str,
    scripts: Path,
) -> None:
    first = run_pipeline(diamond(scripts, pool), client=jobs).wait(timeout=60)
    assert ran(first) == {"a": True, "b": True, "c": True, "d": True}
    assert first.outputs("d") == [{"d": "D"}]

    same = run_pipeline(diamond(scripts, pool), client=jobs).wait(timeout=60)
    assert ran(same) == {"a": False, "b": False, "c": False, "d": False}
    assert keys(same) == keys(first)
    assert same.outputs("d") == first.outputs("d")

    # A line that changes no output: d's inputs stay, yet it is downstream of b.
    edit(scripts / "b.sh", "step b building", "step b building, edited")
    edited = run_pipeline(diamond(scripts, pool), client=jobs).wait(timeout=60)
    assert ran(edited) == {"a": False, "b": True, "c": False, "d": True}
    changed = {s for s in "abcd" if keys(edited)[s] != keys(first)[s]}
    assert changed == {"b", "d"}
    assert "edited" in jobs.get_job(next(s.job_id for s in edited.steps if s.step == "b")).logs()

    again = run_pipeline(diamond(scripts, pool), client=jobs).wait(timeout=60)
    assert ran(again) == {"a": False, "b": False, "c": False, "d": False}


def test_cache_false_per_run_and_per_step_reruns(
    jobs: JobsClient,  # noqa: F811
    pool: str,
    scripts: Path,
) -> None:
    first = run_pipeline(diamond(scripts, pool), client=jobs).wait(timeout=60)
    assert all(ran(first).values())
    fresh = run_pipeline(diamond(scripts, pool), cache=False, client=jobs).wait(timeout=60)
    assert ran(fresh) == {"a": True, "b": True, "c": True, "d": True}
    assert keys(fresh) == keys(first)  # the key is there, only not used

    pipe = diamond(scripts, pool)
    pipe.steps[2].cache = False  # c
    per_step = run_pipeline(pipe, client=jobs).wait(timeout=60)
    assert ran(per_step) == {"a": False, "b": False, "c": True, "d": False}


def test_the_key_is_shown_per_step(
    jobs: JobsClient,  # noqa: F811
    pool: str,
    scripts: Path,
) -> None:
    run = run_pipeline(diamond(scripts, pool), client=jobs).wait(timeout=60)
    assert all(len(k) == 64 for k in keys(run).values())
    assert len(set(keys(run).values())) == 4
    home = str(jobs.settings.home)
    shown = CliRunner(env={"SWITCHYARD_HOME": home, "COLUMNS": "250"}).invoke(
        app, ["pipelines", "show", run.id]
    )
    assert shown.exit_code == 0, shown.output
    assert "key" in shown.output
    for key in keys(run).values():
        assert key[:12] in shown.output


FLOW = """\
import switchyard as sy


@sy.step(cpus=0.5, cache=True)
def make() -> dict:
    return {"ver": "v1"}


@sy.step(cpus=0.5, cache=True)
def other() -> dict:
    return {"n": 1}
"""


def test_an_edited_function_body_reruns_its_step(
    jobs: JobsClient,  # noqa: F811
    pool: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"flow_{uuid4().hex[:8]}"
    source = tmp_path / f"{name}.py"
    source.write_text(FLOW)
    monkeypatch.syspath_prepend(str(tmp_path))
    flow = importlib.import_module(name)  # imported once: the client never reloads it
    for fn in (flow.make, flow.other):
        fn.options.update(pool=pool, workdir=str(tmp_path))

    def build() -> Pipeline:
        with Pipeline("edited-function") as pipe:
            flow.make()
            flow.other()
        return pipe

    first = run_pipeline(build(), client=jobs).wait(timeout=60)
    assert ran(first) == {"make": True, "other": True}
    assert first.outputs("make") == [{"ver": "v1"}]
    same = run_pipeline(build(), client=jobs).wait(timeout=60)
    assert ran(same) == {"make": False, "other": False}

    # The report's case: the body changed, and the cache served the old result.
    edit(source, '{"ver": "v1"}', '{"ver": "v2-edited"}')  # a new size: no stale .pyc
    edited = run_pipeline(build(), client=jobs).wait(timeout=60)
    assert ran(edited) == {"make": True, "other": False}
    assert edited.outputs("make") == [{"ver": "v2-edited"}]
