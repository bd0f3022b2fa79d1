"""The audit log: one row per acknowledged change, written with it; none for a refused one.

Read through the SDK (`search_audit`), the CLI and the `sy.audit.recorded`
events; the table itself refuses edits.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from typer.testing import CliRunner

import switchyard as sy
from switchyard.cli.main import app
from switchyard.core.config import Settings
from switchyard.errors import InvalidArgument, PermissionDenied
from switchyard.sdk.client import Client
from switchyard.sdk.jobs import JobsClient
from switchyard.testing.platform import LocalPlatform


@pytest.fixture(scope="module")
def admin(switchyard_platform: LocalPlatform) -> Iterator[Client]:
    with Client(settings=switchyard_platform.client_settings()) as c:
        yield c


def as_token(platform: LocalPlatform, admin: Client, name: str, role: str) -> Settings:
    secret = admin.create_token(name, role=role).secret
    return Settings(home=platform.settings.home, token=secret)


def test_a_change_has_one_row_naming_who_how_and_what(admin: Client, uniq: Any) -> None:
    from opentelemetry import trace

    from switchyard.core.telemetry import setup_tracing

    setup_tracing("test", None)
    with trace.get_tracer("test").start_as_current_span("user creates") as root:
        exp_id = admin.create_experiment(uniq("audited"))
    (record,) = admin.search_audit(entity=exp_id)
    assert (record.service, record.actor, record.project) == ("tracking", "platform", "*")
    assert record.method == "/switchyard.v1.TrackingService/CreateExperiment"
    assert record.entities == (exp_id,)
    assert record.event_types == ("sy.tracking.experiment.created",)
    assert record.peer.startswith(("ipv4:127.0.0.1:", "ipv6:[::1]:"))
    assert record.trace_id == f"{root.get_span_context().trace_id:032x}"
    assert record.token_id == admin.whoami().token_id


def test_refused_and_failed_calls_leave_no_row(
    switchyard_platform: LocalPlatform, admin: Client, uniq: Any
) -> None:
    viewer_name, editor_name = uniq("audit-viewer"), uniq("audit-editor")
    viewer = as_token(switchyard_platform, admin, viewer_name, "viewer")
    editor = as_token(switchyard_platform, admin, editor_name, "editor")
    with Client(settings=viewer) as c, pytest.raises(PermissionDenied):
        c.create_experiment(uniq("never"))
    with Client(settings=editor) as c:
        with pytest.raises(InvalidArgument):
            c.create_experiment("")
        exp_id = c.create_experiment(uniq("once"))
        with pytest.raises(sy.errors.AlreadyExists):
            c.create_experiment(c.get_experiment(exp_id).name)  # its transaction failed
        c.search_experiments()  # reads write nothing
    assert list(admin.search_audit(actor=viewer_name)) == []
    rows = admin.search_audit(actor=editor_name)
    assert [(r.method.rsplit("/", 1)[1], r.entities) for r in rows] == [
        ("CreateExperiment", (exp_id,))
    ]


def test_each_caller_of_a_shared_submit_batch_gets_its_own_row(
    switchyard_platform: LocalPlatform, admin: Client, uniq: Any
) -> None:
    """SubmitJob group-commits callers' jobs in one transaction: each row still names its own."""
    names = [uniq("submitter-a"), uniq("submitter-b")]
    settings = [as_token(switchyard_platform, admin, n, "editor") for n in names]
    made: dict[str, list[str]] = {n: [] for n in names}

    def submit(name: str, s: Settings) -> None:
        with JobsClient(settings=s) as jobs:
            for _ in range(10):
                made[name].append(jobs.submit_job("true", pool="nobody-here").id)

    pairs = zip(names, settings, strict=True)
    threads = [threading.Thread(target=submit, args=pair) for pair in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, job_ids in made.items():
        for job_id in job_ids:
            (record,) = admin.search_audit(entity=job_id)
            assert (record.service, record.actor) == ("scheduler", name)
            assert record.method == "/switchyard.v1.SchedulerService/SubmitJob"
    with JobsClient(settings=switchyard_platform.client_settings()) as jobs:
        for job_id in made[names[0]] + made[names[1]]:
            jobs.cancel_job(job_id)


def test_changes_without_events_are_audited_too(admin: Client, uniq: Any) -> None:
    made = admin.create_token(uniq("audit-token"), role="viewer")
    admin.revoke_token(made.info.token_id)
    rows = admin.search_audit(entity=made.info.token_id)
    assert [r.event_types for r in rows] == [
        ("sy.access.token.revoked",),
        ("sy.access.token.created",),
    ]
    queue = uniq("audited-q").replace("_", "-").lower()
    with JobsClient(settings=Settings(home=admin.settings.home)) as jobs:
        jobs.create_queue(queue, max_cpus=2)
        jobs.pause_queue(queue)
        jobs.delete_queue(queue)
    methods = [r.method.rsplit("/", 1)[1] for r in admin.search_audit(entity=queue)]
    assert methods == ["DeleteQueue", "UpdateQueue", "CreateQueue"]


def test_the_log_cannot_be_edited(switchyard_platform: LocalPlatform, admin: Client) -> None:
    schema = switchyard_platform.settings.schema_for("tracking")

    async def attempt() -> list[str]:
        conn = await asyncpg.connect(switchyard_platform.settings.database_url)
        refused = []
        try:
            for sql in (
                f"UPDATE \"{schema}\".audit_records SET actor = 'someone else'",
                f"UPDATE \"{schema}\".audit_records SET entities = '{{}}'",
                f'DELETE FROM "{schema}".audit_records',
                f'TRUNCATE "{schema}".audit_records',
            ):
                try:
                    await conn.execute(sql)
                except asyncpg.RaiseError as exc:
                    refused.append(str(exc))
        finally:
            await conn.close()
        return refused

    admin.create_experiment("audit-edit-target")
    assert asyncio.run(attempt()) == ["the audit log is append-only"] * 4


def test_rows_are_published_and_paged_and_need_an_admin(
    switchyard_platform: LocalPlatform, admin: Client, uniq: Any
) -> None:
    first, second = admin.create_experiment(uniq("p1")), admin.create_experiment(uniq("p2"))
    page = admin.search_audit(limit=1)
    assert page[0].entities == (second,) and page.token
    after = admin.search_audit(limit=1, page_token=page.token)
    assert after[0].entities == (first,)
    with pytest.raises(InvalidArgument, match="page_token"):
        admin.search_audit(page_token="nope")
    published = {
        e.subject: e.data
        for e in sy.events(
            "sy.audit.recorded",
            deliver="all",
            timeout=1.0,
            settings=switchyard_platform.client_settings(),
        )
    }
    assert published[page[0].audit_id].entities == [second]
    editor = as_token(switchyard_platform, admin, uniq("audit-reader"), "editor")
    with Client(settings=editor) as c, pytest.raises(PermissionDenied, match="admin"):
        c.search_audit()


def test_the_cli_lists_changes(
    switchyard_platform: LocalPlatform, admin: Client, uniq: Any
) -> None:
    exp_id = admin.create_experiment(uniq("cli-audit"))
    cli = CliRunner(
        env={"SWITCHYARD_HOME": str(switchyard_platform.settings.home), "COLUMNS": "200"}
    )
    out = cli.invoke(app, ["audit", "ls", "--entity", exp_id, "--since", "1h"])
    assert out.exit_code == 0, out.output
    assert "CreateExperiment" in out.output and "platform" in out.output
