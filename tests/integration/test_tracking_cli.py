"""`switchyard experiments | runs | artifacts | jobs` commands against the test platform,
as a user types them; `events tail` prints a line per event."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

import switchyard as sy
from switchyard.cli.events_cmd import summary
from switchyard.cli.main import app
from switchyard.core.config import Settings
from switchyard.sdk.jobs import JobsClient
from switchyard.testing.workers import WorkerProcess


def _runner(settings: Settings) -> CliRunner:
    return CliRunner(env={"SWITCHYARD_HOME": str(settings.home), "COLUMNS": "200"})


def test_experiments_and_runs(
    switchyard_client: sy.Client, switchyard_settings: Settings, uniq: Callable[..., str]
) -> None:
    cli = _runner(switchyard_settings)
    name = uniq("exp")
    made = cli.invoke(app, ["experiments", "create", name])
    assert made.exit_code == 0, made.output
    exp_id = made.output.strip()
    runs = []
    for lr in ("0.1", "0.2"):
        run = switchyard_client.create_run(exp_id, run_name=f"lr-{lr}")
        switchyard_client.log_param(run.info.run_id, "lr", lr)
        switchyard_client.log_param(run.info.run_id, "layers", "3")
        switchyard_client.log_metric(run.info.run_id, "loss", float(lr) / 2)
        runs.append(run.info.run_id)

    shown = cli.invoke(app, ["runs", "show", runs[0]])
    assert shown.exit_code == 0, shown.output
    assert runs[0] in shown.output and "lr" in shown.output and "0.05" in shown.output

    compared = cli.invoke(app, ["runs", "compare", *runs])
    assert compared.exit_code == 0, compared.output
    assert "param lr" in compared.output and "metric loss" in compared.output
    assert "layers" not in compared.output  # equal rows only with --all
    assert "layers" in cli.invoke(app, ["runs", "compare", "--all", *runs]).output
    assert cli.invoke(app, ["runs", "compare", runs[0]]).exit_code == 2

    gone = cli.invoke(app, ["runs", "delete", runs[1]])
    assert gone.exit_code == 0, gone.output
    assert switchyard_client.get_run(runs[1]).info.lifecycle_stage == "deleted"
    deleted = cli.invoke(app, ["experiments", "delete", name])
    assert deleted.exit_code == 0, deleted.output
    assert switchyard_client.get_experiment(exp_id).lifecycle_stage == "deleted"
    missing = cli.invoke(app, ["runs", "show", "0" * 32])
    assert missing.exit_code == 1 and "Traceback" not in missing.output


def test_artifacts_ls_and_download(
    switchyard_client: sy.Client, switchyard_settings: Settings, tmp_path: Path
) -> None:
    cli = _runner(switchyard_settings)
    run_id = switchyard_client.create_run("0").info.run_id
    src = tmp_path / "src"
    (src / "plots").mkdir(parents=True)
    (src / "model.json").write_text('{"w": [1, 2]}')
    (src / "plots" / "loss.csv").write_text("step,loss\n0,1.0\n")
    switchyard_client.log_artifacts(run_id, src)

    listed = cli.invoke(app, ["artifacts", "ls", run_id])
    assert listed.exit_code == 0, listed.output
    assert "model.json" in listed.output and "plots/" in listed.output

    out = tmp_path / "out"
    got = cli.invoke(app, ["artifacts", "download", run_id, "--dst", str(out)])
    assert got.exit_code == 0, got.output
    assert (out / "plots" / "loss.csv").read_text() == "step,loss\n0,1.0\n"
    assert "2 files" in got.output
    one = cli.invoke(app, ["artifacts", "download", run_id, "model.json", "-o", str(out / "one")])
    assert one.exit_code == 0, one.output
    assert json.loads((out / "one" / "model.json").read_text()) == {"w": [1, 2]}


def test_jobs_show_wait_retry_and_cancel_of_an_ended_job(
    switchyard_settings: Settings, switchyard_workers: Callable[..., list[WorkerProcess]]
) -> None:
    [worker] = switchyard_workers()
    cli = _runner(switchyard_settings)
    with JobsClient(settings=switchyard_settings) as jobs:
        job = jobs.submit_job(["sh", "-c", "exit 3"], name="cli-retry", pool=worker.pool)
        waited = cli.invoke(app, ["jobs", "wait", job.id, "--timeout", "60"])
        assert waited.exit_code == 1 and "FAILED" in waited.output, waited.output
        shown = cli.invoke(app, ["jobs", "show", job.id])
        assert shown.exit_code == 0, shown.output
        assert "FAILED (exit code 3)" in shown.output and "sh -c 'exit 3'" in shown.output
        again = cli.invoke(app, ["jobs", "retry", job.id])
        assert again.exit_code == 0, again.output
        retried = jobs.get_job(again.output.strip())
        assert retried.id != job.id and list(retried.spec.command) == ["sh", "-c", "exit 3"]
        ended = cli.invoke(app, ["jobs", "cancel", job.id])
        assert ended.exit_code == 1 and "already ended FAILED" in ended.output
        rerun = cli.invoke(app, ["jobs", "rerun", job.id, "--env", "X=1", "--name", "again"])
        assert rerun.exit_code == 0, rerun.output
        rerun_job = jobs.get_job(rerun.output.strip())
        assert (rerun_job.spec.rerun_of, rerun_job.name) == (job.id, "again")
        assert dict(rerun_job.spec.env) == {"X": "1"}
        bad = cli.invoke(app, ["jobs", "rerun", job.id, "--env", "=1"])
        assert bad.exit_code == 2 and "KEY=VALUE" in bad.output


def test_an_event_is_one_readable_line() -> None:
    line = summary({"info": {"run_id": "r1", "status": "RUN_STATUS_FINISHED"}, "values": [1] * 500})
    assert line == "info.run_id=r1 info.status=RUN_STATUS_FINISHED values=[500]"
    assert len(summary({f"k{i}": "x" * 30 for i in range(20)})) <= 160


def test_listings_fit_the_terminal_without_cutting(
    switchyard_client: sy.Client, switchyard_settings: Settings, uniq: Callable[..., str]
) -> None:
    exp_id = switchyard_client.create_experiment(uniq("wide"))
    run = switchyard_client.create_run(exp_id, run_name="a-rather-long-run-name")
    for key in ("accuracy", "f1_score", "precision", "recall_at_k", "val_loss"):
        switchyard_client.log_metric(run.info.run_id, key, 0.5)
    switchyard_client.set_terminated(run.info.run_id)
    narrow = CliRunner(env={"SWITCHYARD_HOME": str(switchyard_settings.home)})
    listed = narrow.invoke(app, ["runs", "ls", "-e", exp_id], terminal_width=80)
    assert listed.exit_code == 0, listed.output
    assert run.info.run_id in listed.output and "…" not in listed.output
    assert "FINISHED" in listed.output and "val_loss" not in listed.output  # it did not fit
    wide = narrow.invoke(app, ["runs", "ls", "-e", exp_id, "--wide"], terminal_width=80)
    assert "val_loss" in wide.output and "accuracy" in wide.output, wide.output
