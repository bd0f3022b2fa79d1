"""Artifact stores: a local folder or S3/MinIO, read and written by clients directly.

Artifacts never flow through the services; they hold only a run's artifact
URI, and `open_store(uri, settings)` turns it into a store:

    file:///abs/path or /abs/path   LocalArtifactStore
    s3://bucket/prefix              S3ArtifactStore (the `minio` client, settings.s3_*)

Paths inside a store are relative, '/'-separated and may not escape the root.
Foreign errors (OSError, S3Error, urllib3's) become the `switchyard.errors`
tree here and nowhere else.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

from switchyard.core.config import Settings

if TYPE_CHECKING:
    # minio (with its crypto and urllib3) loads only where s3:// is used:
    # most processes never touch S3, and it costs each ~17 MB.
    from minio import Minio
from switchyard.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)

# Transfers are I/O bound; minio's connection pool holds 10 connections.
_WORKERS = 8
_Job = TypeVar("_Job")
_Sized = TypeVar("_Sized", tuple[Path, Path, int], tuple[Path, str, int])  # (from, to, bytes)


class TransferProgress(Protocol):
    """What a caller showing progress is told: the total first, then each file done."""

    def start(self, total_bytes: int) -> None: ...

    def advance(self, done_bytes: int) -> None: ...


# Half-written local files carry this prefix until their atomic rename.
_TMP_PREFIX = ".sy-tmp-"


@dataclass(frozen=True)
class FileInfo:
    """One entry of a listing, like MLflow's FileInfo."""

    path: str  # relative to the store's root, '/'-separated
    is_dir: bool
    file_size: int | None  # None for directories


MAX_NAME_BYTES = 255  # one file or folder name (Linux, macOS)
MAX_PATH_BYTES = 900  # under S3's 1,024-byte keys, leaving room for the run's prefix


