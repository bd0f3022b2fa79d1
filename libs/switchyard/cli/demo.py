"""`switchyard up --demo`: log a small training run so a new user sees it work."""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

from rich.progress import track

if TYPE_CHECKING:
    from rich.console import Console

    from switchyard.core.config import Settings


def run_demo(console: Console, settings: Settings) -> None:
    from switchyard.sdk import fluent
    from switchyard.sdk.client import Client

    fluent.reset(settings)
    fluent.set_experiment("demo")
    with fluent.start_run(run_name="quickstart") as run:
        fluent.log_params({"lr": 0.01, "epochs": 200, "model": "mlp"})
        for step in track(range(200), description="logging a demo run", console=console):
            loss = math.exp(-step / 60) + random.random() * 0.02
            fluent.log_metrics({"loss": loss, "accuracy": 1 - loss / 2}, step=step)
    with Client(settings=settings) as client:
        got = client.get_run(run.info.run_id)
        history = client.get_metric_history(run.info.run_id, "loss", max_points=20)
    console.print(
        f"demo run [bold]{got.info.run_id}[/bold] {got.info.status}: "
        f"loss {got.data.metrics['loss']:.4f}, accuracy {got.data.metrics['accuracy']:.4f}, "
        f"{len(history)} chart points from 200 logged"
    )
    console.print("see it with: [bold]switchyard runs ls -e demo[/bold]")
    fluent.reset()
