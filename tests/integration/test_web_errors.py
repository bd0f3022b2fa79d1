"""Bad requests through raw HTTP get MLflow's error codes and 4xx, never 5xx."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from switchyard.testing.platform import LocalPlatform

API = "/api/2.0/mlflow"


@pytest.fixture(scope="module")
def web(switchyard_platform: LocalPlatform) -> Iterator[tuple[str, requests.Session]]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {switchyard_platform.token}"
        yield switchyard_platform.endpoints.http["web"], session


@pytest.fixture(scope="module")
def run_id(web: tuple[str, requests.Session]) -> str:
    url, s = web
    exp = s.post(f"{url}{API}/experiments/create", json={"name": f"e-{uuid.uuid4().hex[:8]}"})
    assert exp.status_code == 200, exp.text
    run = s.post(f"{url}{API}/runs/create", json={"experiment_id": exp.json()["experiment_id"]})
    return str(run.json()["run"]["info"]["run_id"])


def call(web: tuple[str, requests.Session], method: str, path: str, **kw: Any) -> Any:
    url, s = web
    return s.request(method, f"{url}{path}", **kw)


def expect(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error_code"] == code, body
    assert body["message"]
    return body


def test_malformed_json(web: tuple[str, requests.Session]) -> None:
    r = call(
        web,
        "POST",
        f"{API}/runs/create",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    expect(r, 400, "INVALID_PARAMETER_VALUE")
    r = call(web, "POST", f"{API}/runs/create", json=[1, 2])
    expect(r, 400, "INVALID_PARAMETER_VALUE")


def test_wrong_types(web: tuple[str, requests.Session], run_id: str) -> None:
    r = call(
        web,
        "POST",
        f"{API}/runs/log-metric",
        json={"run_id": run_id, "key": "m", "value": "abc", "timestamp": 1},
    )
    expect(r, 400, "INVALID_PARAMETER_VALUE")
    r = call(
        web,
        "POST",
        f"{API}/runs/log-metric",
        json={"run_id": run_id, "key": "m", "value": 1.0, "timestamp": "yesterday"},
    )
    assert "timestamp" in expect(r, 400, "INVALID_PARAMETER_VALUE")["message"]
    r = call(web, "POST", f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": {"a": 1}})
    expect(r, 400, "INVALID_PARAMETER_VALUE")
    r = call(web, "POST", f"{API}/runs/search", json={"experiment_ids": ["0"], "max_results": True})
    expect(r, 400, "INVALID_PARAMETER_VALUE")
    r = call(web, "POST", f"{API}/runs/log-metric", json={"run_id": run_id, "value": 1.0})
    assert "'key'" in expect(r, 400, "INVALID_PARAMETER_VALUE")["message"]
    # non-finite values as protobuf JSON writes them are accepted
    r = call(
        web,
        "POST",
        f"{API}/runs/log-metric",
        json={"run_id": run_id, "key": "nan", "value": "NaN", "timestamp": 1},
    )
    assert r.status_code == 200, r.text


def test_over_long_keys_and_bad_filters(web: tuple[str, requests.Session], run_id: str) -> None:
    r = call(
        web,
        "POST",
        f"{API}/runs/log-parameter",
        json={"run_id": run_id, "key": "k" * 251, "value": "v"},
    )
    expect(r, 400, "INVALID_PARAMETER_VALUE")
    r = call(
        web, "POST", f"{API}/runs/set-tag", json={"run_id": run_id, "key": "../x", "value": "v"}
    )
    expect(r, 400, "INVALID_PARAMETER_VALUE")
    r = call(
        web,
        "POST",
        f"{API}/runs/search",
        json={"experiment_ids": ["0"], "filter": "metrics.acc >>> 1"},
    )
    expect(r, 400, "INVALID_PARAMETER_VALUE")


def test_over_limit_batches(web: tuple[str, requests.Session], run_id: str) -> None:
    metric = {"key": "m", "value": 1.0, "timestamp": 1, "step": 0}
    r = call(
        web, "POST", f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": [metric] * 1001}
    )
    assert "metrics" in expect(r, 400, "INVALID_PARAMETER_VALUE")["message"]
    params = [{"key": f"p{i}", "value": "v"} for i in range(101)]
    r = call(web, "POST", f"{API}/runs/log-batch", json={"run_id": run_id, "params": params})
    assert "params" in expect(r, 400, "INVALID_PARAMETER_VALUE")["message"]
    tags = [{"key": f"t{i}", "value": "v"} for i in range(101)]
    r = call(web, "POST", f"{API}/runs/log-batch", json={"run_id": run_id, "tags": tags})
    assert "tags" in expect(r, 400, "INVALID_PARAMETER_VALUE")["message"]
    r = call(
        web,
        "POST",
        f"{API}/runs/log-batch",
        json={"run_id": run_id, "metrics": [metric] * 950, "params": params[:60]},
    )
    expect(r, 400, "INVALID_PARAMETER_VALUE")
    # nothing of a refused batch was written
    got = call(web, "GET", f"{API}/runs/get", params={"run_id": run_id}).json()
    assert got["run"]["data"]["params"] == []


def test_unknown_ids_and_names(web: tuple[str, requests.Session]) -> None:
    r = call(web, "GET", f"{API}/runs/get", params={"run_id": "0" * 32})
    expect(r, 404, "RESOURCE_DOES_NOT_EXIST")
    r = call(web, "GET", f"{API}/runs/get", params={"run_id": "not-a-run"})
    expect(r, 404, "RESOURCE_DOES_NOT_EXIST")
    r = call(web, "GET", f"{API}/experiments/get", params={"experiment_id": "987654321"})
    expect(r, 404, "RESOURCE_DOES_NOT_EXIST")
    r = call(web, "GET", f"{API}/experiments/get-by-name", params={"experiment_name": "nope-x"})
    expect(r, 404, "RESOURCE_DOES_NOT_EXIST")
    r = call(web, "GET", f"{API}/logged-models/m-{'0' * 32}")
    expect(r, 404, "RESOURCE_DOES_NOT_EXIST")
    r = call(web, "GET", f"{API}/registered-models/get", params={"name": "nope-x"})
    expect(r, 404, "RESOURCE_DOES_NOT_EXIST")
    r = call(web, "GET", f"{API}/runs/get")
    assert "run_id" in expect(r, 400, "INVALID_PARAMETER_VALUE")["message"]


def test_already_exists_is_400(web: tuple[str, requests.Session]) -> None:
    name = f"dup-{uuid.uuid4().hex[:8]}"
    assert call(web, "POST", f"{API}/experiments/create", json={"name": name}).status_code == 200
    r = call(web, "POST", f"{API}/experiments/create", json={"name": name})
    expect(r, 400, "RESOURCE_ALREADY_EXISTS")


def test_unknown_endpoints(web: tuple[str, requests.Session]) -> None:
    expect(call(web, "POST", f"{API}/no-such-thing", json={}), 404, "ENDPOINT_NOT_FOUND")
    expect(call(web, "GET", "/api/3.0/mlflow/traces"), 404, "ENDPOINT_NOT_FOUND")
    expect(call(web, "GET", f"{API}/runs/create"), 404, "ENDPOINT_NOT_FOUND")
    r = call(web, "POST", "/api/2.0/mlflow-artifacts/mpu/create/a/b.bin", json={})
    expect(r, 501, "NOT_IMPLEMENTED")
    assert call(web, "GET", "/health").text == "OK"


def test_artifact_paths_cannot_escape(web: tuple[str, requests.Session]) -> None:
    r = call(web, "PUT", "/api/2.0/mlflow-artifacts/artifacts/a/../../etc/x", data=b"x")
    assert r.status_code in (400, 404)
    r = call(web, "GET", "/api/2.0/mlflow-artifacts/artifacts/no/such/file.txt")
    expect(r, 404, "RESOURCE_DOES_NOT_EXIST")


def test_text_that_cannot_be_stored_is_a_400_and_writes_nothing(
    web: tuple[str, requests.Session], run_id: str
) -> None:
    """Lone surrogates (a JSON escape with no UTF-8 form), NUL in a filter, bodies nested
    100,000 deep and an int32 out of range: 400s naming the field, not 500s."""
    raw = {"Content-Type": "application/json"}
    quoted = json.dumps(run_id)
    bad_key = ('{"run_id": ' + quoted + ', "key": "a\\ud800", "value": "v"}').encode()
    bad_value = ('{"run_id": ' + quoted + ', "key": "lone", "value": "\\ud800"}').encode()
    for body in (bad_key, bad_value):
        r = call(web, "POST", f"{API}/runs/log-parameter", data=body, headers=raw)
        assert "surrogate" in expect(r, 400, "INVALID_PARAMETER_VALUE")["message"]
    r = call(web, "POST", f"{API}/experiments/create", data=b'{"name": "x\\udfff"}', headers=raw)
    expect(r, 400, "INVALID_PARAMETER_VALUE")
    paired = ('{"run_id": ' + quoted + ', "key": "emoji", "value": "\\ud83d\\ude00"}').encode()
    assert call(web, "POST", f"{API}/runs/log-parameter", data=paired, headers=raw).ok
    run = call(web, "GET", f"{API}/runs/get", params={"run_id": run_id}).json()["run"]
    params = {p["key"]: p["value"] for p in run["data"].get("params", [])}
    assert params.get("emoji") == "\U0001f600" and "lone" not in params

    experiment = run["info"]["experiment_id"]
    r = call(
        web,
        "POST",
        f"{API}/runs/search",
        json={"experiment_ids": [experiment], "filter": "params.a = 'x\u0000'"},
    )
    assert "NUL" in expect(r, 400, "INVALID_PARAMETER_VALUE")["message"]
    deep = b"[" * 100_000 + b"]" * 100_000
    r = call(web, "POST", f"{API}/runs/search", data=deep, headers=raw)
    expect(r, 400, "INVALID_PARAMETER_VALUE")
    for path in ("runs/search", "experiments/search"):
        body = {"max_results": 10**12, "experiment_ids": [experiment]}
        r = call(web, "POST", f"{API}/{path}", json=body)
        assert "max_results" in expect(r, 400, "INVALID_PARAMETER_VALUE")["message"]
