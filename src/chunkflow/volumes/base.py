"""The :class:`Volume` interface and the file helpers every format shares.

A new format is one module defining a :class:`Volume` subclass (with the classmethods ``open`` and
``create``) plus one entry in the format registry (:mod:`chunkflow.volumes.registry`, which also
holds :func:`open_volume`, :func:`create_volume`, :func:`format_of` and :func:`strip_scheme`, re-exported
here); the conformance suite (:mod:`chunkflow.testing.volume_conformance`) tests it.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Self

import numpy as np

from chunkflow.chunk import Chunk
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError, VolumeFormatError, VolumeNotFoundError
from chunkflow.geometry import BoundingBox, Vec3
from chunkflow.volumes.registry import create_volume, format_of, open_volume, strip_scheme

__all__ = [
    "Volume", "open_volume", "create_volume", "atomic_path", "write_atomic", "locked", "file_mode", "sweep_debris",
    "check_dtype", "strip_scheme", "format_of", "planned_region", "no_volume_creation",
]  # fmt: skip


class Volume(ABC):
    """A stored 3D (or channels-first 4D) array with a global placement.

    Subclasses set the attributes below in ``__init__`` and implement :meth:`_read` and
    :meth:`_write`; bounds, dtype and alignment checks live here, once.
    """

    #: dtypes the format can store; ``None`` means any numeric dtype
    dtypes: ClassVar[tuple[str, ...] | None] = None
    #: True where partial, block-aligned writes into an existing volume are possible
    block_writes: ClassVar[bool] = False

    url: str
    bbox: BoundingBox
    dtype: np.dtype
    voxel_size: Vec3
    block_size: Vec3
    num_channels: int
    layer_type: str

    @classmethod
    def open(cls, url: str, **options: Any) -> Self:
        """Open the existing volume at ``url`` (what :func:`open_volume` calls); formats override it."""
        raise VolumeFormatError(f"{cls.__name__} cannot open volumes ({url}); the format must define Volume.open")

    @classmethod
    def create(cls, url: str, like: Chunk | None = None, **options: Any) -> Self:
        """Create a volume at ``url``, its bounds from ``options`` or from ``like`` (what :func:`create_volume`
        calls); formats that can be written override it."""
        raise VolumeFormatError(f"{cls.__name__} cannot create volumes ({url}); the format is read-only")

    def read(self, bbox: BoundingBox | None = None, fill_missing: bool = False) -> Chunk:
        """Read ``bbox`` (default: everything) as a :class:`Chunk`.

        A box reaching outside the volume is refused unless ``fill_missing``, which pads with zeros;
        with ``fill_missing``, missing or undecodable blocks inside a block volume read as zeros too
        (without it, they are errors naming the block).
        """
        bbox = self.bbox if bbox is None else bbox
        inside = self.bbox.intersection(bbox)
        token = reading_fill_missing.set(fill_missing)  # block formats: missing/corrupt blocks inside too
        try:
            if inside == bbox:
                array = self._read(bbox)
            elif fill_missing:
                array = np.zeros(self._array_shape(bbox), dtype=self.dtype)
                if inside is not None:
                    array[(..., *inside.slices(bbox))] = self._read(inside)
            else:
                array = None
        finally:
            reading_fill_missing.reset(token)
        if array is None:
            raise IncompatibleChunkError(
                f"bounding box {bbox} is not inside the volume bounds {self.bbox} ({self.url}); "
                "read a box inside the bounds, or pass --fill-missing / --expand-margin-size with care"
            )
        return Chunk(array, bbox.start, self.voxel_size, self.layer_type)

    def write(self, chunk: Chunk) -> None:
        """Write ``chunk`` at its global offset; it must lie inside the volume and match its dtype."""
        check_dtype(chunk.dtype, self.dtypes, self.url)
        if not self.bbox.contains(chunk.bbox):
            raise IncompatibleChunkError(
                f"chunk at {chunk.bbox} does not fit volume bounds {self.bbox} ({self.url}); "
                "crop the chunk first or create a larger volume"
            )
        if chunk.num_channels != self.num_channels:
            raise IncompatibleChunkError(
                f"chunk has {chunk.num_channels} channels but volume {self.url} has {self.num_channels}"
            )
        if chunk.dtype != self.dtype:
            raise IncompatibleChunkError(
                f"chunk dtype {chunk.dtype} differs from volume dtype {self.dtype} ({self.url}); "
                "convert the chunk first"
            )
        self._write(chunk)

    def _array_shape(self, bbox: BoundingBox) -> tuple[int, ...]:
        return bbox.shape if self.num_channels == 1 else (self.num_channels, *bbox.shape)

    @abstractmethod
    def _read(self, bbox: BoundingBox) -> np.ndarray:
        """Return the array of ``bbox``, which lies inside ``self.bbox``."""

    @abstractmethod
    def _write(self, chunk: Chunk) -> None:
        """Store ``chunk``, already checked against bounds and dtype."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r}, bbox={self.bbox}, dtype={self.dtype})"


