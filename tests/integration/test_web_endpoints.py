"""Endpoints the mlflow client's fluent API rarely calls, through raw HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from switchyard.testing.platform import LocalPlatform

API = "/api/2.0/mlflow"


@pytest.fixture(scope="module")
def web(switchyard_platform: LocalPlatform) -> Iterator[Any]:
    url = switchyard_platform.endpoints.http["web"]
    with requests.Session() as s:
        s.headers["Authorization"] = f"Bearer {switchyard_platform.token}"

        def call(method: str, path: str, **kw: Any) -> Any:
            r = s.request(method, f"{url}{path}", **kw)
            assert r.status_code == 200, r.text
            return r.json() if r.headers["content-type"] == "application/json" else r.text

        yield call


def test_history_bulk_interval(web: Any) -> None:
    exp = web("POST", f"{API}/experiments/create", json={"name": f"b-{uuid.uuid4().hex[:8]}"})
    ids = []
    for _ in range(2):
        run = web("POST", f"{API}/runs/create", json={"experiment_id": exp["experiment_id"]})
        rid = run["run"]["info"]["run_id"]
        ids.append(rid)
        metrics = [{"key": "loss", "value": i / 10, "timestamp": i, "step": i} for i in range(100)]
        web("POST", f"{API}/runs/log-batch", json={"run_id": rid, "metrics": metrics})
    got = web(
        "GET",
        f"{API}/metrics/get-history-bulk-interval",
        params={"run_ids": ids, "metric_key": "loss", "start_step": 10, "end_step": 19},
    )["metrics"]
    assert {m["run_id"] for m in got} == set(ids)
    assert sorted({m["step"] for m in got}) == list(range(10, 20))
    sampled = web(
        "GET",
        f"{API}/metrics/get-history-bulk-interval",
        params={"run_ids": ids[0], "metric_key": "loss", "max_results": 10},
    )["metrics"]
    assert 0 < len(sampled) <= 20  # downsampled server-side (a bucket keeps its extremes)
    page = web(
        "GET",
        f"{API}/metrics/get-history",
        params={"run_id": ids[0], "metric_key": "loss", "max_results": 60},
    )
    assert len(page["metrics"]) == 60 and page["next_page_token"]
    rest = web(
        "GET",
        f"{API}/metrics/get-history",
        params={"run_id": ids[0], "metric_key": "loss", "page_token": page["next_page_token"]},
    )
    assert [m["step"] for m in rest["metrics"]] == list(range(60, 100))
    assert "next_page_token" not in rest


def test_run_json_shape_and_artifact_list(web: Any) -> None:
    exp = web("POST", f"{API}/experiments/create", json={"name": f"s-{uuid.uuid4().hex[:8]}"})
    run = web(
        "POST",
        f"{API}/runs/create",
        json={"experiment_id": exp["experiment_id"], "start_time": 1234, "run_name": "r"},
    )["run"]
    info = run["info"]
    assert info["status"] == "RUNNING" and info["start_time"] == 1234
    assert info["run_uuid"] == info["run_id"] and info["lifecycle_stage"] == "active"
    assert info["artifact_uri"].startswith("mlflow-artifacts:/")
    path = info["artifact_uri"].removeprefix("mlflow-artifacts:/") + "/a/b.txt"
    web("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{path}", data=b"xyz")
    listed = web("GET", f"{API}/artifacts/list", params={"run_id": info["run_id"], "path": "a"})
    assert listed["files"] == [{"path": "a/b.txt", "is_dir": False, "file_size": 3}]
    assert listed["root_uri"] == info["artifact_uri"]
    done = web(
        "POST",
        f"{API}/runs/update",
        json={"run_id": info["run_id"], "status": "FINISHED", "end_time": 2000},
    )["run_info"]
    assert done["status"] == "FINISHED" and done["end_time"] == 2000
    assert web("GET", "/version")
    found = web("POST", f"{API}/experiments/search", json={"filter": "name = 'no-such-x'"})
    assert found["experiments"] == []
