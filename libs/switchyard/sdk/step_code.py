"""What a pipeline step runs, as a digest: the code part of its cache key.

The scheduler keys a step's cache on its rendered spec, its inputs and the
keys of the steps it depends on; what the spec only names (a script, a
decorated function's module) can change while the spec stays the same. The
client sees that code, so `Pipeline.to_proto` digests it when a pipeline is
submitted and sends the digest with each step (`PipelineStep.code_digest`):

- a decorated function: its source as its module's file has it now (its
  decorators too), the top-level functions, classes and assignments of that
  module it uses (and those they use), and every local module it imports for
  a name it uses, as whole files with the local modules they import in turn.
  Local means under the import root of the function's module (the folder
  that holds its top-level package), outside virtualenvs and site-packages.
  Another function of the same file is not part of it.
- a command: each file an argument names (each word of a `sh -c` script;
  `--opt=FILE` too), when the file lies inside the step's working folder (its
  workdir, else the current folder, as this machine sees it); `python -m
  pkg.mod` names pkg/mod.py. A Python file so named brings the local modules
  it imports.
- `code=FOLDER` (any step): every file under it.
- the environment: `lock=FILE`, else the lock files (`uv.lock`,
  `requirements.txt`, ...) at the top of the working folder, the code folder
  and a function's import root.

Bounds, so a submission stays cheap: each file is read once per submission
(`CodeDigests` remembers it for every step); a file over `MAX_HASHED_BYTES`
counts by its size and modification time instead of its content; a code
folder holds at most `MAX_FOLDER_FILES` files and the imports followed reach
at most `MAX_MODULES` files (past either, InvalidArgument: a stale cache hit
is worse than a refusal). Walks skip `SKIPPED_DIRS`, virtualenvs (a folder
with pyvenv.cfg) and compiled files.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import marshal
import os
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import scheduler_pb2 as pb

MAX_HASHED_BYTES = 16 * 1024 * 1024
MAX_FOLDER_FILES = 5_000
MAX_MODULES = 1_000
SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".svn", "__pycache__", ".venv", "venv", "node_modules", "site-packages",
     "dist-packages", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox",
     ".ipynb_checkpoints"}
)  # fmt: skip
SKIPPED_SUFFIXES = (".pyc", ".pyo")
LOCK_FILES = (
    "uv.lock",
    "poetry.lock",
    "pdm.lock",
    "Pipfile.lock",
    "pylock.toml",
    "requirements.txt",
    "requirements.lock",
    "conda-lock.yml",
    "environment.yml",
)
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh"})
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True)
class StepCode:
    """What a step declares about its code besides its command."""

    function: Callable[..., Any] | None = None
    folder: Path | None = None  # code=
    lock: Path | None = None  # lock=


class CodeDigests:
    """Digests of steps' code for one submission; each file is read once."""

    def __init__(self, cwd: Path | None = None) -> None:
        self.cwd = cwd or Path.cwd()
        self._files: dict[Path, str] = {}
        self._trees: dict[Path, tuple[list[str], ast.Module] | None] = {}

    def step(self, job: pb.JobSpec, code: StepCode) -> str:
        """The digest of what `job` runs, with what `code` declares."""
        parts: dict[str, str] = {}
        folder = self._working_folder(job.workdir)
        if folder is not None:
            self._command(job.command, folder, parts)
            self._locks(folder, parts)
        if code.function is not None:
            self._function(code.function, parts)
        if code.folder is not None:
            self._folder(code.folder, parts)
            self._locks(code.folder, parts)
        if code.lock is not None:
            if not code.lock.is_file():
                raise InvalidArgument(f"lock file {code.lock} does not exist", field="lock")
            parts[f"lock:{code.lock}"] = self.file(code.lock)
        h = hashlib.sha256()
        for label in sorted(parts):
            h.update(f"{label}\0{parts[label]}\n".encode())
        return h.hexdigest()

    def file(self, path: Path) -> str:
        """sha256 of the content (size and mtime past MAX_HASHED_BYTES), once per path."""
        path = path.resolve()
        known = self._files.get(path)
        if known is None:
            stat = path.stat()
            if stat.st_size > MAX_HASHED_BYTES:
                known = f"stat:{stat.st_size}:{stat.st_mtime_ns}"
            else:
                known = hashlib.sha256(path.read_bytes()).hexdigest()
            self._files[path] = known
        return known

    # -- commands --------------------------------------------------------------

    def _working_folder(self, workdir: str) -> Path | None:
        if "{{" in workdir:  # templated: known only on the scheduler
            return None
        folder = (self.cwd / workdir) if workdir else self.cwd
        return folder.resolve() if folder.is_dir() else None

    def _command(self, argv: list[str], folder: Path, parts: dict[str, str]) -> None:
        words = list(argv)
        if len(argv) >= 3 and Path(argv[0]).name in SHELLS and argv[1] == "-c":
            words = [argv[0], *_shell_words(argv[2]), *argv[3:]]
        for i, word in enumerate(words):
            if "{{" in word or not word or (word.startswith("-") and "=" not in word):
                continue
            if i > 0 and words[i - 1] == "-m":
                found = _module_file(folder, word.split("."))
                if found is not None:
                    self._module_closure(found, folder, parts)
                continue
            path = Path(os.path.expanduser(word.split("=", 1)[-1] if "=" in word else word))
            path = path if path.is_absolute() else folder / path
            if not _inside(path, folder) or not path.is_file():
                continue
            if path.suffix == ".py":
                self._module_closure(path, path.parent, parts)
            else:
                parts[f"file:{_label(path, folder)}"] = self.file(path)

    def _locks(self, folder: Path, parts: dict[str, str]) -> None:
        for name in LOCK_FILES:
            path = folder / name
            if path.is_file():
                parts[f"lock:{path.resolve()}"] = self.file(path)

    def _folder(self, folder: Path, parts: dict[str, str]) -> None:
        if not folder.is_dir():
            raise InvalidArgument(f"code folder {folder} is not a folder", field="code")
        folder, count = folder.resolve(), 0
        for path in _walk(folder):
            count += 1
            if count > MAX_FOLDER_FILES:
                raise InvalidArgument(
                    f"code folder {folder} holds more than {MAX_FOLDER_FILES} files;"
                    " name the folder of the step's code, not its data",
                    field="code",
                )
            parts[f"code:{_label(path, folder)}"] = self.file(path)

    # -- Python -----------------------------------------------------------------

    def _function(self, fn: Callable[..., Any], parts: dict[str, str]) -> None:
        source = inspect.getsourcefile(fn)
        path = Path(source).resolve() if source else None
        parsed = self._tree(path) if path is not None else None
        node = _find(parsed[1], fn.__qualname__) if parsed is not None else None
        if path is None or parsed is None or node is None:  # no file: the compiled code
            code = marshal.dumps(fn.__code__)
            parts[f"function:{fn.__qualname__}"] = hashlib.sha256(code).hexdigest()
            return
        lines, tree = parsed
        root = _import_root(path, fn.__module__)
        self._locks(root, parts)
        package = _package_of(path, root)
        top = _top_level(tree)
        queue: list[ast.stmt] = [node]
        seen: set[int] = set()
        while queue:
            stmt = queue.pop()
            if id(stmt) in seen:
                continue
            seen.add(id(stmt))
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                for module in _imported_files(stmt, root, package):
                    self._module_closure(module, root, parts)
                continue
            first = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", []))])
            text = "".join(lines[first - 1 : stmt.end_lineno])
            sha = hashlib.sha256(text.encode()).hexdigest()  # by text: not moved by lines above
            parts[f"source:{_label(path, root)}:{sha}"] = sha
            used = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}
            queue.extend(s for name in sorted(used) for s in top.get(name, ()))

    def _module_closure(self, start: Path, root: Path, parts: dict[str, str]) -> None:
        """A local module's file and, transitively, the local modules it imports."""
        root, queue, count = root.resolve(), [start.resolve()], 0
        while queue:
            path = queue.pop()
            label = f"module:{_label(path, root)}"
            if label in parts:
                continue
            count += 1
            if count > MAX_MODULES:
                raise InvalidArgument(
                    f"{start} imports more than {MAX_MODULES} local modules;"
                    " run its step with cache=False",
                    field="cache",
                )
            parts[label] = self.file(path)
            parsed = self._tree(path)
            if parsed is None:
                continue
            package = _package_of(path, root)
            for stmt in ast.walk(parsed[1]):
                if isinstance(stmt, ast.Import | ast.ImportFrom):
                    queue.extend(_imported_files(stmt, root, package))

    def _tree(self, path: Path) -> tuple[list[str], ast.Module] | None:
        if path not in self._trees:
            try:
                text = path.read_text()
                self._trees[path] = (text.splitlines(keepends=True), ast.parse(text))
            except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
                self._trees[path] = None
        return self._trees[path]


