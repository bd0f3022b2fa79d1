"""Saving a model as a self-describing folder, and rebuilding it from one.

<folder>/MLmodel            the descriptor (flavor, signature, digest, ...)
<folder>/requirements.txt   pinned versions of what loading needs
<folder>/input_example.json when an example was given and is JSON-able
<folder>/conda.yaml, python_env.yaml   the environment, as MLflow describes it
<folder>/<model files>      written by the flavor
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from switchyard.sdk.models import descriptor, flavors, mlflow_format, signature
from switchyard.sdk.models.descriptor import Descriptor
from switchyard.sdk.models.flavors import Predictor
from switchyard.sdk.registry_entities import ModelSignature


def _example_json(example: Any) -> str | None:
    value = example.tolist() if hasattr(example, "tolist") else example
    if hasattr(example, "to_dict"):  # a pandas DataFrame
        value = example.to_dict(orient="split")
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return None


def save(
    model: Any,
    folder: Path,
    *,
    run_id: str,
    artifact_path: str,
    signature_given: Any = None,
    input_example: Any = None,
    flavor_name: str | None = None,
) -> Descriptor:
    """Write `model` into the empty or new `folder`; return its descriptor."""
    flavor = flavors.for_model(model, flavor_name)
    folder.mkdir(parents=True, exist_ok=True)
    config = flavor.save(model, folder, input_example)
    requirements = flavor.requirements(config)
    (folder / descriptor.REQUIREMENTS).write_text("".join(f"{r}\n" for r in requirements))
    mlflow_format.write_env_files(folder, requirements)
    example_file = None
    if input_example is not None and (text := _example_json(input_example)) is not None:
        (folder / descriptor.INPUT_EXAMPLE).write_text(text)
        example_file = descriptor.INPUT_EXAMPLE
    sig = signature.coerce(signature_given)
    if sig is None and input_example is not None:
        predict, _ = flavor.load(folder, config)  # the saved model, as a loader sees it
        sig = signature.infer(input_example, predict(input_example))
    found = Descriptor(
        flavor=flavor.name,
        flavor_config=config,
        artifact_path=artifact_path,
        run_id=run_id,
        model_uuid=uuid.uuid4().hex,
        utc_time_created=datetime.now(UTC).isoformat(),
        requirements=requirements,
        content_digest=descriptor.digest(folder),
        signature=sig.to_dict() if sig is not None else None,
        saved_input_example=example_file,
        flavors=mlflow_format.flavors_for(flavor.name, config, folder),
    )
    found.write(folder)
    return found


@dataclass(frozen=True)
class Loaded:
    predict: Predictor
    model: Any
    descriptor: Descriptor

    @property
    def signature(self) -> ModelSignature | None:
        raw = self.descriptor.signature
        return ModelSignature.from_dict(raw) if raw else None


def load(folder: Path, expected_digest: str | None = None) -> Loaded:
    """Check the folder's digest (against the registry's too, if given), then rebuild."""
    found = Descriptor.read(folder)
    descriptor.verify(folder, found, expected_digest)
    predict, model = flavors.by_name(found.flavor).load(folder, found.flavor_config)
    return Loaded(predict, model, found)