def clean_path(path: str | None, field: str = "path") -> str:
    """`path` as 'a/b/c' ('' for the root); absolute paths and '..' are refused."""
    if not path:
        return ""
    if "\\" in path or "\x00" in path:
        raise InvalidArgument(f"{field} may not contain backslashes or NUL: {path!r}", field=field)
    if path.startswith("/"):
        raise InvalidArgument(f"{field} must be relative: {path!r}", field=field)
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidArgument(f"{field} may not contain '..': {path!r}", field=field)
    # File systems refuse longer names and S3 longer keys; say so, not a 500.
    if any(len(p.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for p in parts):
        raise InvalidArgument(
            f"{field} has a name longer than {MAX_NAME_BYTES} bytes: {path[:80]!r}...", field=field
        )
    cleaned = "/".join(parts)
    if len(cleaned.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise InvalidArgument(f"{field} is longer than {MAX_PATH_BYTES} bytes", field=field)
    return cleaned


def _file_path(path: str) -> str:
    rel = clean_path(path)
    if not rel:
        raise InvalidArgument("a file path is required", field="path")
    return rel


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


class ArtifactStore(ABC):
    """One artifact root (usually a run's); every path is relative to it."""

    uri: str

    @abstractmethod
    def _put_file(self, local: Path, key: str) -> None: ...

    @abstractmethod
    def list(self, path: str | None = None) -> list[FileInfo]:
        """One level under `path`, sorted; [] for a file, NotFound if absent."""

    @abstractmethod
    def download(
        self, path: str, dst_dir: str | Path, progress: TransferProgress | None = None
    ) -> Path:
        """A file or a whole folder into `dst_dir`, keeping its relative path
        (`download('a/b.txt', d)` writes `d/a/b.txt`, as MLflow does); returns it.
        `progress` learns the total size first, then each file's as it lands."""

    @abstractmethod
    def write_bytes(self, path: str, data: bytes) -> None: ...

    @abstractmethod
    def read_bytes(self, path: str) -> bytes: ...

    def presigned_get_url(self, path: str, expires: timedelta = timedelta(hours=1)) -> str:
        raise FailedPrecondition(
            f"{type(self).__name__} cannot sign URLs; use an s3:// artifact root",
            field="artifact_uri",
        )

    def upload_file(self, local_path: str | Path, artifact_path: str | None = None) -> None:
        """`local_path` to `<root>/<artifact_path>/<its name>`."""
        local = Path(local_path)
        if not local.is_file():
            raise InvalidArgument(f"not a file: {local}", field="local_path")
        self._put_file(local, _join(clean_path(artifact_path, "artifact_path"), local.name))

    def upload_dir(
        self,
        local_dir: str | Path,
        artifact_path: str | None = None,
        progress: TransferProgress | None = None,
    ) -> None:
        """Every file under `local_dir` to `<root>/<artifact_path>/<relative path>`,
        as `mlflow.log_artifacts`. `progress` learns the total size first, then
        each file's as it is stored."""
        root = Path(local_dir)
        if not root.is_dir():
            raise InvalidArgument(f"not a directory: {root}", field="local_dir")
        base = clean_path(artifact_path, "artifact_path")

        def put(job: tuple[Path, str, int]) -> int:
            self._put_file(job[0], job[1])
            return job[2]

        files = sorted(p for p in root.rglob("*") if p.is_file())
        jobs = [(f, _join(base, f.relative_to(root).as_posix()), f.stat().st_size) for f in files]
        _transfer(put, jobs, progress)


def _transfer(
    fn: Callable[[_Sized], int],
    jobs: list[_Sized],
    progress: TransferProgress | None,
) -> None:
    """Run the file jobs (source, destination, size) in parallel, telling `progress`."""
    if progress is not None:
        progress.start(sum(job[2] for job in jobs))
    _parallel(fn, jobs, progress.advance if progress is not None else None)


def _parallel(
    fn: Callable[[_Job], int | None],
    jobs: Iterable[_Job],
    progress: Callable[[int], None] | None = None,
) -> None:
    with ThreadPoolExecutor(_WORKERS) as pool:
        for future in as_completed([pool.submit(fn, job) for job in jobs]):
            done = future.result()  # the first failure propagates
            if progress is not None and done is not None:
                progress(done)  # from the caller's thread, not a worker's


def _atomic_copy(src: Path | io.BytesIO, dst: Path) -> None:
    """Readers see the old file or the whole new one, never a partial one."""
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InvalidArgument(f"a file is in the way of {dst}", field="path") from None
    fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=dst.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(src, Path):
                with src.open("rb") as inp:
                    shutil.copyfileobj(inp, out, 1 << 20)
            else:
                out.write(src.getbuffer())
        os.replace(tmp, dst)
    except IsADirectoryError:
        Path(tmp).unlink(missing_ok=True)
        raise InvalidArgument(f"a directory is in the way of {dst}", field="path") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class LocalArtifactStore(ArtifactStore):
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).absolute()
        self.uri = self.root.as_uri()

    def _local(self, rel: str) -> Path:
        path = self.root / rel if rel else self.root
        if not self._inside(path):
            raise PermissionDenied(
                f"artifact path {rel!r} resolves outside the store's root", field="path"
            )
        return path

    def _inside(self, path: Path) -> bool:
        """Whether `path`, symlinks followed, stays under the root: a link inside
        the store must not read or write anywhere else on the machine."""
        root = self.root.resolve()
        resolved = path.resolve()
        return resolved == root or resolved.is_relative_to(root)

    def _put_file(self, local: Path, key: str) -> None:
        _atomic_copy(local, self._local(key))

    def list(self, path: str | None = None) -> list[FileInfo]:
        rel = clean_path(path)
        target = self._local(rel)
        if target.is_file() or (not rel and not target.exists()):
            return []  # like MLflow; an empty root is just "no artifacts yet"
        if not target.is_dir():
            raise NotFound(f"no artifact at {rel!r}", entity="artifact")
        infos = []
        with os.scandir(target) as entries:
            for entry in entries:
                if entry.name.startswith(_TMP_PREFIX):
                    continue
                is_dir = entry.is_dir()
                size = None if is_dir else entry.stat().st_size
                infos.append(FileInfo(_join(rel, entry.name), is_dir, size))
        return sorted(infos, key=lambda i: i.path)

    def download(
        self, path: str, dst_dir: str | Path, progress: TransferProgress | None = None
    ) -> Path:
        rel = clean_path(path)
        src = self._local(rel)
        dst = Path(dst_dir) / rel if rel else Path(dst_dir)
        if src.is_file():
            jobs = [(src, dst, src.stat().st_size)]
        elif rel and not src.is_dir():
            raise NotFound(f"no artifact at {rel!r}", entity="artifact")
        else:
            dst.mkdir(parents=True, exist_ok=True)
            jobs = [
                (f, dst / f.relative_to(src).as_posix(), f.stat().st_size)
                for f in src.rglob("*")
                if f.is_file() and not f.name.startswith(_TMP_PREFIX) and self._inside(f)
            ]

        def copy(job: tuple[Path, Path, int]) -> int:
            _atomic_copy(job[0], job[1])
            return job[2]

        _transfer(copy, jobs, progress)
        return dst

    def write_bytes(self, path: str, data: bytes) -> None:
        rel = _file_path(path)
        _atomic_copy(io.BytesIO(data), self._local(rel))

    def read_bytes(self, path: str) -> bytes:
        rel = _file_path(path)
        try:
            return self._local(rel).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"no artifact file at {rel!r}", entity="artifact") from None


