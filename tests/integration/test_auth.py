"""Authentication and roles, walked over every RPC the protos declare.

The session's platform runs as `switchyard up` does: authentication on, an
admin token in its home. Each check calls through a channel of its own with
the bytes of an empty request, so no RPC can be forgotten: a new one in a
proto is walked here the day it is added.
"""

from __future__ import annotations

import base64
import importlib
import json
import pkgutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool

import switchyard.proto.v1 as protos
from switchyard.core import service_spec
from switchyard.core.auth import authorization, required_role
from switchyard.core.config import Settings
from switchyard.errors import InvalidArgument, PermissionDenied, Unauthenticated
from switchyard.sdk.client import Client
from switchyard.testing.platform import LocalPlatform


def methods() -> list[tuple[str, str, Any]]:
    """(service name, /pkg.Service/Method, method descriptor) of every RPC a client calls."""
    for info in pkgutil.iter_modules(protos.__path__):
        if info.name.endswith("_pb2"):
            importlib.import_module(f"{protos.__name__}.{info.name}")
    pool = descriptor_pool.Default()
    found = []
    for spec in service_spec.client_services():
        for full in spec.grpc_services:
            for m in pool.FindServiceByName(full).methods:
                found.append((spec.name, f"/{full}/{m.name}", m))
    return found


METHODS = methods()
MUTATING = [(s, p, m) for s, p, m in METHODS if required_role(p) != 1]


def call(address: str, path: str, method: Any, token: str | None) -> grpc.StatusCode:
    """The status of `path` called with an empty request (OK when it answered)."""
    metadata = (authorization(token),) if token else None
    with grpc.insecure_channel(address) as channel:
        ident = (lambda b: b), (lambda b: b)
        try:
            if method.client_streaming:
                channel.stream_unary(path, *ident)(iter([b""]), metadata=metadata, timeout=10)
            elif method.server_streaming:
                next(iter(channel.unary_stream(path, *ident)(b"", metadata=metadata, timeout=10)))
            else:
                channel.unary_unary(path, *ident)(b"", metadata=metadata, timeout=10)
        except grpc.RpcError as exc:
            return exc.code()  # type: ignore[no-any-return]
        except StopIteration:
            pass
    return grpc.StatusCode.OK


@pytest.fixture(scope="module")
def admin(switchyard_platform: LocalPlatform) -> Iterator[Client]:
    with Client(settings=switchyard_platform.client_settings()) as c:
        yield c


@pytest.fixture(scope="module")
def viewer(admin: Client) -> str:
    return admin.create_token("auth-viewer", role="viewer").secret


@pytest.fixture(scope="module")
def editor(admin: Client) -> str:
    return admin.create_token("auth-editor", role="editor").secret


def test_every_rpc_without_a_token_is_unauthenticated(
    switchyard_platform: LocalPlatform,
) -> None:
    grpc_map = switchyard_platform.endpoints.grpc
    refused = {path: call(grpc_map[s], path, m, None) for s, path, m in METHODS}
    assert set(refused.values()) == {grpc.StatusCode.UNAUTHENTICATED}, refused
    bogus = {path: call(grpc_map[s], path, m, "syt_nope") for s, path, m in METHODS[:5]}
    assert set(bogus.values()) == {grpc.StatusCode.UNAUTHENTICATED}, bogus


def test_a_viewer_may_read_and_never_write(
    switchyard_platform: LocalPlatform, viewer: str, admin: Client
) -> None:
    grpc_map = switchyard_platform.endpoints.grpc
    before = len(admin.search_experiments())
    denied = {path: call(grpc_map[s], path, m, viewer) for s, path, m in MUTATING}
    assert set(denied.values()) == {grpc.StatusCode.PERMISSION_DENIED}, denied
    reads = [(s, p, m) for s, p, m in METHODS if required_role(p) == 1]
    answered = {path: call(grpc_map[s], path, m, viewer) for s, path, m in reads}
    assert not {grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED} & set(
        answered.values()
    ), answered
    assert len(admin.search_experiments()) == before  # nothing was written


def test_an_editor_writes_but_does_not_manage_tokens(
    switchyard_platform: LocalPlatform, editor: str, uniq: Any
) -> None:
    settings = Settings(home=switchyard_platform.settings.home, token=editor)
    with Client(settings=settings) as c:
        c.create_experiment(uniq("editor"))
        assert c.whoami().role == "editor"
        with pytest.raises(PermissionDenied, match="needs the admin role"):
            c.create_token("not-allowed", role="admin")


def test_revoked_and_expired_tokens_are_refused(
    switchyard_platform: LocalPlatform, admin: Client
) -> None:
    made = admin.create_token("auth-revoked", role="editor")
    settings = Settings(home=switchyard_platform.settings.home, token=made.secret)
    with Client(settings=settings) as c:
        assert c.whoami().token_id == made.info.token_id
        c.search_experiments()  # cached as good in every service it reached
        admin.revoke_token(made.info.token_id)
        time.sleep(1.1)  # a verification holds for a second
        with pytest.raises(Unauthenticated, match="revoked"):
            c.search_experiments()
    short = admin.create_token("auth-short", role="viewer", expires_in_s=1)
    settings = Settings(home=switchyard_platform.settings.home, token=short.secret)
    with Client(settings=settings) as c:
        c.search_experiments()
        time.sleep(1.1)
        with pytest.raises(Unauthenticated, match="expired"):
            c.search_experiments()
    listed = {t.token_id: t for t in admin.list_tokens(include_revoked=True)}
    assert listed[made.info.token_id].revoked_ms > 0
    assert made.info.token_id not in {t.token_id for t in admin.list_tokens()}


