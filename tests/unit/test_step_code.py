"""The digest of what a pipeline step runs (its cache key's code part), and the key itself."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.sdk import step_code
from switchyard.sdk.scheduler_pipelines import Pipeline
from switchyard.sdk.step_code import CodeDigests, StepCode
from switchyard.services.scheduler import pipelines


def command(argv: list[str], workdir: Path) -> str:
    """A fresh submission's digest of a command step (files read anew)."""
    return CodeDigests(cwd=workdir).step(pb.JobSpec(command=argv, workdir=str(workdir)), StepCode())


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "train.py").write_text("import helpers\nprint(helpers.LR)\n")
    (tmp_path / "helpers.py").write_text("LR = 0.1\n")
    (tmp_path / "run.sh").write_text("echo one\necho two\n")
    (tmp_path / "notes.txt").write_text("unrelated\n")
    return tmp_path


def test_a_command_digest_is_deterministic(project: Path) -> None:
    argv = ["sh", "-c", "sh run.sh && python train.py"]
    assert command(argv, project) == command(argv, project)
    assert len(command(argv, project)) == 64


def test_one_changed_line_of_a_named_script_changes_it(project: Path) -> None:
    for argv, path in [
        (["sh", "-c", "sh run.sh"], project / "run.sh"),
        (["python", "train.py"], project / "train.py"),
        (["python", "train.py"], project / "helpers.py"),  # what train.py imports
        (["python", "-m", "train"], project / "helpers.py"),
        (["python", "x.py", "--config=run.sh"], project / "run.sh"),
    ]:
        before = command(argv, project)
        text = path.read_text()
        path.write_text(text.replace("\n", "  # edited\n", 1))
        assert command(argv, project) != before, (argv, path)
        path.write_text(text)
        assert command(argv, project) == before


def test_files_the_step_does_not_name_do_not_count(project: Path, tmp_path_factory: Any) -> None:
    argv = ["sh", "-c", "sh run.sh"]
    before = command(argv, project)
    (project / "notes.txt").write_text("changed\n")
    (project / "train.py").write_text("print('another step')\n")
    (project / "new.sh").write_text("echo new\n")
    outside = tmp_path_factory.mktemp("outside") / "run.sh"
    outside.write_text("echo elsewhere\n")
    assert command(argv, project) == before
    assert command(["sh", outside.name], project) != command(["sh", str(outside)], project)


def test_a_file_outside_the_working_folder_is_not_read(project: Path) -> None:
    """/bin/sh and the like are the environment's, not the step's code."""
    assert command(["/bin/sh", "-c", "true"], project) == command(["sh", "-c", "true"], project)


def test_code_folder_counts_every_file_but_caches_and_venvs(tmp_path: Path) -> None:
    code = tmp_path / "src"
    (code / "pkg").mkdir(parents=True)
    (code / "pkg" / "model.py").write_text("W = 1\n")
    for skipped in (".git", "__pycache__", "env"):
        (code / skipped).mkdir()
        (code / skipped / "x.py").write_text("x = 1\n")
    (code / "env" / "pyvenv.cfg").write_text("home = /usr\n")

    def digest() -> str:
        return CodeDigests(cwd=tmp_path).step(pb.JobSpec(command=["true"]), StepCode(folder=code))

    before = digest()
    for skipped in (".git", "__pycache__", "env"):
        (code / skipped / "x.py").write_text("x = 2\n")
    (code / "pkg" / "model.cpython-311.pyc").write_bytes(b"\0")
    assert digest() == before
    edit(code / "pkg" / "model.py", "W = 1", "W = 2")
    assert digest() != before


def test_a_code_folder_past_the_bound_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(step_code, "MAX_FOLDER_FILES", 3)
    for i in range(4):
        (tmp_path / f"f{i}.py").write_text("")
    with pytest.raises(InvalidArgument, match="more than 3 files") as refused:
        CodeDigests(cwd=tmp_path).step(pb.JobSpec(command=["true"]), StepCode(folder=tmp_path))
    assert refused.value.field == "code"


