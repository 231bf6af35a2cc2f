"""The :class:`Volume` interface and the file helpers every format shares.

A new format is one module defining a :class:`Volume` subclass (with the classmethods ``open`` and
``create``) plus one entry in the format registry (:mod:`chunkflow.volumes.registry`, which also
holds :func:`open_volume`, :func:`create_volume`, :func:`format_of` and :func:`strip_scheme`, re-exported
here); the conformance suite (:mod:`chunkflow.testing.volume_conformance`) tests it.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from contextvars import ContextVar
from typing import Any, ClassVar, Self

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import IncompatibleChunkError, VolumeFormatError
from chunkflow.files import atomic_path, local_path, locked, require_exists, sweep_debris, write_atomic
from chunkflow.geometry import BoundingBox, Vec3
from chunkflow.volumes.registry import create_volume, format_of, open_volume, strip_scheme

__all__ = [
    "Volume", "open_volume", "create_volume", "atomic_path", "write_atomic", "locked", "file_mode", "sweep_debris",
    "check_dtype", "strip_scheme", "format_of", "planned_region", "no_volume_creation", "local_path", "require_exists",
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


#: whether the running :meth:`Volume.read` was asked to fill missing data (block formats read it)
reading_fill_missing: ContextVar[bool] = ContextVar("reading_fill_missing", default=False)
#: the region a local task loop covers (set by ``generate-tasks`` without ``-q`` while its tasks run in
#: this process): a block volume that :func:`chunkflow.volumes.save_chunk` creates inside the loop
#: covers all of it, not the first chunk only
planned_region: ContextVar[BoundingBox | None] = ContextVar("planned_region", default=None)
#: set (to the task source) inside queue workers and task-file runs, where processes run tasks of one
#: plan side by side: a missing output volume is refused instead of created from one chunk
no_volume_creation: ContextVar[str | None] = ContextVar("no_volume_creation", default=None)


