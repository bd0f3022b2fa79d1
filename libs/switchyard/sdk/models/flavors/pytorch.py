"""PyTorch: the module exported with `torch.export` (graph and weights, no class).

Export traces the module on the input example, with the batch dimension left
dynamic, so another process rebuilds it without the Python class that
defined it. `log_model` therefore needs an `input_example` for torch models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from switchyard.errors import InvalidArgument
from switchyard.sdk.models.flavors import Flavor, Predictor, loaded, pin

DATA = "data/model.pt2"  # where MLflow's pt2 models keep it, so its loader finds it


def _accepts(model: Any) -> bool:
    torch = loaded("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def _tensor(torch: Any, value: Any, dtype: Any = None) -> Any:
    tensor = value if isinstance(value, torch.Tensor) else torch.as_tensor(value)
    return tensor.to(dtype) if dtype is not None else tensor


def _save(model: Any, folder: Path, example: Any) -> dict[str, Any]:
    import torch

    if example is None:
        raise InvalidArgument(
            "a torch model needs input_example: it is exported by tracing, so that another"
            " process can rebuild it without its class",
            field="input_example",
        )
    params = next(model.parameters(), None)
    dtype = params.dtype if params is not None and params.is_floating_point() else None
    sample = _tensor(torch, example, dtype)
    if sample.dim() > 0 and sample.shape[0] == 1:
        # A batch of one would be specialised to size 1; trace with two rows instead.
        sample = torch.cat([sample, sample])
    dynamic = ({0: torch.export.Dim.AUTO},) if sample.dim() > 0 else None
    was_training = model.training
    model.eval()
    try:
        program = torch.export.export(model, (sample,), dynamic_shapes=dynamic)
    finally:
        model.train(was_training)
    (folder / DATA).parent.mkdir(parents=True, exist_ok=True)
    torch.export.save(program, folder / DATA)
    return {
        "format": "torch.export",
        "data": DATA,
        "input_dtype": str(sample.dtype),
        # MLflow's pytorch flavor keys (mlflow.pytorch.load_model reads the pt2 file)
        "model_data": "data",
        "pytorch_version": str(torch.__version__),
        "code": None,
    }


def _load(folder: Path, config: dict[str, Any]) -> tuple[Predictor, Any]:
    import torch

    module = torch.export.load(folder / config["data"]).module()
    dtype = getattr(torch, config.get("input_dtype", "").removeprefix("torch."), None)
    return predictor(module, dtype), module


def predictor(module: Any, dtype: Any = None) -> Predictor:
    """x -> the module's output: tensors in, tensors out; anything else as NumPy."""
    import torch

    def predict(x: Any) -> Any:
        with torch.no_grad():
            out = module(_tensor(torch, x, dtype))
        return out if isinstance(x, torch.Tensor) else out.numpy()

    return predict


def _requirements(config: dict[str, Any]) -> list[str]:
    return pin("torch", "numpy", "switchyard")  # switchyard: MLflow's pyfunc loader is ours


FLAVOR = Flavor("pytorch", _accepts, _save, _load, _requirements)