def test_big_files_count_by_size_and_time(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(step_code, "MAX_HASHED_BYTES", 12)
    digests = CodeDigests(cwd=project)
    assert digests.file(project / "run.sh").startswith("stat:")  # 18 bytes
    assert len(digests.file(project / "notes.txt")) == 64  # 10 bytes: its sha256


def test_a_lock_file_counts(project: Path) -> None:
    argv = ["sh", "-c", "true"]
    before = command(argv, project)
    (project / "uv.lock").write_text("version = 1\n")
    with_lock = command(argv, project)
    assert with_lock != before
    (project / "uv.lock").write_text("version = 2\n")
    assert command(argv, project) != with_lock
    lock = project / "env.lock"
    lock.write_text("a==1\n")
    given = CodeDigests(cwd=project).step(pb.JobSpec(command=argv), StepCode(lock=lock))
    lock.write_text("a==2\n")
    assert CodeDigests(cwd=project).step(pb.JobSpec(command=argv), StepCode(lock=lock)) != given


FLOWS = """\
from {pkg} import helpers
from {pkg}.other import unused

LIMIT = 3


def scale(x):
    return x * LIMIT


def step_f(x):
    return helpers.add(scale(x), 1)


def step_g(x):
    return x
"""


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Any]:
    name = f"pkg_{uuid4().hex[:8]}"
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "flows.py").write_text(FLOWS.format(pkg=name))
    helpers = f"from {name} import deep\n\n\ndef add(a, b):\n    return deep.plus(a, b)\n"
    (root / "helpers.py").write_text(helpers)
    (root / "deep.py").write_text("def plus(a, b):\n    return a + b\n")
    (root / "other.py").write_text("unused = 1\n")
    (root / "unrelated.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(f"{name}.flows")
    yield root, module
    for loaded in [m for m in sys.modules if m.startswith(name)]:
        del sys.modules[loaded]


def function(fn: Callable[..., Any]) -> str:
    job = pb.JobSpec(command=[sys.executable, "-m", "switchyard.sdk.scheduler_step", "m:f"])
    return CodeDigests().step(job, StepCode(function=fn))


def test_a_function_digest_sees_its_body_what_it_uses_and_its_imports(
    package: tuple[Path, Any],
) -> None:
    root, flows = package
    f, g = flows.step_f, flows.step_g
    before, g_before = function(f), function(g)
    assert function(f) == before and before != g_before

    edit(root / "flows.py", "    return x\n", "    return x + 1\n")  # the sibling's body
    assert function(f) == before
    assert function(g) != g_before
    edit(root / "flows.py", "from ", "# a new first line\nfrom ")  # lines move, text doesn't
    assert function(f) == before
    edit(root / "other.py", "1", "2")  # imported by the module, not used by f
    edit(root / "unrelated.py", "1", "2")
    assert function(f) == before

    for path, old, new in [
        (root / "flows.py", "helpers.add(scale(x), 1)", "helpers.add(scale(x), 2)"),  # its body
        (root / "flows.py", "return x * LIMIT", "return x * LIMIT * 1"),  # a function it calls
        (root / "flows.py", "LIMIT = 3", "LIMIT = 4"),  # a constant that one uses
        (root / "helpers.py", "deep.plus(a, b)", "deep.plus(b, a)"),  # a module it imports
        (root / "deep.py", "return a + b", "return b + a"),  # and what that imports
    ]:
        edit(path, old, new)
        after = function(f)
        assert after != before, (path.name, new)
        before = after


def test_pipeline_to_proto_digests_each_step_and_turns_cache_off(project: Path) -> None:
    pipe = Pipeline("p", cache=True)
    pipe.step("a", ["sh", "run.sh"], workdir=str(project))
    pipe.step("b", ["python", "train.py"], workdir=str(project), cache=False)
    spec = pipe.to_proto()
    assert [s.cache for s in spec.steps] == [True, False]
    a, b = (s.code_digest for s in spec.steps)
    assert a and b and a != b
    assert not any(s.cache for s in pipe.to_proto(cache=False).steps)
    edit(project / "run.sh", "echo two", "echo 2")
    again = pipe.to_proto()
    assert again.steps[0].code_digest != a and again.steps[1].code_digest == b


def test_the_cache_key_sees_spec_code_and_upstream_but_not_names() -> None:
    job = pb.JobSpec(name="a", command=["true"], priority=1)
    key = pipelines.digest(job, "c1", ["up=k1"])
    renamed = pb.JobSpec(name="b", command=["true"], priority=9)
    assert pipelines.digest(renamed, "c1", ["up=k1"]) == key
    assert pipelines.digest(job, "c2", ["up=k1"]) != key
    assert pipelines.digest(job, "c1", ["up=k2"]) != key
    assert pipelines.digest(job, "c1", []) != key
    assert pipelines.digest(pb.JobSpec(command=["false"]), "c1", ["up=k1"]) != key
    step = pb.PipelineStep(name="s", after=["z"], inputs={"x": "{{steps.a.outputs.y}}"})
    keys = {"a": ["ka0", "ka1"], "z": ["kz"], "other": ["ko"]}
    assert pipelines.upstream_keys(step, keys) == ["a=ka0", "a=ka1", "z=kz"]
