"""`switchyard deployments ls | show | scale | rollback | promote | delete` and
`switchyard predict NAME --json FILE`: model deployments on the inference gateway."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from switchyard.cli.errors import reported
from switchyard.cli.tables import fold

if TYPE_CHECKING:
    import numpy as np

    from switchyard.sdk.serving import Deployment

deployments = typer.Typer(
    help="Model deployments on the inference gateway (sy.deploy).", no_args_is_help=True
)
console = Console()
errors = Console(stderr=True)  # `predict` keeps stdout for its JSON
_COLOURS = {"READY": "green", "PENDING": "cyan", "IDLE": "dim", "FAILED": "red"}
NameArg = Annotated[str, typer.Argument(help="Deployment name")]


def _state(state: str) -> str:
    return f"[{_COLOURS.get(state, 'white')}]{state}[/]"


def _get(name: str) -> Deployment:
    from switchyard.sdk.serving import get_deployment

    with reported():
        return get_deployment(name)


def _canary(d: Deployment) -> str:
    c = d.canary
    if c is None:
        return ""
    version = f" v{c.version}" if c.version else ""
    return f"{c.percent:g}%{version}"


@deployments.command("ls")
def list_deployments() -> None:
    """Deployments: model, version, state, ready/desired replicas, canary, OIP URL."""
    from switchyard.sdk.serving import list_deployments as found

    with reported():
        rows = found()
    table = Table("name", "model", "version", "state", "replicas", "canary", "url")
    for d in rows:
        table.add_row(
            d.name,
            escape(d.model_uri),
            d.version or "",
            _state(d.state),
            f"{d.replicas}/{d.desired_replicas}",
            _canary(d),
            d.url or "",
        )
    console.print(fold(table))


def _age(ms: int) -> str:
    if not ms:
        return ""
    seconds = max(0.0, time.time() - ms / 1000)
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m" if seconds < 7200 else f"{seconds / 3600:.1f}h"


def _show(d: Deployment) -> None:
    spec = d.spec
    console.print(f"[bold]{d.name}[/bold]  {escape(d.model_uri)}  {_state(d.state)}")
    if d.message:
        console.print(f"  {escape(d.message)}")
    if d.url:
        console.print(f"  url: {d.url}")
    r = spec.resources
    memory = f", {r.memory_mb} MB" if r.memory_mb else ""
    gpus = f", {r.gpus} GPU {r.gpu_type}".rstrip() if r.gpus else ""
    console.print(
        f"  replicas {spec.min_replicas}..{spec.max_replicas}, desired {d.desired_replicas},"
        f" observed concurrency {d.proto.observed_concurrency:.2f}"
        f" (target {spec.target_concurrency:g} per replica)"
    )
    batching = (
        f"batches of up to {spec.max_batch_size} within {spec.max_batch_delay_ms:g} ms"
        if spec.max_batch_size > 1
        else "no batching"
    )
    console.print(
        f"  {r.cpus or 1:g} CPU{memory}{gpus} per replica, pool {spec.pool or 'default'};"
        f" {batching}"
    )
    revisions = Table(
        "revision", "role", "model", "version", "traffic", "replicas", "requests", "errors",
        "p99 ms", title="revisions",
    )  # fmt: skip
    for rev in d.revisions:
        revisions.add_row(
            str(rev.revision),
            rev.role,
            escape(rev.model_uri),
            rev.version,
            f"{rev.percent:g}%",
            f"{rev.ready_replicas}/{rev.replicas}",
            str(rev.requests),
            str(rev.errors),
            f"{rev.p99_ms:.1f}" if rev.requests else "",
        )
    console.print(fold(revisions))
    replicas = Table(
        "job", "revision", "state", "in flight", "worker", "http", "grpc", "age", title="replicas"
    )
    for rep in d.replica_list:
        replicas.add_row(
            rep.job_id,
            str(rep.revision),
            rep.state,
            str(rep.in_flight),
            rep.worker_id,
            rep.http_address,
            rep.grpc_address,
            _age(rep.created_ms),
        )
    console.print(fold(replicas))


@deployments.command("show")
def show(name: NameArg) -> None:
    """A deployment: its spec, revisions (traffic, requests, errors, p99) and replicas."""
    _show(_get(name))


@deployments.command("scale")
def scale(
    name: NameArg,
    min_replicas: Annotated[
        int | None, typer.Option("--min", min=0, help="Fewest replicas (0: scale to zero)")
    ] = None,
    max_replicas: Annotated[int | None, typer.Option("--max", min=1, help="Most replicas")] = None,
) -> None:
    """Change a deployment's replica bounds (one left out keeps its value)."""
    if min_replicas is None and max_replicas is None:
        raise typer.BadParameter("give --min, --max or both")
    with reported():
        d = _get(name).scale(min_replicas=min_replicas, max_replicas=max_replicas)
    console.print(f"{d.name}: replicas {d.spec.min_replicas}..{d.spec.max_replicas}")