def _shell_words(script: str) -> list[str]:
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes: the plain words
        return script.split()


def _inside(path: Path, folder: Path) -> bool:
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return False
    return resolved.is_relative_to(folder) and not _skipped(resolved.relative_to(folder))


def _skipped(relative: Path) -> bool:
    return any(part in SKIPPED_DIRS or part.endswith(".egg-info") for part in relative.parts)


def _label(path: Path, base: Path) -> str:
    resolved = path.resolve()
    return str(resolved.relative_to(base)) if resolved.is_relative_to(base) else str(resolved)


def _walk(folder: Path) -> Iterator[Path]:
    """Files under `folder` in a stable order, without SKIPPED_DIRS and virtualenvs."""
    for top, dirs, files in os.walk(folder):
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in SKIPPED_DIRS
            and not d.endswith(".egg-info")
            and not os.path.exists(os.path.join(top, d, "pyvenv.cfg"))
        )
        for name in sorted(files):
            path = Path(top, name)
            if not name.endswith(SKIPPED_SUFFIXES) and path.is_file():
                yield path


def _import_root(path: Path, module: str) -> Path:
    """The folder `module` is imported from (the one above its top-level package)."""
    depth = module.count(".") + (1 if path.name == "__init__.py" else 0)
    if module == "__main__":
        depth = 0
    return path.parents[depth] if depth < len(path.parents) else path.parent


