"""Every module of the package imports, whatever versions were resolved.

CI runs the suite at the dependency floors and at the newest releases; a
module that no other test touches still fails here if a dependency moved
a name it imports.
"""

import importlib
import pkgutil

import pytest

import switchyard
import switchyard.services

# Two source roots map into the package (libs/switchyard and services/).
ROOTS = (
    (switchyard.__path__, "switchyard."),
    (switchyard.services.__path__, "switchyard.services."),
)
MODULES = sorted(
    m.name
    for path, prefix in ROOTS
    for m in pkgutil.walk_packages(path, prefix)
    # `__main__` modules run a program when imported
    if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_module_imports(name: str) -> None:
    importlib.import_module(name)


def test_the_services_are_among_them() -> None:
    for service in ("tracking", "registry", "scheduler", "web"):
        assert f"switchyard.services.{service}.main" in MODULES
    assert "switchyard.services.trainer_worker.worker" in MODULES
