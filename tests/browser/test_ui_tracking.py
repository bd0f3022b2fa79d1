"""Experiments, runs, a run's live charts, artifacts and comparing runs, in Chromium."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ui_browser import assert_fits, assert_not_found, held_streams

import switchyard as sy
from switchyard.sdk.client import Client


@pytest.fixture(scope="module")
def filled(
    switchyard_platform: Any, uniq: Callable[..., str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """An experiment with five runs (one still RUNNING) and some artifacts."""
    with Client(settings=switchyard_platform.client_settings()) as c:
        name = uniq("fraud")
        exp = c.create_experiment(name, tags={"team": "risk"})
        runs = []
        for i in range(5):
            run = c.create_run(exp, run_name=f"run-{i}")
            rid = run.info.run_id
            params = {"lr": str(0.1 / (i + 1)), "model": "cnn" if i % 2 else "gbm"}
            points = [sy.Metric("loss", 1.0 / (s + 1 + i), 0, s) for s in range(300)]
            c.log_batch(
                rid, metrics=[*points, sy.Metric("acc", 0.8 + i * 0.03, 0, 0)], params=params
            )
            if i < 4:
                c.set_terminated(rid)
            runs.append(rid)
        folder = tmp_path_factory.mktemp("arts")
        (folder / "data").mkdir()
        (folder / "notes.txt").write_text("hello <b>world</b>\n")
        (folder / "metrics.json").write_text(json.dumps({"acc": 0.9}))
        (folder / "data" / "table.csv").write_text("a,b\n1,2\n3,4\n")
        c.log_artifacts(runs[0], folder)
    return {"name": name, "exp": exp, "runs": runs, "running": runs[4]}


def test_experiments_list_links_to_the_runs(page: Any, filled: dict[str, Any]) -> None:
    page.goto("/experiments")
    page.get_by_role("link", name=filled["name"]).click()
    page.wait_for_url(f"**/experiments/{filled['exp']}")
    assert page.locator("#runs tbody tr").count() == 5
    assert page.locator("#runs thead").inner_text().count("loss") == 1  # a metric column


def test_a_filter_narrows_the_table_and_a_bad_one_is_shown_inline(
    page: Any, filled: dict[str, Any]
) -> None:
    page.goto(f"/experiments/{filled['exp']}")
    page.fill("#filter", "metrics.acc > 0.85")
    page.press("#filter", "Enter")
    page.wait_for_function("document.querySelectorAll('#runs tbody tr').length === 3")
    assert "filter=metrics.acc" in page.url  # the filtered table has its own link
    names = page.locator("#runs tbody td:nth-child(2)").all_inner_texts()
    assert sorted(names) == ["run-2", "run-3", "run-4"]

    page.fill("#filter", "metrics.acc >")
    page.press("#filter", "Enter")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "Traceback" not in alert.inner_text() and alert.inner_text()
    assert page.locator("#filter").get_attribute("aria-invalid") == "true"


def test_sorting_by_a_metric_and_paging(page: Any, filled: dict[str, Any]) -> None:
    page.goto(f"/experiments/{filled['exp']}?n=25")
    page.locator("#runs thead").get_by_role("link", name="acc").click()
    page.wait_for_url(re.compile(r"order=metrics\.acc"))
    first = page.locator("#runs tbody tr").first.locator("td").nth(1).inner_text()
    assert first == "run-4"  # the highest acc first
    assert page.locator("a[rel=next]").count() == 0  # five runs fit one page


def test_a_run_page_shows_params_tags_and_charts(page: Any, filled: dict[str, Any]) -> None:
    rid = filled["runs"][1]
    page.goto(f"/experiments/{filled['exp']}/runs/{rid}")
    assert page.locator("#params").inner_text().count("lr") == 1
    page.wait_for_selector("#charts[data-loaded=true]")
    loss = page.locator('figure[data-key="loss"]')
    assert loss.get_attribute("data-points") == "300"
    assert loss.locator("canvas").count() == 1


def test_a_metric_logged_while_the_page_is_open_appears_on_its_chart(
    page: Any, filled: dict[str, Any], switchyard_client: Client
) -> None:
    rid = filled["running"]
    page.goto(f"/experiments/{filled['exp']}/runs/{rid}")
    page.wait_for_selector("#charts[data-loaded=true][data-stream=live]")
    took = []
    for step in range(300, 305):
        began = time.monotonic()
        switchyard_client.log_metric(rid, "loss", 0.001, step=step)
        page.wait_for_selector(f'figure[data-key="loss"][data-points="{step + 1}"]', timeout=2000)
        took.append(time.monotonic() - began)
    switchyard_client.log_metric(rid, "f1", 0.5, step=0)  # a new metric gets a new chart
    page.wait_for_selector('figure[data-key="f1"][data-points="1"]', timeout=2000)
    switchyard_client.set_terminated(rid)
    page.wait_for_function("document.querySelector('#run-status').textContent === 'FINISHED'")
    print(f"logged -> on the chart: median {sorted(took)[len(took) // 2] * 1000:.0f} ms")


def test_a_run_that_ends_before_the_stream_opens_shows_its_end(
    page: Any, filled: dict[str, Any], switchyard_client: Client, switchyard_platform: Any
) -> None:
    """The run's last point and its end are published before the page's streams open."""
    settings = switchyard_platform.client_settings()
    c = switchyard_client
    rid = c.create_run(filled["exp"], run_name="brief").info.run_id
    c.log_batch(rid, metrics=[sy.Metric("loss", 1.0 / (s + 1), 0, s) for s in range(10)])
    with held_streams(page) as held:
        page.goto(f"/experiments/{filled['exp']}/runs/{rid}")
        assert page.locator("#run-status").inner_text() == "RUNNING"
        held.wait_asked()
        finished = sy.events("sy.tracking.run.finished", timeout=10, settings=settings)
        c.log_metric(rid, "loss", 0.001, step=10)
        c.set_terminated(rid)
        assert any(e.subject == rid for e in finished), "no sy.tracking.run.finished"
    page.wait_for_selector("#charts[data-loaded=true][data-stream=live]")
    page.wait_for_selector('figure[data-key="loss"][data-points="11"]', timeout=2000)
    page.wait_for_function(
        "document.querySelector('#run-status').textContent === 'FINISHED'", timeout=5000
    )


def test_the_links_the_mlflow_client_prints_open_the_pages(
    page: Any, filled: dict[str, Any]
) -> None:
    rid = filled["runs"][0]
    page.goto(f"/#/experiments/{filled['exp']}/runs/{rid}")
    page.wait_for_url(f"**/experiments/{filled['exp']}/runs/{rid}")
    page.goto(f"/#/experiments/{filled['exp']}")
    page.wait_for_url(f"**/experiments/{filled['exp']}")
    page.goto("/")
    page.wait_for_url("**/experiments")


def test_artifacts_browse_and_preview(page: Any, filled: dict[str, Any]) -> None:
    rid = filled["runs"][0]
    page.goto(f"/experiments/{filled['exp']}/runs/{rid}")
    page.get_by_role("link", name="browse").click()
    page.get_by_role("link", name="data/").click()
    page.get_by_role("link", name="table.csv").click()
    assert page.locator("table.csv tbody tr").count() == 2
    page.get_by_role("link", name="root").click()
    page.get_by_role("link", name="notes.txt").click()
    assert "hello <b>world</b>" in page.locator("pre.text").inner_text()  # text, not markup
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    assert Path(download.value.path()).read_text() == "hello <b>world</b>\n"


def test_compare_two_runs(page: Any, filled: dict[str, Any]) -> None:
    page.goto(f"/experiments/{filled['exp']}")
    page.get_by_label("compare run-1").check()
    page.get_by_label("compare run-2").check()
    page.get_by_role("button", name="Compare selected").click()
    page.wait_for_url("**/compare?**")
    assert page.locator("tr.differs").count() == 2  # lr and model differ
    page.wait_for_selector('figure[data-key="loss"][data-points="300"]')
    assert page.locator("#parallel polyline").count() == 2


def test_unknown_ids_get_the_404_page(page: Any, filled: dict[str, Any]) -> None:
    paths = ("/experiments/999999", f"/experiments/{filled['exp']}/runs/{'0' * 32}", "/nope")
    assert_not_found(page, paths)


def test_a_narrow_window_scrolls_tables_not_the_page(narrow: Any, filled: dict[str, Any]) -> None:
    for path in (
        f"/experiments/{filled['exp']}",
        f"/experiments/{filled['exp']}/runs/{filled['runs'][0]}",
    ):
        assert_fits(narrow, path)


def test_the_keyboard_reaches_the_filter_and_the_runs(page: Any, filled: dict[str, Any]) -> None:
    page.goto(f"/experiments/{filled['exp']}")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "filter":
            break
    assert page.evaluate("document.activeElement.id") == "filter"


def test_the_events_page_tails_live(
    page: Any, filled: dict[str, Any], switchyard_client: Client
) -> None:
    page.goto("/events?type=sy.tracking.tags.>")
    page.wait_for_function("document.getElementById('tail-state').textContent === 'live'")
    switchyard_client.set_tag(filled["runs"][0], "seen", "yes")
    row = page.locator("#events tbody tr").first
    row.wait_for(timeout=2000)
    assert "sy.tracking.tags.set" in row.inner_text()
    assert filled["runs"][0] in row.inner_text()


def test_zooming_a_chart_asks_for_a_finer_window(
    page: Any, filled: dict[str, Any], switchyard_client: Client
) -> None:
    run = switchyard_client.create_run(filled["exp"], run_name="long")
    rid = run.info.run_id
    n = 20_000
    switchyard_client.log_batch(rid, [sy.Metric("wave", float(i % 50), 0, i) for i in range(n)])
    page.goto(f"/experiments/{filled['exp']}/runs/{rid}")
    page.wait_for_selector("#charts[data-loaded=true]")
    chart = page.locator('figure[data-key="wave"]')
    assert int(chart.get_attribute("data-points")) <= 1000  # downsampled
    over = chart.locator(".u-over").bounding_box()
    y = over["y"] + over["height"] / 2
    page.mouse.move(over["x"] + over["width"] * 0.40, y)
    page.mouse.down()
    page.mouse.move(over["x"] + over["width"] * 0.43, y, steps=5)
    page.mouse.up()
    page.wait_for_selector('figure[data-key="wave"][data-zoomed="true"]')
    window = int(chart.get_attribute("data-points"))
    assert 300 < window <= 1000  # every point of ~3% of the steps: finer than before
    chart.locator(".u-over").dblclick()
    page.wait_for_selector('figure[data-key="wave"][data-zoomed="false"]')
    assert int(chart.get_attribute("data-points")) <= 1000
