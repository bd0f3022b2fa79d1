"""What a job ran, recorded in its run: code version, environment, command, resources.

The worker records it, not the submitter, because the worker is where the
code runs: its working folder as this machine has it, and the interpreter
the job's PATH finds.

- **Code version.** In a git work tree: `git:<commit>`, with `+dirty:<sha12>`
  when tracked files differ from the commit or untracked files exist (the
  digest covers `git diff HEAD` and the untracked files' contents). Outside
  one: `files:<sha12>` of the files the command names and the lock files of
  the folder (`switchyard.sdk.step_code`, the pipeline cache's digest).
- **Environment.** The interpreter's (the one the command names, else the
  `python` the job's PATH finds) version and path and `name==version` of
  every installed distribution (a pip freeze, logged as the artifact
  `environment/pip-freeze.txt`, its digest a tag), the folder's lock files
  (`uv.lock`, `requirements.txt`, ..., logged beside it), and
  `SWITCHYARD_IMAGE` where a deployment sets it. The freeze is remembered
  per interpreter until its site-packages change.
- **Command, resources, placement, inputs** as tags; pipeline inputs as
  their values, or a digest when long. Env values are never recorded (they
  hold secrets).

A rerun carries the code version its origin recorded (`JobSpec.code_version`);
`mismatch` says why the code here is not that code.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from switchyard.proto.v1 import scheduler_pb2 as pb

CODE_VERSION = "switchyard.code.version"
GIT_TIMEOUT_S = 10.0
MAX_TAG = 5000  # MLflow's limit on a tag value
MAX_INLINE_INPUT = 250  # longer inputs are recorded by digest
_PYTHON = re.compile(r"^python(\d+(\.\d+)*)?$")
_FREEZE = (
    "import importlib.metadata as m, sys\n"
    "print(sys.version.split()[0])\n"
    "print('\\n'.join(sorted({f\"{d.metadata['Name']}=={d.version}\""
    " for d in m.distributions() if d.metadata['Name']}, key=str.lower)))\n"
)


@dataclass
class Provenance:
    code_version: str
    tags: dict[str, str]
    files: dict[str, bytes] = field(default_factory=dict)  # artifact path -> content


async def record(spec: pb.JobSpec, env: Mapping[str, str], cwd: Path) -> Provenance:
    """What `spec` runs in `cwd` with `env`, for its run's tags and artifacts."""
    (version, code_tags), (freeze_tags, freeze) = await asyncio.gather(
        code_version(spec, cwd), environment(spec.command, env)
    )
    tags = {**_job_tags(spec, env), **code_tags, **freeze_tags, CODE_VERSION: version}
    files = {"environment/pip-freeze.txt": freeze}
    for path in _lock_files(cwd):
        content = path.read_bytes()
        files[f"environment/{path.name}"] = content
        tags[f"switchyard.env.lock.{path.name}"] = hashlib.sha256(content).hexdigest()
    if image := env.get("SWITCHYARD_IMAGE"):
        tags["switchyard.image"] = image
    return Provenance(version, {k: _cap(v) for k, v in tags.items()}, files)


def mismatch(expected: str, actual: str, rerun_of: str) -> str:
    """'' when a rerun may run here, else why not (the job's failure message)."""
    if not expected or expected == actual:
        return ""
    return (
        f"the code differs from what job {rerun_of} ran: it ran {expected}, this worker has"
        f" {actual}; check that version out, or rerun with allow_code_change=True"
        " (--allow-code-change)"
    )


# -- code ----------------------------------------------------------------------


async def code_version(spec: pb.JobSpec, cwd: Path) -> tuple[str, dict[str, str]]:
    commit = await _git(cwd, "rev-parse", "HEAD")
    if commit is None:
        return f"files:{await asyncio.to_thread(_files_digest, spec, cwd)}", {}
    tags = {"mlflow.source.git.commit": commit}
    if remote := await _git(cwd, "config", "--get", "remote.origin.url"):
        tags["mlflow.source.git.repoURL"] = _without_password(remote)
    dirty = await _dirty_digest(cwd)
    if dirty:
        tags["switchyard.code.dirty"] = dirty
        return f"git:{commit}+dirty:{dirty[:12]}", tags
    return f"git:{commit}", tags


async def _dirty_digest(cwd: Path) -> str:
    """sha256 of the uncommitted changes and untracked files, '' when clean."""
    diff = await _git(cwd, "diff", "HEAD", "--binary", strip=False) or ""
    untracked = await _git(cwd, "ls-files", "--others", "--exclude-standard", "-z", strip=False)
    names = sorted(n for n in (untracked or "").split("\0") if n)
    if not diff and not names:
        return ""
    return await asyncio.to_thread(_digest_changes, cwd, diff, names)