@contextmanager
def _s3_errors(what: str) -> Iterator[None]:
    """The one place where S3 and transport errors join the error tree."""
    from minio.error import S3Error
    from urllib3.exceptions import HTTPError as Urllib3Error

    try:
        yield
    except S3Error as e:
        if e.code in ("NoSuchKey", "NoSuchBucket", "NoSuchObject", "ResourceNotFound"):
            raise NotFound(f"no artifact at {what!r} ({e.code})", entity="artifact") from None
        if e.code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
            raise Unauthenticated(f"S3 rejected the credentials: {e.code}") from e
        if e.code == "AccessDenied":
            raise PermissionDenied(f"S3 denied access to {what!r}") from e
        raise
    except Urllib3Error as e:
        raise Unavailable(f"S3 endpoint unreachable: {e}") from e


class S3ArtifactStore(ArtifactStore):
    def __init__(self, client: Minio, bucket: str, prefix: str = "") -> None:
        _check_bucket(bucket)
        self.client = client
        self.bucket = bucket
        self.prefix = clean_path(prefix, "artifact_uri")
        self.uri = f"s3://{bucket}/{self.prefix}".rstrip("/")

    def _key(self, rel: str) -> str:
        return _join(self.prefix, rel)

    def _put_file(self, local: Path, key: str) -> None:
        with _s3_errors(key):
            # minio switches to a multipart upload above 5 MiB by itself.
            self.client.fput_object(self.bucket, self._key(key), str(local))

    def _walk(self, rel: str, recursive: bool) -> Iterator[tuple[str, bool, int | None]]:
        """(path relative to `rel`, is_dir, size) of the keys under `rel`."""
        prefix = self._key(rel) + "/" if self._key(rel) else ""
        with _s3_errors(rel):
            for obj in self.client.list_objects(self.bucket, prefix=prefix, recursive=recursive):
                name = (obj.object_name or "")[len(prefix) :]
                if name.rstrip("/"):  # skip the folder's own marker object
                    yield name.rstrip("/"), bool(obj.is_dir), None if obj.is_dir else obj.size

    def _is_file(self, rel: str) -> bool:
        return self._file_size(rel) is not None

    def _file_size(self, rel: str) -> int | None:
        """The object's size; None when no object has that key (a folder, or nothing)."""
        try:
            with _s3_errors(rel):
                return int(self.client.stat_object(self.bucket, self._key(rel)).size or 0)
        except NotFound:
            return None

    def list(self, path: str | None = None) -> list[FileInfo]:
        rel = clean_path(path)
        infos = [FileInfo(_join(rel, n), d, s) for n, d, s in self._walk(rel, recursive=False)]
        if not infos and rel and not self._is_file(rel):
            raise NotFound(f"no artifact at {rel!r}", entity="artifact")
        return sorted(infos, key=lambda i: i.path)

    def download(
        self, path: str, dst_dir: str | Path, progress: TransferProgress | None = None
    ) -> Path:
        rel = clean_path(path)
        dst = Path(dst_dir) / rel if rel else Path(dst_dir)
        size = self._file_size(rel) if rel else None
        if size is not None:
            files = [(dst, rel, size)]  # fget_object writes a .part file, then renames
        else:
            # Keys written by other tools may hold '..': clean_path keeps them inside dst.
            files = [
                (dst / clean_path(name, "key"), _join(rel, name), size or 0)
                for name, is_dir, size in self._walk(rel, recursive=True)
                if not is_dir
            ]
            if not files and rel:
                raise NotFound(f"no artifact at {rel!r}", entity="artifact")
            dst.mkdir(parents=True, exist_ok=True)

        def get(job: tuple[Path, str, int]) -> int:
            self._get_file(job[1], job[0])
            return job[2]

        _transfer(get, files, progress)
        return dst

    def _get_file(self, rel: str, local: Path) -> None:
        local.parent.mkdir(parents=True, exist_ok=True)
        with _s3_errors(rel):
            self.client.fget_object(self.bucket, self._key(rel), str(local))

    def write_bytes(self, path: str, data: bytes) -> None:
        rel = _file_path(path)
        with _s3_errors(rel):
            self.client.put_object(self.bucket, self._key(rel), io.BytesIO(data), len(data))

    def read_bytes(self, path: str) -> bytes:
        rel = _file_path(path)
        with _s3_errors(rel):
            response = self.client.get_object(self.bucket, self._key(rel))
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

    def presigned_get_url(self, path: str, expires: timedelta = timedelta(hours=1)) -> str:
        rel = _file_path(path)
        if not timedelta(seconds=1) <= expires <= timedelta(days=7):
            raise InvalidArgument("expires must be between 1 s and 7 days", field="expires")
        with _s3_errors(rel):
            return self.client.presigned_get_object(self.bucket, self._key(rel), expires=expires)