def test_bad_token_requests_name_the_field(admin: Client) -> None:
    with pytest.raises(InvalidArgument) as bad:
        admin.create_token("has space")
    assert bad.value.field == "name"
    with pytest.raises(InvalidArgument) as bad:
        admin.create_token("ok", role="owner")
    assert bad.value.field == "role"
    with pytest.raises(InvalidArgument) as bad:
        admin.create_token("ok", project="elsewhere")
    assert bad.value.field == "project"
    with pytest.raises(InvalidArgument) as bad:
        admin.revoke_token("not-an-id")
    assert bad.value.field == "token_id"


def test_no_secret_is_stored_or_listed(admin: Client) -> None:
    made = admin.create_token("auth-listed", role="viewer")
    assert made.secret.startswith("syt_") and "***" in repr(made)
    listed = json.dumps([t.__dict__ for t in admin.list_tokens()])
    assert made.secret not in listed


# ---- the HTTP edge ----------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


def http(
    url: str, *, method: str = "GET", body: Any = None, form: Any = None, headers: Any = None
) -> tuple[int, Any]:
    """(status, response) without following redirects; `body` as JSON, `form` as a form."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if form is not None:
        request.data = urllib.parse.urlencode(form).encode()
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        response = urllib.request.build_opener(_NoRedirect).open(request, timeout=10)
    except urllib.error.HTTPError as exc:
        with exc:  # read and closed here: an open one warns wherever it is collected
            exc.body = exc.read()
        return exc.code, exc
    with response:
        response.body = response.read()
        return response.status, response


def test_the_rest_api_needs_a_token_and_honours_roles(
    switchyard_platform: LocalPlatform, viewer: str, uniq: Any
) -> None:
    web = switchyard_platform.endpoints.http["web"]
    admin_token = switchyard_platform.token
    search = f"{web}/api/2.0/mlflow/experiments/search?max_results=1"
    status, answer = http(search)
    assert status == 401 and "Bearer" in answer.headers["WWW-Authenticate"]
    assert json.loads(answer.body)["error_code"] == "UNAUTHENTICATED"
    assert http(search, headers={"Authorization": "Bearer syt_wrong"})[0] == 401
    assert http(search, headers={"Authorization": f"Bearer {viewer}"})[0] == 200
    basic = base64.b64encode(f"anyone:{viewer}".encode()).decode()
    assert http(search, headers={"Authorization": f"Basic {basic}"})[0] == 200
    create = f"{web}/api/2.0/mlflow/experiments/create"
    status, answer = http(
        create, method="POST", body={"name": uniq()}, headers={"Authorization": f"Bearer {viewer}"}
    )
    assert status == 403 and json.loads(answer.body)["error_code"] == "PERMISSION_DENIED"
    status, _ = http(
        create,
        method="POST",
        body={"name": uniq()},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert status == 200
    assert http(f"{web}/health")[0] == 200  # probes stay open


def test_the_ui_sends_a_browser_to_sign_in(switchyard_platform: LocalPlatform) -> None:
    web = switchyard_platform.endpoints.http["web"]
    status, answer = http(f"{web}/experiments?x=1")
    assert status == 303 and answer.headers["Location"] == "/login?next=%2Fexperiments%3Fx%3D1"
    assert http(f"{web}/login")[0] == 200
    login = f"{web}/login"
    assert http(login, method="POST", form={"token": "syt_wrong", "next": "/x"})[0] == 401
    status, answer = http(
        login, method="POST", form={"token": switchyard_platform.token, "next": "//evil"}
    )
    assert status == 303 and answer.headers["Location"] == "/"  # never off the site
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    jar = cookie.split(";", 1)[0]
    assert http(f"{web}/experiments", headers={"Cookie": jar})[0] == 200


def test_a_job_calls_as_an_editor_not_as_its_workers_admin(
    switchyard_workers: Any, admin: Client, switchyard_platform: LocalPlatform
) -> None:
    """An editor's job must not hold the platform's admin token through its worker."""
    import sys

    from switchyard.sdk.jobs import JobsClient
    from switchyard.testing.workers import new_pool

    pool = switchyard_workers(new_pool("auth"), cpus=1)[0].pool
    script = "import switchyard as sy; t = sy.Client().whoami(); print(t.role, t.name)"
    with JobsClient(settings=switchyard_platform.client_settings()) as jobs:
        job = jobs.submit_job([sys.executable, "-c", script], pool=pool, cpus=0.5)
        assert job.wait(timeout=60).state == "SUCCEEDED", job.logs()
        role, name = job.logs().split()
    assert role == "editor" and name.startswith("jobs@")
    made = next(t for t in admin.list_tokens() if t.name == name)
    assert made.expires_ms > 0  # and revoked when its worker stops
