"""Registered models, a model's versions, and a version's lineage and history, in Chromium."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from ui_browser import assert_fits, assert_not_found

import switchyard as sy
from switchyard.sdk.client import Client
from switchyard.sdk.registry_entities import ModelSignature

INPUTS = [{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}}]
OUTPUTS = [{"name": "score", "type": "double"}]
MLMODEL = """\
flavors:
  python_function: {loader_module: mlflow.sklearn}
signature:
  inputs: '[{"name": "amount", "type": "double", "required": true}]'
  outputs: '[{"type": "long"}]'
  params: '[{"name": "threshold", "type": "double", "default": 0.5, "shape": null}]'
"""


@pytest.fixture(scope="module")
def registered(
    switchyard_platform: Any, uniq: Callable[..., str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """A model with two versions from a run that read a dataset: v1 @champion, v2 in Staging;
    a model whose name has a quote in it; one registered as the MLflow client does, its
    signature only in the MLmodel file."""
    with Client(settings=switchyard_platform.client_settings()) as c:
        exp = c.create_experiment(uniq("registry-exp"))
        run = c.create_run(exp, run_name="train-fraud")
        rid = run.info.run_id
        data = sy.Dataset("transactions", "d1g357", "s3", "s3://data/tx.parquet")
        c.log_inputs(rid, [sy.DatasetInput(data, {"mlflow.data.context": "training"})])
        name = c.create_registered_model(uniq("fraud"), tags={"team": "risk"}).name
        signature = ModelSignature(json.dumps(INPUTS), json.dumps(OUTPUTS))
        c.create_model_version(
            name, f"runs:/{rid}/model", tags={"owner": "ana"}, signature=signature
        )
        c.create_model_version(name, f"runs:/{rid}/model2")
        c.set_registered_model_alias(name, "champion", 1)
        c.transition_model_version_stage(name, 2, "Staging")
        quoted = c.create_registered_model(uniq("it's")).name
        c.create_model_version(quoted, "file:///elsewhere/model")
        folder = tmp_path_factory.mktemp("mlmodel")
        (folder / "MLmodel").write_text(MLMODEL)
        c.log_artifacts(rid, folder, "mlflow-model")
        mlflow_style = c.create_registered_model(uniq("mlflow")).name
        c.create_model_version(mlflow_style, f"runs:/{rid}/mlflow-model")
    return {"name": name, "exp": exp, "run": rid, "quoted": quoted, "mlflow": mlflow_style}


def test_the_models_list_shows_versions_aliases_and_tags(
    page: Any, registered: dict[str, Any]
) -> None:
    name = registered["name"]
    page.goto("/models")
    page.fill("#filter", name)
    page.press("#filter", "Enter")
    page.wait_for_url("**/models?filter=*")
    row = page.locator(f'#models tr[data-model="{name}"]')
    assert page.locator("#models tbody tr").count() == 1
    text = row.inner_text()
    assert "Version 2" in text and "@champion: v1" in text and "team=risk" in text
    row.get_by_role("link", name=name).click()
    page.wait_for_url(f"**/models/{name}")
    assert page.get_by_role("heading", name=name).is_visible()


def test_a_bad_filter_is_shown_inline(page: Any, registered: dict[str, Any]) -> None:
    page.goto("/models")
    page.fill("#filter", "name LIKE")
    page.press("#filter", "Enter")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text() and "Traceback" not in alert.inner_text()
    assert page.locator("#filter").get_attribute("aria-invalid") == "true"


def test_a_model_page_lists_versions_stages_aliases_and_runs(
    page: Any, registered: dict[str, Any]
) -> None:
    name = registered["name"]
    page.goto(f"/models/{name}")
    assert page.locator("#versions tbody tr").count() == 2
    v1 = page.locator('#versions tr[data-version="1"]').inner_text()
    v2 = page.locator('#versions tr[data-version="2"]').inner_text()
    assert "@champion" in v1 and "owner=ana" in v1 and "None" in v1
    assert "Staging" in v2
    assert "@champion: v1" in page.locator("#aliases").inner_text()
    page.locator('#versions tr[data-version="1"]').get_by_role(
        "link", name=registered["run"][:12]
    ).click()
    page.wait_for_url(f"**/experiments/{registered['exp']}/runs/{registered['run']}")
    page.go_back()
    page.get_by_role("link", name="Version 2").click()
    page.wait_for_url(f"**/models/{name}/versions/2")


def test_a_version_page_shows_lineage_signature_and_history(
    page: Any, registered: dict[str, Any]
) -> None:
    name = registered["name"]
    page.goto(f"/models/{name}/versions/1")
    lineage = page.locator("#lineage")
    assert "transactions" in lineage.inner_text() and "training" in lineage.inner_text()
    assert "not deployed" in lineage.inner_text()
    steps = lineage.locator("li.step")
    assert steps.count() == 4
    boxes = [steps.nth(i).bounding_box() for i in range(4)]
    assert all(a["x"] < b["x"] for a, b in itertools.pairwise(boxes))  # left to right
    assert "tensor float64" in page.locator("#sig-inputs").inner_text()
    assert "[-1, 4]" in page.locator("#sig-inputs").inner_text()
    assert "score" in page.locator("#sig-outputs").inner_text()
    history = page.locator("#history tbody tr").all_inner_texts()
    assert any("alias.set" in h and "@champion" in h for h in history)
    assert any("version.created" in h for h in history)
    assert not any("stage.changed" in h for h in history)  # version 2's, not this one's
    lineage.get_by_role("link", name="train-fraud").click()
    page.wait_for_url(f"**/runs/{registered['run']}")


def test_a_name_with_a_quote_is_escaped(page: Any, registered: dict[str, Any]) -> None:
    name = registered["quoted"]
    page.goto(f"/models/{quote(name)}")
    assert page.locator("#versions tbody tr").count() == 1
    page.get_by_role("link", name="Version 1").click()
    page.wait_for_url("**/versions/1")
    assert "No signature" in page.locator("#signature").inner_text()
    assert "not from a run" in page.locator("#lineage").inner_text()


def test_a_signature_only_in_the_mlmodel_file_is_shown(
    page: Any, registered: dict[str, Any]
) -> None:
    page.goto(f"/models/{registered['mlflow']}/versions/1")
    assert "amount" in page.locator("#sig-inputs").inner_text()
    assert "long" in page.locator("#sig-outputs").inner_text()
    assert "default 0.5" in page.locator("#sig-params").inner_text()


def test_the_links_the_mlflow_ui_uses_open_the_pages(page: Any, registered: dict[str, Any]) -> None:
    name = registered["name"]
    page.goto(f"/#/models/{name}/versions/2")
    page.wait_for_url(f"**/models/{name}/versions/2")
    page.goto(f"/#/models/{name}")
    page.wait_for_url(f"**/models/{name}")


def test_unknown_models_and_versions_get_the_404_page(
    page: Any, registered: dict[str, Any]
) -> None:
    name = registered["name"]
    paths = ("/models/no-such-model-0", f"/models/{name}/versions/99", f"/models/{name}/versions/x")
    assert_not_found(page, paths)


def test_a_narrow_window_stacks_the_lineage(narrow: Any, registered: dict[str, Any]) -> None:
    name = registered["name"]
    for path in ("/models", f"/models/{name}", f"/models/{name}/versions/1"):
        assert_fits(narrow, path)
    steps = narrow.locator("#lineage li.step")
    assert steps.nth(0).bounding_box()["y"] < steps.nth(1).bounding_box()["y"]


def test_the_keyboard_reaches_the_filter_and_the_models(
    page: Any, registered: dict[str, Any]
) -> None:
    page.goto(f"/models?filter={registered['name']}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    reached = []
    for _ in range(15):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate("document.activeElement.id || document.activeElement.textContent")
        )
        if reached[-1] == registered["name"]:
            break
    assert "filter" in reached and reached[-1] == registered["name"]
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/models/{registered['name']}")
