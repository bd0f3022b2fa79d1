"""Studies in Chromium: a running study's page fills in live, its chart, the best trial."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ui_browser import assert_fits, assert_not_found

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.testing.workers import WorkerProcess, new_pool

TRIALS = 5


@pytest.fixture(scope="module")
def pool(switchyard_workers: Callable[..., list[WorkerProcess]]) -> str:
    return switchyard_workers(new_pool("ui-studies"), cpus=2)[0].pool


def bowl(params: dict[str, Any]) -> float:
    import time

    time.sleep(0.2)  # long enough that the page sees trials come one by one
    return (params["x"] - 0.3) ** 2 + (0.1 if params["kind"] == "b" else 0.0)


@pytest.fixture(scope="module")
def study(pool: str, switchyard_platform: Any, uniq: Callable[..., str]) -> sy.Study:
    settings: Settings = switchyard_platform.client_settings()
    return sy.tune(
        bowl,  # shipped by value: the worker need not import this module
        {"x": sy.space.uniform(0, 1), "kind": sy.space.choice(["a", "b"])},
        metric="loss",
        num_trials=TRIALS,
        algorithm="random",
        seed=5,
        pool=pool,
        name=uniq("bowl"),
        reuse_processes=True,  # one process for every trial: no interpreter start each
        settings=settings,
    )


def test_a_running_study_fills_in_live(page: Any, study: sy.Study) -> None:
    page.goto(f"/studies/{study.id}")
    assert page.locator("#study-state").inner_text() == "RUNNING"
    page.wait_for_selector("#study[data-stream=live]")
    page.wait_for_function(
        "document.querySelector('#study-state').textContent === 'COMPLETED'", timeout=120_000
    )
    page.wait_for_selector("#study[data-live=false]")  # the last refresh is in
    assert page.locator("#trials tbody tr[data-trial]").count() == TRIALS
    states = page.locator("#trials tbody tr").evaluate_all("rs => rs.map(r => r.dataset.state)")
    assert states == ["COMPLETED"] * TRIALS
    history = page.locator('#history figure[data-metric="loss"]')
    assert history.get_attribute("data-points") == str(TRIALS)
    assert history.locator("canvas").count() == 1
    assert page.locator("#parallel polyline").count() == TRIALS

    study.refresh()
    best = study.best_trial
    assert best is not None
    assert page.locator("#best-title").inner_text() == f"Best trial: #{best.number}"
    assert page.locator(f"#trial-{best.number}.is-best").count() == 1
    page.get_by_role("link", name=f"run of trial {best.number}").click()
    page.wait_for_url(f"**/runs/{best.run_id}")


def test_the_list_and_deep_links_by_id_or_name(page: Any, study: sy.Study) -> None:
    study.wait(timeout=120)
    page.goto("/studies")
    page.get_by_role("link", name=study.name).click()
    page.wait_for_url(f"**/studies/{study.id}")
    assert page.locator("#study[data-drawn=true]").count() == 1
    page.goto(f"/studies/{study.name}")
    assert page.locator("#study").get_attribute("data-study") == study.id
    page.goto("/studies?state=COMPLETED")
    assert page.get_by_role("link", name=study.name).count() == 1


def test_unknown_studies_get_the_404_page(page: Any) -> None:
    paths = (f"/studies/{'0' * 32}", "/studies/no-such-study-anywhere")
    assert_not_found(page, paths)


def test_a_narrow_window_scrolls_the_trials_not_the_page(narrow: Any, study: sy.Study) -> None:
    for path in ("/studies", f"/studies/{study.id}"):
        assert_fits(narrow, path)
