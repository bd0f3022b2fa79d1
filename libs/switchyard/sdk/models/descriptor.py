"""The `MLmodel` file: what a saved model folder holds and how to load it.

Written as JSON (which YAML readers also accept) beside the model's files:
flavor and its settings, Python version, pinned requirements, signature,
and a content digest over every other file in the folder, which loading
checks before it deserializes anything.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from switchyard.errors import FailedPrecondition, NotFound
from switchyard.sdk.models import mlflow_format

FILE = "MLmodel"
REQUIREMENTS = "requirements.txt"
INPUT_EXAMPLE = "input_example.json"


@dataclass(frozen=True)
class Descriptor:
    flavor: str
    flavor_config: dict[str, Any]
    artifact_path: str
    run_id: str
    model_uuid: str
    utc_time_created: str
    requirements: list[str]
    content_digest: str
    signature: dict[str, str] | None = None
    python_version: str = field(default_factory=platform.python_version)
    saved_input_example: str | None = None
    # MLflow's `flavors` (ours with MLflow's keys, and python_function), so that
    # MLflow's loaders read the folder too; see mlflow_format.py.
    flavors: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        raw = asdict(self)
        raw["flavors"] = self.flavors or {self.flavor: self.flavor_config}
        if self.signature:
            raw["signature"] = {k: v for k, v in self.signature.items() if v}
        if self.saved_input_example:  # where MLflow looks for it
            raw["saved_input_example_info"] = {
                "artifact_path": self.saved_input_example,
                "type": "json_object",
            }
        return json.dumps(raw, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: Path = Path(FILE)) -> Descriptor:
        raw = mlflow_format.parse(text, where)
        if "flavor" not in raw:  # written by MLflow
            raw = mlflow_format.describe_mlflow(raw)
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in raw.items() if k in known})

    def write(self, folder: Path) -> None:
        (folder / FILE).write_text(self.to_json())

    @classmethod
    def read(cls, folder: Path) -> Descriptor:
        path = folder / FILE
        if not path.is_file():
            raise NotFound(f"no {FILE} file in {folder}: not a saved model", entity="model")
        return cls.from_json(path.read_text(), path)


def digest(folder: Path) -> str:
    """sha256 over every file but the descriptor: relative paths and contents."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != FILE):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return f"sha256:{h.hexdigest()}"


def verify(folder: Path, descriptor: Descriptor, expected: str | None) -> None:
    """Refuse files that differ from what was saved (and registered, if known)."""
    actual = digest(folder)
    for want, where in ((descriptor.content_digest, FILE), (expected, "the registry")):
        if want and want != actual:
            raise FailedPrecondition(
                f"model files at {folder} do not match the digest in {where}"
                f" ({want} != {actual}); refusing to load them",
                entity="model",
            )
