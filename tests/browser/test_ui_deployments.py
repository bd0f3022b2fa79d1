"""Deployments on the gateway: the list, a deployment's page, its live updates, in Chromium.

The deployments scale to zero (min_replicas=0) and get no requests, so no
replica starts and no worker pool is needed: what the pages show of them is
what the gateway says of a deployment at rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from ui_browser import assert_fits, assert_not_found

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.sdk.client import Client

EVENTS_S = 10.0  # the registry learns of deployments from the gateway's events


@pytest.fixture(scope="module")
def settings(switchyard_platform: Any) -> Settings:
    settings: Settings = switchyard_platform.client_settings()
    return settings


@pytest.fixture(scope="module")
def deployed(settings: Settings, uniq: Callable[..., str]) -> Iterator[dict[str, Any]]:
    """A model with two versions; `plain` serves v1, `canaried` v1 with v2 at 20 %."""
    with Client(settings=settings) as c:
        model = c.create_registered_model(uniq("served")).name
        c.create_model_version(model, "file:///models/one")
        c.create_model_version(model, "file:///models/two")
    plain = sy.deploy(f"models:/{model}/1", uniq("plain"), min_replicas=0, settings=settings)
    canaried = sy.deploy(
        f"models:/{model}/1",
        uniq("canaried"),
        min_replicas=0,
        canary=f"models:/{model}/2",
        canary_percent=20,
        settings=settings,
    )
    yield {"model": model, "plain": plain, "canaried": canaried}
    for d in (plain, canaried):
        d.delete()


def test_the_list_shows_state_model_replicas_and_split(page: Any, deployed: dict[str, Any]) -> None:
    plain, canaried = deployed["plain"].name, deployed["canaried"].name
    page.goto("/deployments")
    row = page.locator(f'#deployments tr[data-deployment="{canaried}"]').inner_text()
    assert f"models:/{deployed['model']}/1" in row
    assert "canary 20 %" in row and "stable 80 %" in row and "0/0" in row
    assert (
        "stable 100 %" in page.locator(f'#deployments tr[data-deployment="{plain}"]').inner_text()
    )
    page.get_by_role("link", name=plain).click()
    page.wait_for_url(f"**/deployments/{plain}")
    assert page.get_by_role("heading", name=plain).is_visible()


def test_a_deployment_page_shows_split_revisions_and_charts(
    page: Any, deployed: dict[str, Any]
) -> None:
    name = deployed["canaried"].name
    page.goto(f"/deployments/{name}")
    assert "canary 20 %" in page.locator("#split").inner_text()
    roles = page.locator("#revisions tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.role)"
    )
    assert roles == ["stable", "canary"]
    assert (
        f"{deployed['model']} v2" in page.locator('#revisions tr[data-role="canary"]').inner_text()
    )
    assert "scaled to zero" in page.locator("#replicas").inner_text()
    page.locator('#revisions tr[data-role="stable"]').get_by_role("link").click()
    page.wait_for_url(f"**/models/{deployed['model']}/versions/1")
    page.go_back()
    # two samples of the gateway's counters make a point on every chart
    page.wait_for_selector("#deployment-charts[data-samples='2']", timeout=6000)
    for chart in ("replicas", "rate", "latency", "errors"):
        assert page.locator(f'figure[data-chart="{chart}"] canvas').count() == 1
    assert page.locator('figure[data-chart="rate"]').get_attribute("data-points") == "1"


def test_a_change_reaches_the_open_page_without_a_reload(
    page: Any, deployed: dict[str, Any]
) -> None:
    plain = deployed["plain"]
    page.goto(f"/deployments/{plain.name}")
    page.wait_for_selector("#deployment-charts[data-stream=live]")
    page.evaluate("window.notReloaded = true")
    assert page.locator("#replica-bounds").inner_text() == "0..1"
    began = time.monotonic()
    plain.scale(min_replicas=0, max_replicas=3)
    page.wait_for_function(
        "document.querySelector('#replica-bounds').textContent === '0..3'", timeout=3000
    )
    print(f"scaled -> on the page: {(time.monotonic() - began) * 1000:.0f} ms")
    row = page.locator("#rollout-log tbody tr").first
    assert "deployment.updated" in row.inner_text() and "scaled to 0..3" in row.inner_text()
    assert page.evaluate("window.notReloaded") is True


def test_a_rollback_is_logged_and_the_canary_leaves_the_split(
    page: Any, deployed: dict[str, Any]
) -> None:
    canaried = deployed["canaried"]
    page.goto(f"/deployments/{canaried.name}")
    page.wait_for_selector("#deployment-charts[data-stream=live]")
    canaried.rollback()
    page.locator("#rollout-log tr", has_text="rollout.rolled_back").wait_for(timeout=3000)
    page.wait_for_function(
        "!document.querySelector('#split').textContent.includes('canary')", timeout=3000
    )


def test_the_version_page_links_to_its_deployment(
    page: Any, deployed: dict[str, Any], switchyard_client: Client
) -> None:
    model, name = deployed["model"], deployed["plain"].name
    deadline = time.monotonic() + EVENTS_S
    while not switchyard_client.get_model_lineage(model, 1).deployments:
        assert time.monotonic() < deadline, "the registry never heard of the deployment"
        time.sleep(0.1)
    page.goto(f"/models/{model}/versions/1")
    page.locator("#lineage").get_by_role("link", name=name).click()
    page.wait_for_url(f"**/deployments/{name}")


def test_unknown_deployments_get_the_404_page(page: Any, deployed: dict[str, Any]) -> None:
    paths = ("/deployments/no-such-deployment", "/deployments/Not_A_Name")
    assert_not_found(page, paths)
    assert page.request.get("/ui/api/deployments/no-such-deployment/stats").status == 404


def test_a_narrow_window_scrolls_tables_not_the_page(narrow: Any, deployed: dict[str, Any]) -> None:
    for path in ("/deployments", f"/deployments/{deployed['canaried'].name}"):
        assert_fits(narrow, path)
