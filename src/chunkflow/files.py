"""Every file and object chunkflow reads or writes: a plain path, ``file://``, ``gs://`` or ``s3://``.

One module owns storage, so that a volume's ``info``, a mesh fragment, a done marker and a staged job's
work files are all written the same way on a laptop's disk and on a bucket:

- :func:`read_bytes` / :func:`read_json` / :func:`write_bytes` / :func:`write_json`: whole objects. A local
  write goes to a hidden temporary beside the file and is renamed into place; an object PUT is atomic by
  itself. Either way a reader sees the old content or the new, never a part.
- :func:`create_exclusive`: create-if-absent; of many concurrent callers exactly one gets ``True``
  (``O_EXCL``-style ``link`` on disk, S3 ``If-None-Match: *``, GCS ``ifGenerationMatch=0``). Done markers
  and claims use it.
- :func:`read_versioned` / :func:`write_if`: compare-and-swap on a version (a content hash under a
  ``flock`` on disk, the ETag on S3, the generation on GCS); :func:`update_json` is a read-modify-write
  loop on it, so concurrent updates of one ``info`` never lose each other's change and leave no lock
  object on a bucket.
- :func:`list_names`, :func:`exists`, :func:`delete`, :func:`delete_prefix`, :func:`write_many`,
  :func:`read_many`: the rest a job needs.

Remote objects go through cloud-files (``CloudFiles``: credentials from the environment, the AWS profile or
``~/.cloudvolume/secrets``, retries); the conditional writes, which cloud-files lacks, through boto3 and
google-cloud-storage with the same credentials. ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` point every
``s3://`` path at an S3-compatible store (MinIO, SeaweedFS, moto), as boto3 reads them itself.

Write policy is passed explicitly by the caller (which function it calls); nothing here reads globals
beyond the environment the storage libraries read.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import random
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from chunkflow.errors import (
    ConditionalWriteError,
    CorruptFileError,
    InvalidParameterError,
    StorageError,
    VolumeNotFoundError,
)

__all__ = [
    "REMOTE_SCHEMES", "is_remote", "is_local", "join", "parent", "basename", "local_path", "display",
    "exists", "read_bytes", "read_text", "read_json", "maybe_read_bytes", "write_bytes", "write_text",
    "write_json", "create_exclusive", "read_versioned", "write_if", "update_json", "delete", "delete_prefix",
    "list_names", "write_many", "read_many", "size_of_prefix", "atomic_path", "write_atomic", "locked",
    "sweep_debris", "require_exists", "Version", "storage_error", "check_url", "atomic_directory", "s3_endpoint",
    "aws_region", "bound_remote_attempts",
    "REMOTE_ATTEMPTS_ENV",
]  # fmt: skip

REMOTE_SCHEMES = ("gs://", "s3://")
#: a version for compare-and-swap: ``None`` means "the object must not exist"
Version = str | None


# ---- URLs -----------------------------------------------------------------------------------------
def is_remote(url: str | os.PathLike[str]) -> bool:
    """Whether ``url`` names an object on a bucket (``gs://`` or ``s3://``)."""
    return str(url).startswith(REMOTE_SCHEMES)


def is_local(url: str | os.PathLike[str]) -> bool:
    """Whether ``url`` is a plain path or ``file://``; any other ``scheme://`` is neither local nor remote."""
    text = str(url)
    return text.startswith("file://") or "://" not in text


def check_url(url: str | os.PathLike[str]) -> str:
    text = str(url)
    if not (is_local(text) or is_remote(text)):
        scheme = text.split("://", 1)[0]
        raise InvalidParameterError(
            f"{text!r}: storage scheme {scheme}:// is not supported; use a local path, file://, gs:// or s3://"
        )
    if is_remote(text) and len(text.split("://", 1)[1].strip("/")) == 0:
        raise InvalidParameterError(f"{text!r} names no bucket; use {text.split('://')[0]}://BUCKET/PATH")
    return text


def join(base: str | os.PathLike[str], *parts: str) -> str:
    """``base`` joined with ``parts`` (``/``-separated on buckets, the OS's way on disk); keeps the scheme."""
    text = str(base)
    if is_remote(text) or text.startswith("file://"):
        scheme, rest = text.split("://", 1)
        return f"{scheme}://" + posixpath.join(rest, *parts)
    return os.path.join(text, *parts)


def parent(url: str | os.PathLike[str]) -> str:
    text = str(url).rstrip("/")
    if "://" in text:
        scheme, rest = text.split("://", 1)
        return f"{scheme}://" + posixpath.dirname(rest)
    return os.path.dirname(text) or "."


def basename(url: str | os.PathLike[str]) -> str:
    return posixpath.basename(str(url).rstrip("/"))


def local_path(url: str | os.PathLike[str]) -> Path:
    """The local path of ``url`` (a plain path or ``file://...``), for formats that only exist as local files
    (HDF5, TIFF, PNG stacks); any other scheme is refused in one line, before anything is written."""
    text = str(url)
    if not is_local(text):
        scheme = text.split("://", 1)[0]
        raise InvalidParameterError(
            f"{text!r} is on {scheme}://, but this format is written as local files: give a local or mounted path "
            "(file:///... or /...), or use a format that lives on buckets (precomputed, zarr)"
        )
    return Path(text.removeprefix("file://"))


def display(url: str | os.PathLike[str]) -> str:
    """``url`` as messages print it (no credentials are ever part of a URL we accept)."""
    return str(url)


def _split(url: str) -> tuple[str, str, str]:
    """``s3://bucket/key/x`` -> (``s3``, ``bucket``, ``key/x``)."""
    scheme, rest = url.split("://", 1)
    bucket, _, key = rest.partition("/")
    return scheme, bucket, key


# ---- remote clients -------------------------------------------------------------------------------
_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()


def _default_session_token() -> None:
    """Plain access keys in the environment (an IAM user, MinIO, SeaweedFS) carry no session token, but
    cloud-files (so cloud-volume) reads ``AWS_SESSION_TOKEN`` whenever it takes the key pair from the
    environment and fails with ``KeyError`` where it is unset; an empty token is what boto3 treats as none."""
    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault("AWS_SESSION_TOKEN", "")


_default_session_token()


#: bounds how often cloud-files (so cloud-volume) tries one remote request; unset, cloud-files keeps its own
#: 7 tries with exponential backoff (up to a minute between tries), which rides out a network blip. The test
#: suite sets it to 1 so that an address that does not answer fails at once. botocore's own attempts per try
#: are ``AWS_MAX_ATTEMPTS`` (with ``AWS_RETRY_MODE``).
REMOTE_ATTEMPTS_ENV = "CHUNKFLOW_REMOTE_ATTEMPTS"

_own_retries: dict[Any, tuple[Any, Any]] = {}  # cloud-files' retry controllers -> their own (stop, retry)
#: errors that no retry can mend: a bucket that does not exist, missing or rejected credentials
_PERMANENT = ("NoSuchBucket", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidBucketName")


def _permanent(exc: BaseException) -> bool:
    name = type(exc).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError", "DefaultCredentialsError"):
        return True
    response = getattr(exc, "response", None)
    code = str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""
    return code in _PERMANENT or (name == "NotFound" and "bucket does not exist" in str(exc).lower())


def bound_remote_attempts() -> None:
    """Apply ``CHUNKFLOW_REMOTE_ATTEMPTS`` to cloud-files' retries (read at every call: a test may change it),
    and never retry an error no retry can mend (no such bucket, no or wrong credentials): it fails at once.
    Called before cloud-files (or cloud-volume) is used, with the environment as it is then."""
    _default_session_token()
    text = os.environ.get(REMOTE_ATTEMPTS_ENV, "").strip()
    if text and not (text.isdigit() and int(text) >= 1):
        import logging

        log = logging.getLogger(__name__)
        log.warning("%s=%r is not a whole number >= 1; cloud-files' own retries apply", REMOTE_ATTEMPTS_ENV, text)
        text = ""
    import tenacity
    from cloudfiles import connectionpools, interfaces

    if not _own_retries:
        for module in (interfaces, connectionpools):
            for value in vars(module).values():
                for member in vars(value).values() if isinstance(value, type) else (value,):
                    retrying = getattr(member, "retry", None)
                    if isinstance(retrying, tenacity.BaseRetrying):
                        _own_retries[retrying] = (retrying.stop, retrying.retry)
    mendable = tenacity.retry_if_exception(lambda exc: not _permanent(exc))
    for retrying, (stop, retry) in _own_retries.items():
        retrying.stop = tenacity.stop_after_attempt(int(text)) if text else stop
        retrying.retry = retry & mendable


def _cloudfiles(url: str) -> Any:
    """A CloudFiles rooted at the bucket of ``url`` (one per bucket and process)."""
    scheme, bucket, _ = _split(url)
    key = ("cf", scheme, bucket, os.getpid())
    bound_remote_attempts()
    with _clients_lock:
        if key not in _clients:
            from cloudfiles import CloudFiles

            secrets = None
            if scheme == "s3" and "AWS_SESSION_TOKEN" not in os.environ and os.environ.get("AWS_ACCESS_KEY_ID"):
                # cloud-files reads a key pair from the environment only together with a session token
                # (KeyError otherwise); MinIO / SeaweedFS users set just the pair
                secrets = {name: os.environ.get(name) for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
                secrets["AWS_DEFAULT_REGION"] = os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
            _clients[key] = CloudFiles(f"{scheme}://{bucket}", progress=False, secrets=secrets)
        return _clients[key]


def _s3_client(bucket: str) -> Any:
    key = ("s3", bucket, os.getpid())
    with _clients_lock:
        if key not in _clients:
            import boto3
            from botocore.config import Config

            kwargs: dict[str, Any] = {}
            if not os.environ.get("AWS_ACCESS_KEY_ID"):  # the credentials cloud-files would use
                try:
                    from cloudfiles.secrets import aws_credentials

                    secrets = aws_credentials(bucket, "aws")
                except Exception:  # noqa: BLE001 - no secrets file: boto3 finds its own (profile, role)
                    secrets = {}
                for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
                    if secrets.get(name):
                        kwargs[name.lower()] = secrets[name]
            elif os.environ.get("AWS_SESSION_TOKEN") == "":
                kwargs = {
                    "aws_access_key_id": os.environ["AWS_ACCESS_KEY_ID"],
                    "aws_secret_access_key": os.environ.get("AWS_SECRET_ACCESS_KEY"),
                }
            region = aws_region() or "us-east-1"
            config = Config(request_checksum_calculation="when_required", retries={"mode": "standard"})
            _clients[key] = boto3.client("s3", region_name=region, config=config, **kwargs)
        return _clients[key]


def _gcs_bucket(bucket: str) -> Any:
    key = ("gs", bucket, os.getpid())
    with _clients_lock:
        if key not in _clients:
            from google.cloud import storage

            try:
                from cloudfiles.secrets import google_credentials

                project, credentials = google_credentials(bucket)
                client = storage.Client(project=project, credentials=credentials)
            except Exception:  # noqa: BLE001 - fall back to application-default credentials
                client = storage.Client()
            _clients[key] = client.bucket(bucket)
        return _clients[key]


def s3_endpoint() -> str | None:
    """The S3-compatible endpoint the AWS convention names (``AWS_ENDPOINT_URL_S3`` over ``AWS_ENDPOINT_URL``),
    or ``None`` for AWS itself; for the libraries that do not read these variables themselves."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def aws_region() -> str | None:
    return os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or None


def _endpoint(scheme: str) -> str:
    if scheme == "s3":
        return s3_endpoint() or "AWS S3"
    return "Google Cloud Storage"


def storage_error(url: str, exc: BaseException) -> StorageError:
    """One line for a failure of the store itself (no bucket, no credentials, no answer)."""
    from chunkflow.redact import redact

    scheme, bucket, _ = _split(url)
    text = f"{type(exc).__name__}: {exc}"
    name = type(exc).__name__
    code = ""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
    if code == "NoSuchBucket" or "NoSuchBucket" in text or "bucket does not exist" in text.lower():
        hint = f"bucket {bucket!r} does not exist at {_endpoint(scheme)}; create it or fix the URL"
    elif name in ("NoCredentialsError", "PartialCredentialsError", "DefaultCredentialsError") or code in (
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "403",
    ):
        hint = (
            f"no usable credentials for {scheme}://{bucket} ({name}{': ' + code if code else ''}); set "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE (s3), GOOGLE_APPLICATION_CREDENTIALS (gs), "
            "or a ~/.cloudvolume/secrets file"
        )
    elif name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionError") or (
        "connect" in text.lower() and "endpoint" in text.lower()
    ):
        hint = f"cannot reach {_endpoint(scheme)} for {scheme}://{bucket}; check AWS_ENDPOINT_URL and the network"
    else:
        hint = f"{text[:300]}"
    return StorageError(redact(f"storage error on {url}: {hint}"))


@contextmanager
def _remote(url: str) -> Iterator[None]:
    try:
        yield
    except (StorageError, ConditionalWriteError, CorruptFileError, VolumeNotFoundError):
        raise
    except Exception as exc:  # noqa: BLE001 - the storage libraries raise many kinds; one line each
        raise storage_error(url, exc) from None


# ---- plain reads and writes -----------------------------------------------------------------------
def exists(url: str | os.PathLike[str]) -> bool:
    text = check_url(url)
    if is_local(text):
        return local_path(text).exists()
    with _remote(text):
        return bool(_cloudfiles(text).exists(_split(text)[2]))


def maybe_read_bytes(url: str | os.PathLike[str]) -> bytes | None:
    """The bytes of ``url``, or ``None`` where it does not exist."""
    text = check_url(url)
    if is_local(text):
        path = local_path(text)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            raise CorruptFileError(f"{text} is a directory, not a file; remove it or give the file's path") from None
        except NotADirectoryError:
            return None
    with _remote(text):
        data = _cloudfiles(text).get(_split(text)[2], raw=False)
    if data is None:
        return None
    if isinstance(data, dict) and "error" in data:  # cloud-files reports some errors this way
        if data.get("error") is not None:
            raise storage_error(text, data["error"])
        data = data.get("content")
    return bytes(data) if data is not None else None


def read_bytes(url: str | os.PathLike[str], what: str = "file", fix: str = "check the path") -> bytes:
    """The bytes of ``url``; a missing one is a :class:`VolumeNotFoundError` naming ``what`` and ``fix``."""
    data = maybe_read_bytes(url)
    if data is None:
        raise VolumeNotFoundError(f"{what} {display(url)} does not exist; {fix}")
    return data


def read_text(url: str | os.PathLike[str], what: str = "file", fix: str = "check the path") -> str:
    data = read_bytes(url, what, fix)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise CorruptFileError(f"{what} {display(url)} is not UTF-8 text; {fix}") from None


def _decode_json(data: bytes, url: str, what: str, fix: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"{what} {display(url)} is not valid JSON ({str(exc)[:80]}); {fix}") from None


def read_json(url: str | os.PathLike[str], what: str = "file", fix: str = "check the path or rewrite it") -> Any:
    """The JSON at ``url``; missing -> :class:`VolumeNotFoundError`, undecodable -> :class:`CorruptFileError`."""
    return _decode_json(read_bytes(url, what, fix), str(url), what, fix)


def write_bytes(url: str | os.PathLike[str], data: bytes, content_type: str | None = None) -> None:
    """Write ``data`` to ``url`` whole: readers see the old or the new content, never a part."""
    text = check_url(url)
    if is_local(text):
        write_atomic(local_path(text), data)
        return
    with _remote(text):
        _cloudfiles(text).put(_split(text)[2], bytes(data), content_type=content_type, compress=None)


def write_text(url: str | os.PathLike[str], text: str) -> None:
    write_bytes(url, text.encode("utf-8"), content_type="text/plain")


def _encode_json(value: Any) -> bytes:
    return json.dumps(value, indent=1, sort_keys=True).encode("utf-8")


def write_json(url: str | os.PathLike[str], value: Any) -> None:
    write_bytes(url, _encode_json(value), content_type="application/json")


def delete(url: str | os.PathLike[str]) -> None:
    """Remove ``url`` if it exists (a local directory with everything in it)."""
    text = check_url(url)
    if is_local(text):
        path = local_path(text)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        return
    with _remote(text):
        _cloudfiles(text).delete(_split(text)[2])


def _prefix_key(text: str) -> str:
    key = _split(text)[2]
    return key if key == "" or key.endswith("/") else key + "/"


def list_names(url: str | os.PathLike[str], recursive: bool = True) -> Iterator[str]:
    """Names below the directory/prefix ``url``, relative to it (``/``-separated); nothing if it is absent."""
    text = check_url(url)
    if is_local(text):
        root = local_path(text)
        if not root.is_dir():
            return
        if recursive:
            for dirpath, _dirs, names in os.walk(root):
                rel = os.path.relpath(dirpath, root)
                for name in names:
                    if name.startswith(".") and (name.endswith(".part") or name.endswith(".lock")):
                        continue  # our temporaries and lock files are not content
                    yield name if rel == "." else posixpath.join(Path(rel).as_posix(), name)
        else:
            for entry in os.scandir(root):
                if not (entry.name.startswith(".") and entry.name.endswith((".part", ".lock"))):
                    yield entry.name + ("/" if entry.is_dir() else "")
        return
    prefix = _prefix_key(text)
    with _remote(text):
        names = list(_cloudfiles(text).list(prefix=prefix, flat=not recursive))
    for name in names:
        yield name[len(prefix) :]


def delete_prefix(url: str | os.PathLike[str]) -> int:
    """Remove everything below ``url`` (and a local directory itself); returns how many objects went."""
    text = check_url(url)
    if is_local(text):
        path = local_path(text)
        count = sum(1 for _ in list_names(text)) if path.is_dir() else 0
        delete(text)
        return count
    prefix = _prefix_key(text)
    with _remote(text):
        cf = _cloudfiles(text)
        names = list(cf.list(prefix=prefix))
        if names:
            cf.delete(names)
    return len(names)


def size_of_prefix(url: str | os.PathLike[str]) -> int:
    """Bytes stored below ``url`` (scratch accounting)."""
    text = check_url(url)
    if is_local(text):
        root = local_path(text)
        if root.is_file():
            return root.stat().st_size
        return sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) if root.is_dir() else 0
    prefix = _prefix_key(text)
    with _remote(text):
        cf = _cloudfiles(text)
        names = list(cf.list(prefix=prefix))
        sizes = cf.size(names) if names else {}
    return int(sum(v or 0 for v in sizes.values()))


def write_many(
    base: str | os.PathLike[str], items: dict[str, bytes], content_type: str | None = None, compress: str | None = None
) -> None:
    """Write many small objects below ``base`` (mesh fragments): in parallel on buckets, atomically on disk.

    ``compress="gzip"`` stores them as cloud-files (and cloud-volume, neuroglancer) expect: with
    ``Content-Encoding: gzip`` on a bucket, as ``<name>.gz`` on disk (:func:`read_many` reads either back).
    """
    text = check_url(base)
    if compress not in (None, "gzip"):
        raise InvalidParameterError(f"compression {compress!r} is not supported here; use gzip or none")
    if is_local(text):
        import gzip

        for name, data in items.items():
            if compress == "gzip":
                write_atomic(local_path(join(text, name + ".gz")), gzip.compress(bytes(data), compresslevel=6))
                local_path(join(text, name)).unlink(missing_ok=True)  # an older uncompressed copy would shadow it
            else:
                write_atomic(local_path(join(text, name)), data)
                local_path(join(text, name + ".gz")).unlink(missing_ok=True)
        return
    if not items:
        return
    prefix = _split(text)[2].rstrip("/")
    files = [
        {"path": posixpath.join(prefix, name) if prefix else name, "content": bytes(data)}
        for name, data in items.items()
    ]
    with _remote(text):
        _cloudfiles(text).puts(files, content_type=content_type, compress=compress)


def _maybe_read_local_gz(path: str) -> bytes | None:
    """A local file's bytes, or its ``.gz`` sibling's (cloud-files' way of storing compressed objects) unzipped."""
    data = maybe_read_bytes(path)
    if data is None:
        packed = maybe_read_bytes(path + ".gz")
        if packed is not None:
            import gzip

            try:
                return gzip.decompress(packed)
            except (OSError, EOFError):
                raise CorruptFileError(f"{path}.gz is not a valid gzip file; rewrite or remove it") from None
    return data


def read_many(base: str | os.PathLike[str], names: Iterable[str]) -> dict[str, bytes | None]:
    """Read many objects below ``base``; ``None`` for each missing one."""
    text = check_url(base)
    names = list(names)
    if is_local(text):
        return {name: _maybe_read_local_gz(join(text, name)) for name in names}
    prefix = _split(text)[2].rstrip("/")
    keys = {posixpath.join(prefix, n) if prefix else n: n for n in names}
    out: dict[str, bytes | None] = dict.fromkeys(names)
    with _remote(text):
        results = _cloudfiles(text).get(list(keys), raw=False)
    for result in results:
        if result.get("error") is not None:
            raise storage_error(text, result["error"])
        content = result.get("content")
        out[keys[result["path"]]] = None if content is None else bytes(content)
    return out


# ---- exactly-once: create-if-absent and compare-and-swap ------------------------------------------
def _unsupported(url: str, exc: BaseException) -> ConditionalWriteError:
    return ConditionalWriteError(
        f"the store of {url} does not support conditional writes ({type(exc).__name__}: {str(exc)[:120]}); "
        "write the metadata before the workers start (the job commands' --prepare, create-info --max-mip)"
    )


def _is_precondition_failure(exc: BaseException) -> bool:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (409, 412)
    return type(exc).__name__ in ("PreconditionFailed", "Conflict")


def _is_not_implemented(exc: BaseException) -> bool:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code in ("NotImplemented",) or status == 501
    return False


def create_exclusive(url: str | os.PathLike[str], data: bytes = b"") -> bool:
    """Create ``url`` with ``data`` only if it does not exist; ``True`` for the one caller that created it.

    On disk the content is written aside and linked into place (``link`` fails if the name exists), so the
    winner's file is whole when it appears. On S3 ``If-None-Match: *``, on GCS ``ifGenerationMatch=0``.
    """
    return write_if(url, data, None)


def _local_version(data: bytes | None) -> Version:
    return None if data is None else hashlib.sha256(data).hexdigest()


def read_versioned(url: str | os.PathLike[str]) -> tuple[bytes | None, Version]:
    """The content of ``url`` (``None`` if absent) and the version to pass to :func:`write_if`."""
    text = check_url(url)
    if is_local(text):
        data = maybe_read_bytes(text)
        return data, _local_version(data)
    scheme, bucket, key = _split(text)
    with _remote(text):
        if scheme == "s3":
            client = _s3_client(bucket)
            try:
                response = client.get_object(Bucket=bucket, Key=key)
            except client.exceptions.NoSuchKey:
                return None, None
            return response["Body"].read(), str(response["ETag"])
        blob = _gcs_bucket(bucket).get_blob(key)
        if blob is None:
            return None, None
        return blob.download_as_bytes(if_generation_match=blob.generation), str(blob.generation)


def write_if(url: str | os.PathLike[str], data: bytes, version: Version) -> bool:
    """Write ``data`` only if ``url`` is still at ``version`` (``None``: only if absent); whether it was written."""
    text = check_url(url)
    if is_local(text):
        path = local_path(text)
        if version is None:
            return _link_exclusive(path, bytes(data))
        with locked(path):
            current = maybe_read_bytes(text)
            if _local_version(current) != version:
                return False
            write_atomic(path, data)
            return True
    scheme, bucket, key = _split(text)
    try:
        with _remote_conditional(text):
            if scheme == "s3":
                client = _s3_client(bucket)
                condition = {"IfNoneMatch": "*"} if version is None else {"IfMatch": version}
                client.put_object(Bucket=bucket, Key=key, Body=bytes(data), **condition)
            else:
                blob = _gcs_bucket(bucket).blob(key)
                blob.upload_from_string(bytes(data), if_generation_match=0 if version is None else int(version))
    except _PreconditionFailed:
        return False
    return True


class _PreconditionFailed(Exception):
    pass


@contextmanager
def _remote_conditional(url: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:  # noqa: BLE001
        if _is_precondition_failure(exc):
            raise _PreconditionFailed() from None
        if _is_not_implemented(exc):
            raise _unsupported(url, exc) from None
        if isinstance(exc, (StorageError, ConditionalWriteError)):
            raise
        raise storage_error(url, exc) from None


def _link_exclusive(path: Path, data: bytes) -> bool:
    fd, tmp = _open_aside(path)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def update_json(
    url: str | os.PathLike[str],
    update: Callable[[Any], Any],
    what: str = "file",
    attempts: int = 64,
) -> Any:
    """Read-modify-write the JSON at ``url`` with compare-and-swap until no concurrent writer intervened.

    ``update`` gets the current value (``None`` if absent; a fresh copy each attempt) and returns the new
    one; returning a value equal to the current one writes nothing. Returns the value that was stored.
    """
    text = check_url(url)
    for attempt in range(attempts):
        data, version = read_versioned(text)
        current = None if data is None else _decode_json(data, text, what, "rewrite it or recreate the volume")
        new = update(json.loads(json.dumps(current)) if current is not None else None)
        if new == current and current is not None:
            return current
        if write_if(text, _encode_json(new), version):
            return new
        time.sleep(min(0.5, 0.005 * 2 ** min(attempt, 7)) * random.random())
    raise ConditionalWriteError(
        f"{what} {text}: {attempts} concurrent updates in a row beat this one; retry, or write it before the workers start"
    )


# ---- local files: atomic writes, locks, debris ------------------------------------------------------
_HOST = socket.gethostname().replace(".", "_").replace("/", "_")[:40] or "host"
_swept: set[str] = set()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def sweep_debris(directory: str | os.PathLike[str], force: bool = False) -> int:
    """Remove temporaries that killed writers of this host left in ``directory``; returns how many.

    Temporaries are named ``.<file>.<host>.<pid>.<random>.part``; one whose process is gone can
    never be renamed into place. Done once per directory and process (a scan of the directory).
    """
    key = str(directory)
    if key in _swept and not force:
        return 0
    _swept.add(key)
    removed = 0
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                name = entry.name
                if not (name.startswith(".") and name.endswith(".part")):
                    continue
                parts = name[: -len(".part")].rsplit(".", 3)
                if len(parts) != 4 or parts[1] != _HOST or not parts[2].isdigit():
                    continue
                if int(parts[2]) != os.getpid() and not _pid_alive(int(parts[2])):
                    try:
                        if entry.is_dir(follow_symlinks=False):  # a PNG stack being written
                            shutil.rmtree(entry.path)
                        else:
                            os.unlink(entry.path)
                        removed += 1
                    except OSError:
                        pass
    except OSError:
        pass
    return removed


def _open_aside(final: Path) -> tuple[int, Path]:
    """Create the hidden temporary beside ``final`` (mode 0o666 less the umask); returns (fd, path)."""
    directory = final.parent
    if str(directory) not in _swept:
        _mkdir(directory)
        sweep_debris(directory)
    tmp = directory / f".{final.name}.{_HOST}.{os.getpid()}.{uuid.uuid4().hex[:12]}.part"
    try:
        return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
    except FileNotFoundError:  # the directory went away since it was swept: make it again
        _mkdir(directory)
        return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp


def _mkdir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InvalidParameterError(
            f"cannot create directory {directory}: a file is in the way; give another path or remove that file"
        ) from None


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary local path beside ``path``; rename it over ``path`` only on success.

    For libraries that write a file themselves (h5py, tifffile). A failed write leaves neither a partial
    file nor the temporary behind; a killed one leaves a hidden ``.<name>.<host>.<pid>.<random>.part`` that
    the next writer into the directory removes (:func:`sweep_debris`).
    """
    final = Path(path)
    fd, tmp = _open_aside(final)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a new hidden local directory beside ``path``; on success it replaces ``path`` (a directory of
    files written together, such as a PNG stack). A directory cannot be replaced in one rename, so the old
    one is moved aside first and removed after; a failure puts it back."""
    final = Path(path)
    _mkdir(final.parent)
    sweep_debris(final.parent)
    tag = f"{_HOST}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    tmp, old = final.with_name(f".{final.name}.{tag}.part"), final.with_name(f".{final.name}.old.{tag}.part")
    tmp.mkdir()
    try:
        yield tmp
        if final.exists():
            final.rename(old)
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not final.exists():
            old.rename(final)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def locked(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive ``flock`` (on a hidden sibling ``.<name>.lock``) for a local read-modify-write."""
    import fcntl

    target = Path(path)
    _mkdir(target.parent)
    fd = os.open(target.parent / f".{target.name}.lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_atomic(path: str | os.PathLike[str], content: bytes | BinaryIO) -> None:
    """Write ``content`` (bytes or a readable binary file) to the local ``path`` aside, then rename it into place."""
    final = Path(path)
    fd, tmp = _open_aside(final)
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(content, (bytes, bytearray, memoryview)):
                out.write(content)
            else:
                shutil.copyfileobj(content, out)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def require_exists(path: str | os.PathLike[str], what: str = "file") -> Path:
    p = Path(path)
    if not p.exists():
        raise VolumeNotFoundError(f"{what} {str(p)!r} does not exist; check the path")
    return p