def check_dtype(dtype: np.dtype, allowed: tuple[str, ...] | None, where: str) -> None:
    if allowed is not None and np.dtype(dtype).name not in allowed:
        raise VolumeFormatError(
            f"dtype {np.dtype(dtype).name} cannot be stored in {where}; "
            f"convert to one of {', '.join(allowed)} first"
        )


def file_mode() -> int:
    """The mode an ordinary new file gets under the current umask (0644 under 022)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting it (and put it back at once)
    os.umask(mask)
    return 0o666 & ~mask


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
        directory.mkdir(parents=True, exist_ok=True)
        sweep_debris(directory)
    tmp = directory / f".{final.name}.{_HOST}.{os.getpid()}.{uuid.uuid4().hex[:12]}.part"
    try:
        return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
    except FileNotFoundError:  # the directory went away since it was swept: make it again
        directory.mkdir(parents=True, exist_ok=True)
        return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success.

    A failed write leaves neither a partial file nor the temporary behind; a killed one leaves a
    hidden ``.<name>.<host>.<pid>.<random>.part`` that the next writer into the directory removes
    (:func:`sweep_debris`). The file gets the umask's mode (0644 under 022), like any new file:
    it is created with ``open(..., 0o666)``, and the kernel applies the umask.
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
def locked(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock for a read-modify-write of ``path`` (e.g. a volume's ``info``).

    The lock is ``flock`` on a hidden sibling ``.<name>.lock`` (kept: removing it would race), so
    concurrent processes on one machine or a shared filesystem with flock take turns.
    """
    import fcntl

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target.parent / f".{target.name}.lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_atomic(path: str | os.PathLike[str], content: bytes | BinaryIO) -> None:
    """Write ``content`` (bytes or a readable binary file) to ``path`` aside, then rename it into place."""
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


#: whether the running :meth:`Volume.read` was asked to fill missing data (block formats read it)
reading_fill_missing: ContextVar[bool] = ContextVar("reading_fill_missing", default=False)
#: the region a local task loop covers (set by ``generate-tasks`` without ``-q`` while its tasks run in
#: this process): a block volume that :func:`chunkflow.volumes.save_chunk` creates inside the loop
#: covers all of it, not the first chunk only
planned_region: ContextVar[BoundingBox | None] = ContextVar("planned_region", default=None)
#: set (to the task source) inside queue workers and task-file runs, where processes run tasks of one
#: plan side by side: a missing output volume is refused instead of created from one chunk
no_volume_creation: ContextVar[str | None] = ContextVar("no_volume_creation", default=None)


def require_exists(path: str | os.PathLike[str], what: str = "file") -> Path:
    p = Path(path)
    if not p.exists():
        raise VolumeNotFoundError(f"{what} {str(p)!r} does not exist; check the path")
    return p


def local_path(url: str | os.PathLike[str]) -> Path:
    """The local path of ``url`` (a plain path or ``file://...``) for outputs written as files (meshes,
    skeletons, work dirs, levels); any other scheme is refused in one line, before anything is written."""
    text = str(url)
    if "://" in text and not text.startswith("file://"):
        scheme = text.split("://", 1)[0]
        raise InvalidParameterError(
            f"{text!r} is on {scheme}://, but this output is written as local files: give a local or mounted path "
            "(file:///... or /...) and copy the result up afterwards (e.g. gsutil -m cp -r / aws s3 sync)"
        )
    return Path(text.removeprefix("file://"))
