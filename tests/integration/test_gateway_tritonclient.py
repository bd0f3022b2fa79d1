"""The gateway as a Triton user sees it: `tritonclient` over HTTP and gRPC, unchanged.

tritonclient pins protobuf and grpcio against the project's own floors, and a
user's Triton client is a separate program anyway, so it runs in a venv of its
own (`switchyard.dev.toolvenv`, made once under the user's cache) as a script
in a subprocess. The script prints what the server answered as JSON; the test
compares it with the model's own predictions made here.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import require_module

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.dev.toolvenv import cached_venv
from switchyard.sdk import fluent
from switchyard.testing.platform import LocalPlatform
from switchyard.testing.workers import WorkerProcess, new_pool

# The first run installs tritonclient (about 30 s); later runs find it cached.
pytestmark = pytest.mark.timeout(300)

TRITONCLIENT = "2.73.0"
ROWS = np.random.default_rng(1).normal(size=(5, 4))

# Run in tritonclient's venv: argv = http url, grpc address, model, rows (JSON), numpy dtype.
CLIENT = r"""
import json, sys
import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

http_url, grpc_url, model, rows, dtype = sys.argv[1:]
x = np.array(json.loads(rows), dtype=dtype)


def outputs(result, names, get):
    # JSON floats hold float32 and float64 values exactly, so nothing is lost here.
    return {n: {"datatype": get(n), "shape": list(result.as_numpy(n).shape),
                "data": result.as_numpy(n).tolist()} for n in names}


def error(call):
    try:
        call()
    except InferenceServerException as exc:
        return {"status": exc.status(), "message": exc.message()}
    return None


report = {}
h = httpclient.InferenceServerClient(url=http_url)
meta = h.get_model_metadata(model)
(spec,) = meta["inputs"]
out_names = [o["name"] for o in meta["outputs"]]
report["http_meta"] = {"live": h.is_server_live(), "ready": h.is_model_ready(model),
                       "meta": meta, "unknown_ready": h.is_model_ready("no-such-model")}
for binary in (True, False):
    tensor = httpclient.InferInput(spec["name"], list(x.shape), spec["datatype"])
    tensor.set_data_from_numpy(x, binary_data=binary)
    wanted = [httpclient.InferRequestedOutput(n, binary_data=binary) for n in out_names]
    result = h.infer(model, [tensor], model_version=meta["versions"][0], outputs=wanted)
    get = lambda n: result.get_output(n)["datatype"]
    report[f"http_binary_{binary}"] = outputs(result, out_names, get)

bad = httpclient.InferInput(spec["name"], [1, 3], spec["datatype"])
bad.set_data_from_numpy(x[:1, :3], binary_data=True)
wrong_type = "FP64" if spec["datatype"] != "FP64" else "FP32"
retyped = httpclient.InferInput(spec["name"], [1, 4], wrong_type)
retyped.set_data_from_numpy(x[:1].astype(np.float64 if wrong_type == "FP64" else np.float32))
report["http_errors"] = {
    "shape": error(lambda: h.infer(model, [bad])),
    "datatype": error(lambda: h.infer(model, [retyped])),
    "model": error(lambda: h.infer("no-such-model", [bad])),
    "meta": error(lambda: h.get_model_metadata("no-such-model")),
}
h.close()

g = grpcclient.InferenceServerClient(url=grpc_url)
gmeta = g.get_model_metadata(model)  # a ModelMetadataResponse (JSON would quote int64s)
tensors = lambda ts: [{"name": t.name, "datatype": t.datatype, "shape": list(t.shape)} for t in ts]
gmeta = {"name": gmeta.name, "versions": list(gmeta.versions),
         "inputs": tensors(gmeta.inputs), "outputs": tensors(gmeta.outputs)}
report["grpc_meta"] = {"live": g.is_server_live(), "ready": g.is_model_ready(model),
                       "meta": gmeta}
