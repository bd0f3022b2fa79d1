"""pyproject lists packages explicitly (two source roots); none may be forgotten."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _packages_on_disk() -> set[str]:
    """Every folder with files: code, or data (migrations, the UI's templates and
    static files), which setuptools warns of unless it is listed as a package."""
    found = set()
    for base, prefix in (
        (ROOT / "libs" / "switchyard", "switchyard"),
        (ROOT / "services", "switchyard.services"),
    ):
        for marker in base.rglob("*"):
            if not marker.is_file() or "__pycache__" in marker.parts:
                continue
            rel = marker.parent.relative_to(base).parts
            found.add(".".join((prefix, *rel)))
    return found


def test_every_package_is_listed() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    assert _packages_on_disk() == listed


def test_every_service_ships_its_migrations() -> None:
    from switchyard.core.service_spec import Need, catalog

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "*.sql" in data["package-data"]["*"]
    for spec in catalog().values():
        # a service that owns no tables (the web edge, the worker) asks for no database
        if Need.DATABASE in spec.needs:
            assert spec.migrations_dir is not None, spec.name
            assert list(spec.migrations_dir.glob("*.sql")), spec.name
