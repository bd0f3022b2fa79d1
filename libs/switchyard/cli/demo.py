"""`switchyard up --demo`: log a small training run, then register and serve a
model through the inference gateway, so a new user sees the platform work."""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING, Any

from rich.progress import track

if TYPE_CHECKING:
    from rich.console import Console

    from switchyard.core.config import Settings


def run_demo(console: Console, settings: Settings) -> None:
    from switchyard.sdk import fluent
    from switchyard.sdk.client import Client

    fluent.reset(settings)
    fluent.set_experiment("demo")
    from switchyard.sdk.models.fluent import log_model

    with fluent.start_run(run_name="quickstart") as run:
        fluent.log_params({"lr": 0.01, "epochs": 200, "model": "mlp"})
        for step in track(range(200), description="logging a demo run", console=console):
            loss = math.exp(-step / 60) + random.random() * 0.02
            fluent.log_metrics({"loss": loss, "accuracy": 1 - loss / 2}, step=step)
        model = log_model(score, "model", registered_model_name=MODEL, flavor="python_function")
    with Client(settings=settings) as client:
        got = client.get_run(run.info.run_id)
        history = client.get_metric_history(run.info.run_id, "loss", max_points=20)
    console.print(
        f"demo run [bold]{got.info.run_id}[/bold] {got.info.status}: "
        f"loss {got.data.metrics['loss']:.4f}, accuracy {got.data.metrics['accuracy']:.4f}, "
        f"{len(history)} chart points from 200 logged"
    )
    console.print("see it with: [bold]switchyard runs ls -e demo[/bold]")
    _serve(console, settings, f"models:/{MODEL}/{model.registered_model_version}")
    fluent.reset()


MODEL = "demo-scorer"
WEIGHTS = (0.5, -0.25, 1.0, 2.0)


def score(x: Any) -> Any:
    """The demo's model: a fixed linear score of four features (no ML library needed)."""
    import numpy as np

    return np.asarray(x, dtype=np.float64) @ np.array(WEIGHTS) + 0.1


def _serve(console: Console, settings: Settings, uri: str) -> None:
    """Deploy the registered model (a replica starts on the local worker) and ask it once."""
    from switchyard.errors import NotFound
    from switchyard.sdk.serving import deploy, get_deployment, predict

    with console.status(f"serving {uri} (a replica starts on the local worker)"):
        try:
            deployment = get_deployment("demo", settings=settings).update(model_uri=uri)
        except NotFound:
            deployment = deploy(uri, "demo", settings=settings)
        deployment.wait_ready(timeout=120)
        row = [[1.0, 2.0, 3.0, 4.0]]
        answer = predict("demo", row, settings=settings)
    console.print(
        f"deployment [bold]demo[/bold] {deployment.refresh().state}: predict({row}) ="
        f" {[round(float(v), 4) for v in answer]}"
    )
    console.print(
        f'over the Open Inference Protocol: [bold]curl -s -d \'{{"inputs": [{{"name":'
        f' "input-0", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}}]}}\''
        f" {deployment.url}/infer[/bold]"
    )