def _package_of(path: Path, root: Path) -> list[str]:
    """The package a module file belongs to, as parts under `root`."""
    if not path.is_relative_to(root):
        return []
    return list(path.relative_to(root).parent.parts)


def _module_file(root: Path, parts: list[str]) -> Path | None:
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    base = root.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py", base / "__main__.py"):
        if candidate.is_file() and _inside(candidate, root):
            return candidate
    return None


def _imported_files(
    stmt: ast.Import | ast.ImportFrom, root: Path, package: list[str]
) -> list[Path]:
    """The local files an import statement runs (package __init__s on the way too)."""
    names: list[list[str]] = []
    if isinstance(stmt, ast.Import):
        names = [alias.name.split(".") for alias in stmt.names]
    else:
        if stmt.level - 1 > len(package):
            return []
        base = package[: len(package) - stmt.level + 1] if stmt.level else []
        module = [*base, *(stmt.module.split(".") if stmt.module else [])]
        names = [module] + [[*module, alias.name] for alias in stmt.names if alias.name != "*"]
    found = []
    for parts in names:
        for n in range(1, len(parts) + 1):
            path = _module_file(root, parts[:n])
            if path is not None and path.name != "__main__.py":
                found.append(path.resolve())
    return found


def _top_level(tree: ast.Module) -> dict[str, list[ast.stmt]]:
    """Each name a module's top level binds -> the statements that bind it."""
    out: dict[str, list[ast.stmt]] = {}
    for stmt in tree.body:
        bound: list[str] = []
        if isinstance(stmt, _DEFINITIONS):
            bound = [stmt.name]
        elif isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            bound = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        elif isinstance(stmt, ast.Import | ast.ImportFrom):
            bound = [(a.asname or a.name).split(".")[0] for a in stmt.names]
        for name in bound:
            out.setdefault(name, []).append(stmt)
    return out


def _find(tree: ast.Module, qualname: str) -> ast.stmt | None:
    """The definition of `qualname` ('f', 'Cls.method') in a module's tree."""
    body: list[ast.stmt] = tree.body
    node: ast.stmt | None = None
    for part in qualname.split("."):
        node = next((s for s in body if isinstance(s, _DEFINITIONS) and s.name == part), None)
        if node is None:
            return None
        body = node.body  # type: ignore[attr-defined]
    return node
