"""A reused trial process: `python -m switchyard.sdk.tuner._runner CODE_URI --reuse`.

With `sy.tune(fn, ..., reuse_processes=True)` the tuner keeps `parallel`
runner jobs per study; each loads `fn` once and loops: it asks the tuner
for a trial (`NextTrial`, which also ends the trial it just ran), runs
`fn(params)` inside that trial's run, and asks again until the tuner says
the study is done. Its job's env names the study and the runner's index.

A pruned trial stops at its next report: when the study prunes, every
`sy.log_metric` of the objective first asks the tuner for the trial's state
(`TrialStatus`, one small call) and raises `TrialPruned` once it is no
longer running; the runner catches it and takes the next trial. Studies
without early stopping make no such call.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from switchyard.core.config import Settings
from switchyard.proto.v1 import tuner_pb2 as pb
from switchyard.sdk import fluent
from switchyard.sdk.batcher import RunWriter
from switchyard.sdk.rpcs import tuner as rpc
from switchyard.sdk.transport import Transport

RUNNER_ENV = "SWITCHYARD_TUNER_RUNNER"  # "<study id>:<runner>", set by the tuner
MAX_MESSAGE = 2000


class TrialPruned(Exception):  # Optuna's name, which users know
    """Raised by `sy.log_metric` in a reused process when the tuner pruned the trial.

    Let it propagate out of the objective function (do not swallow it with a
    bare `except Exception`): the runner ends the trial there.
    """


class Reports:
    """What the current trial logged of its objectives; asks whether it was pruned."""

    def __init__(self, transport: Transport, study_id: str) -> None:
        self.transport = transport
        self.study_id = study_id
        self.number = -1  # no trial running
        self.metrics: tuple[str, ...] = ()
        self.pruning = False
        self.latest: dict[str, tuple[int, float]] = {}  # metric -> (step, value)

    def begin(self, reply: pb.NextTrialResponse) -> None:
        self.number = reply.number
        self.metrics = tuple(reply.metrics)
        self.pruning = reply.pruning
        self.latest = {}

    def end(self) -> None:
        self.number = -1

    def seen(self, key: str, value: float, step: int) -> None:
        """Called for every logged point (before it is queued)."""
        if self.number < 0 or key not in self.metrics:
            return
        if self.pruning and key == self.metrics[0]:
            status = self.transport.send(
                rpc.TRIAL_STATUS, pb.TrialStatusRequest(study_id=self.study_id, number=self.number)
            )
            if status.state != pb.TRIAL_RUNNING:
                raise TrialPruned(status.message or "the trial was pruned")
        last = self.latest.get(key)
        if last is None or step >= last[0]:
            self.latest[key] = (step, value)

    def next_step(self, key: str) -> int:
        last = self.latest.get(key)
        return 0 if last is None else last[0] + 1

    def values(self) -> list[float]:
        """The latest value of each objective, or none when one was never logged."""
        if any(m not in self.latest for m in self.metrics):
            return []
        return [self.latest[m][1] for m in self.metrics]


class _ReportingBatcher(RunWriter):
    """The process's background writer, showing each metric point to `Reports` first."""

    def __init__(self, client: Any, reports: Reports) -> None:
        super().__init__(client._write_runs)
        self._reports = reports

    def log(self, run_id: str, key: str, value: float, step: int, timestamp: int) -> None:
        self._reports.seen(key, value, step)
        super().log(run_id, key, value, step, timestamp)


def serve(shipped: Mapping[str, Any], settings: Settings, tag: str) -> None:
    """Run trials until the tuner says the study is done."""
    study_id, _, runner = tag.partition(":")
    transport = Transport(settings)
    reports = Reports(transport, study_id)
    client = fluent._get_client()
    # `sy.log_metric` goes through the client's batcher: reports are seen there.
    client._batcher = _ReportingBatcher(client, reports)
    finished: pb.TrialResult | None = None
    try:
        while True:
            reply = transport.send(
                rpc.NEXT_TRIAL,
                pb.NextTrialRequest(study_id=study_id, runner=int(runner), finished=finished),
            )
            finished = None
            if reply.done:
                return
            if reply.has_trial:
                finished = _run_trial(shipped, reply, reports)
    finally:
        transport.close()


def _run_trial(
    shipped: Mapping[str, Any], reply: pb.NextTrialResponse, reports: Reports
) -> pb.TrialResult:
    fn: Callable[[dict[str, Any]], Any] = shipped["fn"]
    metric: str = shipped["metric"]
    params = {k: json.loads(v) for k, v in reply.params.items()}
    result = pb.TrialResult(number=reply.number)
    fluent.start_run(run_id=reply.run_id)
    reports.begin(reply)
    try:
        value = fn(params)
        if value is not None:
            fluent.log_metric(metric, float(value), step=reports.next_step(metric))
        fluent.end_run("FINISHED")
        result.state = pb.TRIAL_COMPLETED
        result.values.extend(reports.values())
    except TrialPruned as exc:
        fluent.end_run("KILLED")
        result.state, result.message = pb.TRIAL_PRUNED, str(exc)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        fluent.end_run("FAILED")
        result.state = pb.TRIAL_FAILED
        result.message = f"{type(exc).__name__}: {exc}"[:MAX_MESSAGE]
    finally:
        reports.end()
    return result
