"""requirements/lock.txt and floors.txt agree with pyproject's ranges."""

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from switchyard.dev import deps


def test_every_range_has_a_floor_and_major_dependencies_a_ceiling() -> None:
    for req in deps.direct_requirements():
        assert req.floor, f"{req.name}: no lower bound"
        pinned = req.spec.startswith("==")
        assert pinned or "<" in req.spec, f"{req.name}: no upper bound for the next major"


def test_floors_pin_each_direct_dependency_at_a_release_its_range_admits() -> None:
    floors = deps.read_lock(deps.FLOORS)
    reqs = {r.name: r for r in deps.direct_requirements()}
    assert sorted(floors) == sorted(reqs), "run: python -m switchyard.dev.deps floors"
    for name, version in floors.items():
        version = version.split(";")[0].strip()
        req = reqs[name]
        assert version in SpecifierSet(req.spec, prereleases=True), (name, version, req.spec)
        assert Version(version) >= Version(req.floor or "0"), name


def test_lock_pins_every_direct_dependency_inside_its_range() -> None:
    lock = deps.read_lock(deps.LOCK)
    for req in deps.direct_requirements():
        if "win32" in req.marker and "!=" not in req.marker:
            continue
        assert req.name in lock, f"{req.name} missing: run python -m switchyard.dev.deps lock"
        assert lock[req.name] in SpecifierSet(req.spec, prereleases=True), (
            req.name,
            lock[req.name],
            req.spec,
        )