def _digest_changes(cwd: Path, diff: str, untracked: list[str]) -> str:
    from switchyard.sdk.step_code import CodeDigests

    files = CodeDigests(cwd)
    h = hashlib.sha256(diff.encode())
    for name in untracked:
        path = cwd / name
        if path.is_file():
            h.update(f"\0{name}\0{files.file(path)}".encode())
    return h.hexdigest()


def _files_digest(spec: pb.JobSpec, cwd: Path) -> str:
    from switchyard.sdk.step_code import CodeDigests, StepCode

    here = pb.JobSpec(command=spec.command)  # its workdir is cwd already
    return CodeDigests(cwd).step(here, StepCode())[:12]


async def _git(cwd: Path, *args: str, strip: bool = True) -> str | None:
    """git's output, or None where git is missing, fails or is not in a work tree."""
    if shutil.which("git") is None:
        return None
    try:
        proc = await asyncio.create_subprocess_exec(
            "git",
            "-C",
            str(cwd),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},  # never take the index lock
        )
        out, _ = await asyncio.wait_for(proc.communicate(), GIT_TIMEOUT_S)
    except (OSError, TimeoutError):
        return None
    if proc.returncode != 0:
        return None
    text = out.decode(errors="replace")
    return text.strip() if strip else text


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return url


# -- environment ---------------------------------------------------------------

_freezes: dict[tuple[str, tuple[tuple[str, int], ...]], tuple[str, bytes]] = {}


async def environment(
    command: Sequence[str], env: Mapping[str, str]
) -> tuple[dict[str, str], bytes]:
    python = _interpreter(command, env)
    key = (python, _site_stamp(python))
    if key not in _freezes:
        _freezes[key] = await _freeze(python)
    version, text = _freezes[key]
    tags = {
        "switchyard.python": f"{version} ({python})" if version else python,
        "switchyard.env.digest": hashlib.sha256(text).hexdigest(),
    }
    return tags, text


def _interpreter(command: Sequence[str], env: Mapping[str, str]) -> str:
    """The Python the job runs: the interpreter its command names (argv[0], or the
    first word of a `sh -c` script), else the `python` its PATH finds, else this worker's."""
    from switchyard.sdk.step_code import SHELLS

    first = command[:1]
    if len(command) >= 3 and Path(command[0]).name in SHELLS and command[1] == "-c":
        try:
            first = shlex.split(command[2])[:1]
        except ValueError:  # unbalanced quotes: the shell will say so
            first = []
    for word in first:
        if _PYTHON.match(Path(word).name):
            found = word if "/" in word else shutil.which(word, path=env.get("PATH"))
            if found:
                return found
    for name in ("python", "python3"):
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return found
    return sys.executable


def _site_stamp(python: str) -> tuple[tuple[str, int], ...]:
    """When the interpreter's site-packages last changed: an install changes it."""
    prefix = Path(python).parent.parent
    stamps = []
    for site in sorted(prefix.glob("lib/python3*/site-packages")):
        try:
            stamps.append((str(site), site.stat().st_mtime_ns))
        except OSError:
            continue
    return tuple(stamps)


async def _freeze(python: str) -> tuple[str, bytes]:
    try:
        proc = await asyncio.create_subprocess_exec(
            python, "-I", "-c", _FREEZE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    except (OSError, TimeoutError):
        return "", b""
    version, _, rest = out.decode(errors="replace").partition("\n")
    return version.strip(), rest.encode()


def _lock_files(cwd: Path) -> list[Path]:
    from switchyard.sdk.step_code import LOCK_FILES

    return [cwd / name for name in LOCK_FILES if (cwd / name).is_file()]


# -- the job -------------------------------------------------------------------


def _job_tags(spec: pb.JobSpec, env: Mapping[str, str]) -> dict[str, str]:
    r = spec.resources
    command = shlex.join(spec.command)
    tags = {
        "mlflow.source.type": "JOB",
        "mlflow.source.name": command,
        "switchyard.command": command,
        "switchyard.workdir": spec.workdir,
        "switchyard.pool": spec.pool,
        "switchyard.queue": spec.queue,
        "switchyard.resources": f"cpus={r.cpus:g} gpus={r.gpus} memory_mb={r.memory_mb}",
        "switchyard.gang_size": str(spec.gang_size or 1),
    }
    if spec.rerun_of:
        tags["switchyard.rerun_of"] = spec.rerun_of
    for key, value in env.items():
        if key.startswith("SY_INPUT_") or key == "SY_ITEM":
            name = "item" if key == "SY_ITEM" else key.removeprefix("SY_INPUT_").lower()
            tags[f"switchyard.input.{name}"] = _inline(value)
    return tags


def _inline(value: str) -> str:
    if len(value) <= MAX_INLINE_INPUT:
        return value
    return f"sha256:{hashlib.sha256(value.encode()).hexdigest()}"


def _cap(value: str) -> str:
    if len(value) <= MAX_TAG:
        return value
    return value[: MAX_TAG - 80] + f"… sha256:{hashlib.sha256(value.encode()).hexdigest()}"
