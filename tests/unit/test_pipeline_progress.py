"""What a pipeline does next from its step runs' states (services/scheduler/pipelines.py)."""

from __future__ import annotations

from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.services.scheduler.pipelines import Progress, progress
from switchyard.services.web.ui.job_pages import dag

STEPS = ["a", "b", "c"]  # c after a and b


def test_runs_until_every_step_succeeded() -> None:
    assert progress(STEPS, {}) == Progress("RUNNING")
    assert progress(STEPS, {"a": ["SUCCEEDED"], "b": ["RUNNING"]}) == Progress("RUNNING")
    done = {"a": ["SUCCEEDED"], "b": ["SUCCEEDED"], "c": ["SUCCEEDED", "SUCCEEDED"]}
    assert progress(STEPS, done) == Progress("SUCCEEDED")


def test_a_failure_waits_for_its_running_siblings_and_skips_the_rest() -> None:
    now = progress(STEPS, {"a": ["FAILED"], "b": ["QUEUED"]})
    assert now == Progress("RUNNING", skip=("c",), stopping=True)
    # c is SKIPPED now; b still runs: nothing ends, nothing starts
    now = progress(STEPS, {"a": ["FAILED"], "b": ["RUNNING"], "c": ["SKIPPED"]})
    assert now == Progress("RUNNING", stopping=True)
    now = progress(STEPS, {"a": ["FAILED"], "b": ["SUCCEEDED"], "c": ["SKIPPED"]})
    assert now == Progress("FAILED", "step 'a' failed")


def test_a_failed_fan_out_member_names_its_step_once() -> None:
    runs = {"a": ["SUCCEEDED"], "b": ["FAILED", "FAILED", "SUCCEEDED"]}
    assert progress(STEPS, runs) == Progress("FAILED", "step 'b' failed", skip=("c",))
    runs = {"a": ["SUCCEEDED"], "b": ["FAILED", "RUNNING"]}
    assert progress(STEPS, runs).state == "RUNNING"


def test_every_failed_step_is_named_in_spec_order() -> None:
    runs = {"b": ["CANCELLED"], "a": ["FAILED"]}
    now = progress(STEPS, runs)
    assert (now.state, now.message) == ("FAILED", "step 'a' failed; step 'b' cancelled")


def test_cancel_stops_starting_and_ends_cancelled_once_runs_ended() -> None:
    now = progress(STEPS, {"a": ["RUNNING"]}, cancelling=True)
    assert now == Progress("RUNNING", skip=("b", "c"), stopping=True)
    runs = {"a": ["CANCELLED"], "b": ["SKIPPED"], "c": ["SKIPPED"]}
    now = progress(STEPS, runs, cancelling=True)
    assert (now.state, now.message) == ("CANCELLED", "cancelled")
    runs = {"a": ["FAILED"], "b": ["CANCELLED"], "c": ["SKIPPED"]}
    now = progress(STEPS, runs, cancelling=True)
    assert (now.state, now.message) == ("CANCELLED", "cancelled; step 'a' failed")
    assert progress(STEPS, {}, cancelling=True) == Progress(
        "CANCELLED", "cancelled", skip=("a", "b", "c")
    )


def test_the_web_dag_draws_a_skipped_step_without_runs() -> None:
    spec = pb.PipelineSpec(
        steps=[pb.PipelineStep(name="a"), pb.PipelineStep(name="b", after=["a"])]
    )
    pipeline = pb.Pipeline(
        spec=spec,
        state=pb.PIPELINE_RUNNING,
        steps=[pb.StepRun(step="a", state="FAILED"), pb.StepRun(step="b", state="SKIPPED")],
    )
    (a,), (b,) = dag(pipeline)
    assert (a.state, b.state, b.runs) == ("FAILED", "SKIPPED", [])
