"""OIDC access tokens: JWTs from an issuer this test makes (its own keys, its own JWKS).

A platform of its own (tracking, registry, web) trusts the issuer; every
service checks a JWT with the issuer's published keys, and the role and
project come from the token's claims.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import require_module

from switchyard.core.config import Settings
from switchyard.errors import PermissionDenied, Unauthenticated
from switchyard.sdk.client import Client
from switchyard.testing.platform import Infrastructure, LocalPlatform

jwt = require_module("jwt", "pip install 'pyjwt[crypto]'")
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

AUDIENCE = "switchyard"


class Issuer:
    """An identity provider in miniature: a key pair and its JWKS over HTTP."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwks = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]})

        class Keys(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = jwks.encode() if self.path == "/.well-known/jwks.json" else b""
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, key: Any = None, kid: str = "k1", **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": "alice",
            "email": "alice@example.com",
            "iat": now,
            "exp": now + 300,
            "switchyard_role": "viewer",
            **claims,
        }
        body = {k: v for k, v in body.items() if v is not None}
        return str(jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": kid}))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    made = Issuer()
    yield made
    made.close()


@pytest.fixture(scope="module")
def platform(
    switchyard_infra: Infrastructure, issuer: Issuer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalPlatform]:
    home = tmp_path_factory.mktemp("oidc") / "home"
    with LocalPlatform(
        switchyard_infra,
        home,
        services=("tracking", "registry", "web"),
        oidc_issuer=issuer.url,
        oidc_audience=AUDIENCE,
    ) as started:
        yield started


def client(platform: LocalPlatform, token: str) -> Client:
    return Client(settings=Settings(home=platform.settings.home, token=token))


def test_a_viewer_jwt_reads_and_an_editor_jwt_writes(
    platform: LocalPlatform, issuer: Issuer
) -> None:
    with client(platform, issuer.token()) as viewer:
        viewer.search_experiments()
        me = viewer.whoami()
        assert (me.name, me.role, me.project) == ("alice@example.com", "viewer", "default")
        assert me.token_id.startswith("jwt:") and me.expires_ms > time.time() * 1000
        with pytest.raises(PermissionDenied, match="needs the editor role"):
            viewer.create_experiment(f"oidc-{time.time_ns()}")
        viewer.search_registered_models()  # the registry checks it on its own
    with client(platform, issuer.token(switchyard_role="editor", sub="bob", email=None)) as c:
        c.create_experiment(f"oidc-{time.time_ns()}")
        assert c.whoami().name == "bob"


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"exp": int(time.time()) - 10}, "expired"),
        ({"aud": "someone-else"}, "(?i)audience"),
        ({"iss": "https://elsewhere.example"}, "issuer"),
        ({"switchyard_role": None}, "no 'switchyard_role' claim"),
        ({"switchyard_role": "owner"}, "no 'switchyard_role' claim"),
        ({"kid": "k2"}, "no signing key|signing key that matches"),
    ],
)
def test_bad_jwts_are_refused(
    platform: LocalPlatform, issuer: Issuer, claims: dict[str, Any], why: str
) -> None:
    kid = claims.pop("kid", "k1")
    with client(platform, issuer.token(kid=kid, **claims)) as c:
        with pytest.raises(Unauthenticated, match=why):
            c.search_experiments()


def test_a_jwt_signed_by_another_key_is_refused(platform: LocalPlatform, issuer: Issuer) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with client(platform, issuer.token(key=forger, switchyard_role="admin")) as c:
        with pytest.raises(Unauthenticated, match=r"[Ss]ignature"):
            c.search_experiments()


def test_the_rest_api_takes_a_jwt(platform: LocalPlatform, issuer: Issuer, tmp_path: Path) -> None:
    import requests

    web = platform.endpoints.http["web"]
    search = f"{web}/api/2.0/mlflow/experiments/search?max_results=1"
    viewer = {"Authorization": f"Bearer {issuer.token()}"}
    assert requests.get(search, headers=viewer, timeout=10).status_code == 200
    create = f"{web}/api/2.0/mlflow/experiments/create"
    refused = requests.post(create, json={"name": "x"}, headers=viewer, timeout=10)
    assert refused.status_code == 403
    expired = {"Authorization": f"Bearer {issuer.token(exp=int(time.time()) - 10)}"}
    assert requests.get(search, headers=expired, timeout=10).status_code == 401
