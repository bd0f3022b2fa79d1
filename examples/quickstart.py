"""Log a small training run to the platform that `switchyard up` started."""

import math
import random
import tempfile
from pathlib import Path

import switchyard as sy

sy.set_experiment("quickstart")
with sy.start_run(run_name="mlp-baseline", tags={"team": "demo"}) as run:
    sy.log_params({"lr": 0.01, "hidden": 128, "epochs": 50})
    for epoch in range(50):
        loss = math.exp(-epoch / 15) + random.random() * 0.02
        sy.log_metrics({"loss": loss, "accuracy": 1 - loss / 2}, step=epoch)
    report = Path(tempfile.mkdtemp()) / "report.txt"
    report.write_text(f"final loss {loss:.4f}\n")
    sy.log_artifact(report)

client = sy.Client()
finished = client.get_run(run.info.run_id)
print(f"run {finished.info.run_id} {finished.info.status}")
print("latest metrics:", finished.data.metrics)
print("artifacts:", [f.path for f in client.list_artifacts(run.info.run_id)])