@deployments.command("rollback")
def rollback(name: NameArg) -> None:
    """End the canary now: all traffic to the stable version."""
    with reported():
        d = _get(name).rollback()
    console.print(f"{d.name}: rolled back, {d.version or '?'} serves all traffic")


@deployments.command("promote")
def promote(name: NameArg) -> None:
    """Make the canary the stable version."""
    with reported():
        d = _get(name).promote()
    console.print(f"{d.name}: promoted, {escape(d.model_uri)} is stable")


@deployments.command("delete")
def delete(
    name: NameArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False,
) -> None:
    """Delete a deployment: its replicas drain, then stop."""
    d = _get(name)
    if not yes:
        typer.confirm(f"delete deployment {name}?", abort=True)
    with reported():
        d.delete()
    console.print(f"{name}: deleted")


def predict(
    name: NameArg,
    json_file: Annotated[
        str | None,
        typer.Option(
            "--json",
            help='An OIP request body, {"inputs": {name: nested list}}, or a nested list'
            " (one input); '-' reads stdin",
        ),
    ] = None,
    output: Annotated[
        list[str] | None, typer.Option("--output", "-o", help="Only these outputs")
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds")] = None,
) -> None:
    """Predict with a deployment (OIP gRPC); prints the outputs as JSON {name: nested list}."""
    from switchyard.sdk.serving.deployments import transport_for
    from switchyard.sdk.serving.predictions import infer

    if json_file is None:  # required, checked here alike under every typer release
        raise typer.BadParameter("give the request: --json FILE ('-' reads stdin)")
    inputs, wanted = parse_request(_read(json_file))
    with reported(to=errors):
        outputs = infer(transport_for(None), name, inputs, output or wanted, timeout)
    print(json.dumps({k: _jsonable(v) for k, v in outputs.items()}))


def _read(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
    except OSError as exc:
        raise typer.BadParameter(
            f"cannot read {source}: {exc.strerror}", param_hint="--json"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--json") from None


def parse_request(body: Any) -> tuple[Any, list[str]]:
    """The inputs (a dict of arrays, or one nested list) and requested outputs of a body."""
    from switchyard.serving.tensors import BadRequest, to_array

    if isinstance(body, list):
        return body, []
    if not isinstance(body, dict) or "inputs" not in body:
        raise typer.BadParameter('expected {"inputs": ...} or a nested list', param_hint="--json")
    raw = body["inputs"]
    wanted = [o["name"] for o in body.get("outputs") or () if isinstance(o, dict) and "name" in o]
    if isinstance(raw, dict):
        return raw, wanted
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise typer.BadParameter(
            '"inputs" must be a list of tensors or a dict of name -> nested list',
            param_hint="--json",
        )
    inputs = {}
    try:
        for i, tensor in enumerate(raw):
            name = tensor.get("name")
            if not isinstance(name, str):
                raise BadRequest(f"input {i} has no name")
            inputs[name] = to_array(
                tensor.get("datatype", ""), tensor.get("shape"), tensor.get("data"), name=name
            )
    except BadRequest as exc:
        raise typer.BadParameter(str(exc), param_hint="--json") from None
    return inputs, wanted


def _jsonable(array: np.ndarray) -> Any:
    if array.dtype.kind in "OS":
        return _decoded(array.tolist())
    return array.tolist()


def _decoded(value: Any) -> Any:
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value