def _check_bucket(bucket: str) -> None:
    from minio.helpers import check_bucket_name

    try:
        check_bucket_name(bucket, strict=True)
    except ValueError as e:
        raise InvalidArgument(str(e), field="artifact_uri") from None


def s3_client(settings: Settings) -> Minio:
    """A minio client for settings.s3_*; the endpoint may carry http(s)://."""
    endpoint = settings.s3_endpoint
    if not endpoint:
        raise FailedPrecondition(
            "s3:// artifacts need an S3 endpoint (SWITCHYARD_S3_ENDPOINT)", field="s3_endpoint"
        )
    secure = settings.s3_secure
    if "://" in endpoint:
        parts = urlsplit(endpoint)
        endpoint, secure = parts.netloc, parts.scheme == "https"
    from minio import Minio

    return Minio(
        endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        region=settings.s3_region,
        secure=secure,
    )


def open_store(uri: str, settings: Settings) -> ArtifactStore:
    """The store for an artifact URI: file:// (or a plain path) or s3://."""
    parts = urlsplit(uri)
    if parts.scheme == "" and uri:
        return LocalArtifactStore(Path(uri))
    if parts.scheme == "file" and parts.netloc in ("", "localhost"):
        return LocalArtifactStore(Path(unquote(parts.path)))
    if parts.scheme == "s3" and parts.netloc:
        return S3ArtifactStore(s3_client(settings), parts.netloc, unquote(parts.path).strip("/"))
    raise InvalidArgument(
        f"unsupported artifact URI {uri!r} (expected file:// or s3://bucket/prefix)",
        field="artifact_uri",
    )


def ensure_bucket(settings: Settings, bucket: str) -> None:
    """Create `bucket` unless it exists (safe when several processes race)."""
    from minio.error import S3Error

    _check_bucket(bucket)
    client = s3_client(settings)
    with _s3_errors(bucket):
        if client.bucket_exists(bucket):
            return
        try:
            client.make_bucket(bucket, location=settings.s3_region)
        except S3Error as e:
            if e.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise


__all__ = [
    "ArtifactStore",
    "FileInfo",
    "LocalArtifactStore",
    "S3ArtifactStore",
    "clean_path",
    "ensure_bucket",
    "open_store",
    "s3_client",
]
