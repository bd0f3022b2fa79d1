"""Rendering pages: the Jinja2 environment, its filters, and the page responses.

Jinja2 is imported when the first page is rendered, not at start: the idle
edge that only answers the MLflow client never pays for it. Templates are
autoescaped; what a user logged (names, params, tags) is never markup.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from switchyard.errors import NotFound, SwitchyardError, Unavailable
from switchyard.services.web.backends import Backends

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# The sections of the navigation: (path, title, the service that serves it).
SECTIONS = (
    ("/experiments", "Experiments", "tracking"),
    ("/models", "Models", "registry"),
    ("/jobs", "Jobs", "scheduler"),
    ("/pipelines", "Pipelines", "scheduler"),
    ("/studies", "Studies", "tuner"),
    ("/deployments", "Deployments", "gateway"),
    ("/events", "Events", ""),
)


def when(ms: int | None) -> str:
    """Epoch milliseconds as a UTC time a person reads (pages turn it local)."""
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def iso(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat() if ms else ""


def duration(start_ms: int | None, end_ms: int | None = None) -> str:
    if not start_ms:
        return ""
    end = end_ms or int(datetime.now(UTC).timestamp() * 1000)
    seconds = max(0, (end - start_ms) // 1000)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m"


def num(value: float | None) -> str:
    if value is None:
        return ""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.6g}"


def size(n: int | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return ""


def query(request: Request, **changes: Any) -> str:
    """This page's query string with `changes` (None removes a key)."""
    params: list[tuple[str, str]] = [
        (k, v) for k, v in request.query_params.multi_items() if k not in changes
    ]
    for key, value in changes.items():
        if value is None:
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            params.append((key, str(item)))
    return "?" + urlencode(params) if params else request.url.path


@functools.cache
def _env() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, iso=iso, num=num, size=size)
    env.globals.update(duration=duration, query=query)
    return env


def sections(backends: Backends) -> list[tuple[str, str]]:
    """The navigation: a section only where its service is part of the platform."""
    have = backends.services()
    return [(path, title) for path, title, service in SECTIONS if not service or service in have]


def same_origin(request: Request) -> bool:
    """A form posted from another site must not act here (cancel a job, sign a
    browser in as someone else): browsers send Origin on POST."""
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


def backends(request: Request) -> Backends:
    """The edge's backends, which every page reads from."""
    found: Backends = request.app.state.backends
    return found


def page(request: Request, template: str, *, code: int = 200, **context: Any) -> HTMLResponse:
    html = (
        _env()
        .get_template(template)
        .render(
            request=request,
            nav=sections(backends(request)),
            path=request.url.path,
            # who the page is shown to (authentication on), who can sign out
            principal=getattr(request.state, "principal", None),
            **context,
        )
    )
    return HTMLResponse(html, status_code=code, headers={"Cache-Control": "no-store"})


def not_found(request: Request, what: str) -> HTMLResponse:
    return page(request, "404.html", code=404, what=what)


Handler = Callable[[Request], Awaitable[Response]]


def html_errors(handler: Handler) -> Handler:
    """A page whose entity is unknown answers the 404 page; a service that is down,
    a 503 page that says which. Bad input is shown where it was typed, by the page."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except NotFound as exc:
            return not_found(request, exc.message)
        except Unavailable as exc:
            return page(request, "error.html", code=503, message=exc.message)
        except SwitchyardError as exc:
            return page(request, "error.html", code=400, message=exc.message)

    return wrapped
