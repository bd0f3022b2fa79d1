"""`switchyard artifacts`: list a run's artifacts and download them, with progress."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from switchyard.cli.errors import reported
from switchyard.cli.tables import fold

if TYPE_CHECKING:
    from switchyard.core.artifacts import FileInfo
    from switchyard.sdk.client import Client

artifacts = typer.Typer(help="A run's artifacts.", no_args_is_help=True)
console = Console()
RunArg = Annotated[str, typer.Argument(help="Run id")]
PathArg = Annotated[str, typer.Argument(help="A file or folder in the run's artifacts")]


def _size(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def _files(client: Client, run_id: str, path: str) -> list[FileInfo]:
    """Every file under `path` (itself, if it is one)."""
    found, folders = [], [path]
    while folders:
        listed = client.list_artifacts(run_id, folders.pop() or None)
        found += [f for f in listed if not f.is_dir]
        folders += [f.path for f in listed if f.is_dir]
    return sorted(found, key=lambda f: f.path)


@artifacts.command("ls")
def ls(run_id: RunArg, path: PathArg = "") -> None:
    """One level of a run's artifacts."""
    from switchyard.sdk.client import Client

    with reported():
        with Client() as client:
            listed = client.list_artifacts(run_id, path or None)
    table = Table("path", "size")
    for f in listed:
        table.add_row(f"{f.path}/" if f.is_dir else f.path, _size(f.file_size))
    console.print(fold(table))


@artifacts.command("download")
def download(
    run_id: RunArg,
    path: PathArg = "",
    dst: Annotated[Path, typer.Option("--dst", "-o", help="Folder to write into")] = Path("."),
) -> None:
    """Download a file or a folder (the whole run's artifacts without PATH), keeping paths."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from switchyard.sdk.client import Client

    with reported():
        with Client() as client:
            files = _files(client, run_id, path)
            if not files and path:  # a single file lists as nothing under itself
                client.download_artifacts(run_id, path, dst)
                console.print(f"{dst / path}")
                return
            total = sum(f.file_size or 0 for f in files)
            with Progress(
                "{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                console=console, transient=True,
            ) as progress:  # fmt: skip
                task = progress.add_task(f"{len(files)} files", total=total)
                for f in files:
                    client.download_artifacts(run_id, f.path, dst)
                    progress.advance(task, f.file_size or 0)
    console.print(f"{len(files)} files, {_size(total)} into {dst / path if path else dst}")