tensor = grpcclient.InferInput(spec["name"], list(x.shape), spec["datatype"])
tensor.set_data_from_numpy(x)
result = g.infer(model, [tensor], outputs=[grpcclient.InferRequestedOutput(n) for n in out_names])
report["grpc"] = outputs(result, out_names, lambda n: result.get_output(n).datatype)
bad = grpcclient.InferInput(spec["name"], [1, 3], spec["datatype"])
bad.set_data_from_numpy(x[:1, :3])
report["grpc_errors"] = {
    "shape": error(lambda: g.infer(model, [bad])),
    "model": error(lambda: g.infer("no-such-model", [bad])),
}
g.close()
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def triton_python() -> Path:
    """The python of a venv holding tritonclient: made on first use, then cached."""
    try:
        return cached_venv(
            f"tritonclient-{TRITONCLIENT}", [f"tritonclient[http,grpc]=={TRITONCLIENT}", "numpy"]
        )
    except subprocess.CalledProcessError as exc:
        # Not a skip: a client that cannot be installed is a failed check, on a
        # laptop as in CI. pip's own message went to stderr, which pytest shows.
        pytest.fail(f"could not install tritonclient=={TRITONCLIENT}: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def pool(switchyard_workers: Callable[..., list[WorkerProcess]]) -> str:
    return switchyard_workers(new_pool("triton"), cpus=8)[0].pool


@pytest.fixture(scope="module")
def settings(switchyard_platform: LocalPlatform) -> Iterator[Settings]:
    settings = switchyard_platform.client_settings()
    fluent.reset(settings)
    yield settings
    fluent.reset()


def triton(
    python: Path, platform: LocalPlatform, model: str, rows: np.ndarray, tmp_path: Path
) -> dict[str, Any]:
    """Run the tritonclient script against `model`; its report."""
    script = tmp_path / "triton_client.py"
    script.write_text(CLIENT)
    http_url = platform.endpoints.http["gateway"].removeprefix("http://").rstrip("/")
    args = [http_url, platform.endpoints.grpc["inference"], model]
    args += [json.dumps(rows.tolist()), str(rows.dtype)]
    done = subprocess.run(
        [str(python), str(script), *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def check(
    report: dict[str, Any], model: str, expected: np.ndarray, datatype: str, rtol: float
) -> None:
    """Every answer in the report against the model's own prediction `expected`."""
    meta = report["http_meta"]
    assert meta["live"] and meta["ready"] and not meta["unknown_ready"], meta
    assert meta["meta"]["name"] == model and meta["meta"]["versions"] == ["1"]
    assert [i["datatype"] for i in meta["meta"]["inputs"]] == [datatype]
    assert report["grpc_meta"]["live"] and report["grpc_meta"]["ready"]
    # The two protocols describe the same model.
    for key in ("name", "versions", "inputs", "outputs"):
        assert report["grpc_meta"]["meta"][key] == meta["meta"][key], key
    (out,) = meta["meta"]["outputs"]
    for answer in ("http_binary_True", "http_binary_False", "grpc"):
        got = report[answer][out["name"]]
        assert got["datatype"] == datatype and got["shape"] == list(expected.shape), answer
        np.testing.assert_allclose(got["data"], expected, rtol=rtol, atol=0, err_msg=answer)

    name = meta["meta"]["inputs"][0]["name"]
    errors = report["http_errors"]
    assert errors["shape"]["status"] == "400", errors
    assert f"input '{name}': shape [1, 3] does not match" in errors["shape"]["message"]
    assert errors["datatype"]["status"] == "400", errors
    assert f"input '{name}': datatype" in errors["datatype"]["message"]
    for key in ("model", "meta"):
        assert errors[key]["status"] == "404", errors
        assert "no-such-model" in errors[key]["message"], errors
    errors = report["grpc_errors"]
    assert errors["shape"]["status"] == "StatusCode.INVALID_ARGUMENT", errors
    assert f"input '{name}': shape [1, 3] does not match" in errors["shape"]["message"]
    assert errors["model"]["status"] == "StatusCode.NOT_FOUND", errors
    assert "no-such-model" in errors["model"]["message"], errors


def test_scikit_learn_model(
    triton_python: Path,
    pool: str,
    settings: Settings,
    switchyard_platform: LocalPlatform,
    tmp_path: Path,
) -> None:
    linear_model = require_module("sklearn.linear_model", "the `models` extra has it")
    x = np.random.default_rng(0).normal(size=(64, 4))
    model = linear_model.LinearRegression().fit(x, x @ [1.0, -2.0, 0.5, 3.0] + 0.25)
    name = f"triton-sk-{time.monotonic_ns() % 10**8}"
    with sy.start_run():
        sy.log_model(model, "model", registered_model_name=name, input_example=x[:2])
    sy.deploy(f"models:/{name}/1", "triton-sk", pool=pool, settings=settings).wait_ready(60)

    report = triton(triton_python, switchyard_platform, "triton-sk", ROWS, tmp_path)
    check(report, "triton-sk", model.predict(ROWS), "FP64", rtol=1e-12)


def test_pytorch_model(
    triton_python: Path,
    pool: str,
    settings: Settings,
    switchyard_platform: LocalPlatform,
    tmp_path: Path,
) -> None:
    torch = require_module("torch", "pip install torch, or the `torch` extra")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    rows = ROWS.astype(np.float32)
    name = f"triton-torch-{time.monotonic_ns() % 10**8}"
    with sy.start_run():
        sy.log_model(net, "model", registered_model_name=name, input_example=rows[:2])
    sy.deploy(f"models:/{name}/1", "triton-torch", pool=pool, settings=settings).wait_ready(60)

    report = triton(triton_python, switchyard_platform, "triton-torch", rows, tmp_path)
    with torch.no_grad():
        expected = net(torch.from_numpy(rows)).numpy()
    # float32 through a re-loaded torch.export program: equal to within an ulp.
    check(report, "triton-torch", expected, "FP32", rtol=1e-6)
