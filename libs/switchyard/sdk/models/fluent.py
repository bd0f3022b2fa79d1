"""`sy.log_model`, `sy.load_model`, `sy.register_model`, as `mlflow` names them.

    with sy.start_run():
        info = sy.log_model(clf, "model", registered_model_name="fraud",
                            input_example=x[:5])
    sy.Client().set_registered_model_alias("fraud", "champion", info.registered_model_version)
    model = sy.load_model("models:/fraud@champion")
    model.predict(x)

Files go straight between this process and the artifact store; the
services only hold their location, signature, flavor and digest.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from switchyard.core.artifacts import clean_path, open_store
from switchyard.errors import AlreadyExists, InvalidArgument, NotFound, SwitchyardError
from switchyard.sdk import fluent as tracking
from switchyard.sdk.client import Client
from switchyard.sdk.endpoints import settings_for_artifacts
from switchyard.sdk.models import packaging, uris
from switchyard.sdk.models.descriptor import FILE, Descriptor
from switchyard.sdk.progress import TransferBar
from switchyard.sdk.registry_entities import ModelInfo, ModelSignature, ModelVersion


class PyFuncModel:
    """A loaded model: `.predict(x)` whatever the flavor; `.model` is the rebuilt object."""

    def __init__(self, loaded: packaging.Loaded, uri: str, version: ModelVersion | None) -> None:
        self._loaded = loaded
        self.model_uri = uri
        self.model_version = version

    def predict(self, data: Any) -> Any:
        return self._loaded.predict(data)

    @property
    def model(self) -> Any:
        return self._loaded.model

    @property
    def flavor(self) -> str:
        return self._loaded.descriptor.flavor

    @property
    def metadata(self) -> Descriptor:
        return self._loaded.descriptor

    @property
    def signature(self) -> ModelSignature | None:
        return self._loaded.signature

    def __repr__(self) -> str:
        return f"PyFuncModel(uri={self.model_uri!r}, flavor={self.flavor!r})"


def _client() -> Client:
    return tracking._get_client()


def _store(client: Client, uri: str):  # type: ignore[no-untyped-def]
    return open_store(uri, settings_for_artifacts(client.settings, client.endpoints))


def log_model(
    model: Any,
    artifact_path: str,
    registered_model_name: str | None = None,
    signature: Any = None,
    input_example: Any = None,
    *,
    flavor: str | None = None,
) -> ModelInfo:
    """Save `model` into the active run's artifacts (starting a run if none is active)."""
    path = clean_path(artifact_path, "artifact_path")
    if not path:
        raise InvalidArgument("artifact_path must name a folder", field="artifact_path")
    client = _client()
    run = tracking.active_run() or tracking.start_run()
    run_id = run.info.run_id
    if _has_artifacts(client, run_id, path):
        # Files left from another model would mix with this one's (and fail its digest).
        raise AlreadyExists(
            f"run '{run_id}' already has artifacts at '{path}'; log the model to a new path",
            field="artifact_path",
        )
    with tempfile.TemporaryDirectory(prefix="switchyard-model-") as tmp:
        folder = Path(tmp) / "model"
        saved = packaging.save(
            model,
            folder,
            run_id=run_id,
            artifact_path=path,
            signature_given=signature,
            input_example=input_example,
            flavor_name=flavor,
        )
        client.log_artifacts(run_id, folder, path)
    uri = f"runs:/{run_id}/{path}"
    version = None
    if registered_model_name:
        version = _register(client, uri, registered_model_name, saved).version
    return ModelInfo(
        artifact_path=path,
        flavor=saved.flavor,
        model_uri=uri,
        model_uuid=saved.model_uuid,
        run_id=run_id,
        signature=ModelSignature.from_dict(saved.signature) if saved.signature else None,
        utc_time_created=saved.utc_time_created,
        content_digest=saved.content_digest,
        requirements=saved.requirements,
        registered_model_version=version,
    )


def load_model(model_uri: str, dst_path: str | Path | None = None) -> PyFuncModel:
    """Rebuild a model from models:/name@alias, models:/name/3, runs:/id/path or a location.

    The files are checked against their digest (and against the one the
    registry recorded, for models:/ URIs) before anything is deserialized.
    """
    client = _client()
    where = uris.resolve(client, model_uri)
    store = _store(client, where.uri)
    if dst_path is not None:
        with TransferBar(f"downloading {model_uri}") as bar:
            folder = store.download("", dst_path, bar)
        return PyFuncModel(packaging.load(folder, where.content_digest), model_uri, where.version)
    with tempfile.TemporaryDirectory(prefix="switchyard-model-") as tmp:
        with TransferBar(f"downloading {model_uri}") as bar:
            folder = store.download("", tmp, bar)
        loaded = packaging.load(folder, where.content_digest)
    return PyFuncModel(loaded, model_uri, where.version)


def register_model(model_uri: str, name: str, tags: dict[str, Any] | None = None) -> ModelVersion:
    """Register the model at `model_uri` as a new version of `name` (created if new)."""
    client = _client()
    return _register(client, model_uri, name, _descriptor(client, model_uri), tags)


def _has_artifacts(client: Client, run_id: str, path: str) -> bool:
    try:
        return bool(client.list_artifacts(run_id, path))
    except NotFound:
        return False


def _descriptor(client: Client, uri: str) -> Descriptor | None:
    """The MLmodel file at the source, if there is one (it adds flavor, signature, digest)."""
    try:
        location = uris.run_artifact(client, uri) if uri.startswith("runs:") else uri
        return Descriptor.from_json(_store(client, location).read_bytes(FILE).decode())
    except (SwitchyardError, ValueError):
        return None


def _register(
    client: Client,
    uri: str,
    name: str,
    saved: Descriptor | None,
    tags: dict[str, Any] | None = None,
) -> ModelVersion:
    try:
        client.create_registered_model(name)
    except AlreadyExists:
        pass
    signature = ModelSignature.from_dict(saved.signature) if saved and saved.signature else None
    return client.create_model_version(
        name,
        uri,
        tags=tags,
        signature=signature,
        flavor=saved.flavor if saved else None,
        content_digest=saved.content_digest if saved else None,
    )
