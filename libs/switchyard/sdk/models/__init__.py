"""Models as files: log them from a run, register them, load them anywhere.

Flavors: scikit-learn (skops), PyTorch (torch.export) and Python callables
(cloudpickle). See `fluent` for the calls and `packaging` for the folder.
"""

from switchyard.sdk.models.fluent import PyFuncModel, load_model, log_model, register_model

__all__ = ["PyFuncModel", "load_model", "log_model", "register_model"]
