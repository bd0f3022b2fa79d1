"""A run's artifacts: a folder browser with previews, and downloads.

    /experiments/<id>/runs/<run id>/artifacts?path=<folder>&file=<file>
    /ui/runs/<run id>/artifact?path=<file>[&download=1]     the bytes

Previews: text and JSON (pretty-printed), CSV as a table, images inline;
files past PREVIEW_BYTES are offered for download only.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import mimetypes

from starlette.requests import Request
from starlette.responses import Response

from switchyard.core.artifacts import FileInfo, clean_path
from switchyard.errors import NotFound
from switchyard.services.web.artifacts import _attachment
from switchyard.services.web.backends import Backends
from switchyard.services.web.ui.render import backends, html_errors, page
from switchyard.services.web.ui.tracking_pages import _experiment, _run

PREVIEW_BYTES = 2 * 1024 * 1024
CSV_ROWS = 200
TEXT = {".txt", ".log", ".md", ".py", ".yaml", ".yml", ".cfg", ".ini", ".toml", ".sh", ""}
IMAGES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}


def _kind(name: str) -> str:
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if name == "MLmodel" or suffix in TEXT:
        return "text"
    if suffix == ".json":
        return "json"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in IMAGES:
        return "image"
    return "binary"


async def _listing(b: Backends, uri: str, path: str) -> list[FileInfo]:
    try:
        found = await asyncio.to_thread(b.store(uri).list, path)
    except NotFound:
        return []
    return sorted(found, key=lambda f: (not f.is_dir, f.path))


def _preview(kind: str, data: bytes) -> object:
    text = data.decode("utf-8", errors="replace")
    if kind == "json":
        try:
            return json.dumps(json.loads(text), indent=2)
        except ValueError:
            return text
    if kind == "csv":
        dialect = "excel-tab" if "\t" in text.split("\n", 1)[0] else "excel"
        rows = []
        for i, row in enumerate(csv.reader(io.StringIO(text), dialect)):
            if i > CSV_ROWS:
                break
            rows.append(row)
        return rows
    return text


@html_errors
async def browse(request: Request) -> Response:
    b = backends(request)
    run = await _run(b, request.path_params["run_id"])
    experiment = await _experiment(b, run.info.experiment_id)
    folder = clean_path(request.query_params.get("path", ""))
    chosen = clean_path(request.query_params.get("file", ""))
    files = await _listing(b, run.info.artifact_uri, folder)
    preview: object = None
    selected: FileInfo | None = None
    kind = ""
    if chosen:
        parent = chosen.rsplit("/", 1)[0] if "/" in chosen else ""
        siblings = await _listing(b, run.info.artifact_uri, parent)
        selected = next((f for f in siblings if f.path == chosen and not f.is_dir), None)
        if selected is None:
            raise NotFound(f"no artifact {chosen!r} in run {run.info.run_id}", entity="artifact")
        kind = _kind(chosen.rsplit("/", 1)[-1])
        small = (selected.file_size or 0) <= PREVIEW_BYTES
        if kind in ("text", "json", "csv") and small:
            data = await asyncio.to_thread(b.store(run.info.artifact_uri).read_bytes, chosen)
            preview = _preview(kind, data)
        elif kind == "image" and not small:
            kind = "binary"
    crumbs = []
    parts = folder.split("/") if folder else []
    for i, part in enumerate(parts):
        crumbs.append((part, "/".join(parts[: i + 1])))
    return page(
        request,
        "artifacts.html",
        run=run,
        experiment=experiment,
        folder=folder,
        crumbs=crumbs,
        files=files,
        selected=selected,
        kind=kind,
        preview=preview,
    )


@html_errors
async def raw(request: Request) -> Response:
    b = backends(request)
    run = await _run(b, request.path_params["run_id"])
    path = clean_path(request.query_params.get("path", ""))
    if not path:
        raise NotFound("no artifact path given", entity="artifact")
    data = await asyncio.to_thread(b.store(run.info.artifact_uri).read_bytes, path)
    name = path.rsplit("/", 1)[-1]
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
    media = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if request.query_params.get("download") or media == "image/svg+xml" or media == "text/html":
        # an SVG or HTML artifact must not run script in the UI's origin: download it
        headers["Content-Disposition"] = _attachment(name)
    headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    )
    return Response(data, media_type=media, headers=headers)
