"""Who may call the web edge: the same tokens and `Verifier` as every gRPC call.

A request carries its token as `Authorization: Bearer <token>` (the mlflow
client's MLFLOW_TRACKING_TOKEN), as the password of Basic authentication
(MLFLOW_TRACKING_USERNAME/PASSWORD), or, from a browser that signed in at
`/login`, in the `sy_token` cookie (HttpOnly, SameSite=Strict). The edge
verifies it, then makes its calls to the services with the caller's token
(`CALLER_TOKEN`), so each service's interceptor decides what the caller may
do there: a viewer's write through the REST API is refused as it would be
over gRPC. Health, version, static files and the sign-in page stay open.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from switchyard.core.auth import CALLER_TOKEN, Verifier, bearer
from switchyard.errors import SwitchyardError, Unauthenticated

COOKIE = "sy_token"
OPEN_PATHS = ("/health", "/version", "/login", "/logout", "/favicon.ico")
OPEN_PREFIXES = ("/static/",)
API_PREFIXES = ("/api/", "/ajax-api/")
COOKIE_MAX_AGE_S = 7 * 86400


def request_token(headers: dict[str, str], cookie: str | None) -> str | None:
    """The token a request carries: Bearer, Basic's password, else the cookie."""
    value = headers.get("authorization", "")
    if value[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(value[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return bearer(value) or cookie


def _cookie(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                name, _, token = part.strip().partition("=")
                if name == COOKIE and token:
                    return token
    return None


class AuthMiddleware:
    """Every HTTP request but the open ones must carry a token that verifies."""

    def __init__(self, app: ASGIApp, verifier: Verifier) -> None:
        self.app = app
        self.verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            await self.app(scope, receive, send)
            return
        headers = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in scope.get("headers", ())
            if k == b"authorization"
        }
        token = request_token(headers, _cookie(scope))
        try:
            principal = await self.verifier.verify(token)
        except SwitchyardError as exc:
            await _refuse(scope, exc)(scope, receive, send)
            return
        CALLER_TOKEN.set(token)  # the services decide what this caller may do
        scope.setdefault("state", {})["principal"] = principal  # pages show who
        await self.app(scope, receive, send)


def _refuse(scope: Scope, exc: SwitchyardError) -> Response:
    from switchyard.services.web.errors import error_response

    path: str = scope["path"]
    if scope["method"] == "GET" and not path.startswith(API_PREFIXES) and path != "/ui/live":
        query = scope.get("query_string", b"").decode("latin-1")
        target = path + (f"?{query}" if query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    code = "UNAUTHENTICATED" if isinstance(exc, Unauthenticated) else "TEMPORARILY_UNAVAILABLE"
    status = 401 if isinstance(exc, Unauthenticated) else 503
    response = error_response(code, exc.message, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer, Basic realm="switchyard"'
    return response


def _safe_next(value: str) -> str:
    """Only a path of this site: `next` must not send a signed-in browser elsewhere."""
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return "/"
    return value


async def login_page(request: Request) -> Response:
    from switchyard.services.web.ui.render import page, same_origin

    if request.method == "GET":
        target = _safe_next(request.query_params.get("next", "/"))
        return page(request, "login.html", next=target, error="")
    if not same_origin(request):
        return page(request, "error.html", code=403, message="sign in from this site's own page")
    # a plain urlencoded form: parsed here rather than with a multipart library
    form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=4)
    token = (form.get("token") or [""])[0].strip()
    target = _safe_next((form.get("next") or ["/"])[0])
    verifier: Verifier | None = request.app.state.verifier
    if verifier is None:  # authentication is off: nothing to sign in to
        return RedirectResponse(target, status_code=303)
    try:
        await verifier.verify(token)
    except SwitchyardError as exc:
        error = "that token is not valid" if isinstance(exc, Unauthenticated) else exc.message
        return page(request, "login.html", code=401, next=target, error=error)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE, token, max_age=COOKIE_MAX_AGE_S, httponly=True, samesite="strict", path="/"
    )
    return response


async def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def routes() -> list[Any]:
    return [Route("/login", login_page, methods=["GET", "POST"]), Route("/logout", logout)]
