"""The :class:`Volume` interface and the file helpers every format shares.

A new format is one module defining a :class:`Volume` subclass (with the classmethods ``open`` and
``create``) plus one entry in the format registry (:mod:`chunkflow.volumes.registry`, which also
holds :func:`open_volume`, :func:`create_volume`, :func:`format_of` and :func:`strip_scheme`, re-exported
here); the conformance suite (:mod:`chunkflow.testing.volume_conformance`) tests it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Self

import numpy as np

from chunkflow.chunk.base import Chunk, plain
from chunkflow.errors import IncompatibleChunkError, VolumeFormatError
from chunkflow.files import atomic_path, local_path, locked, require_exists, sweep_debris, write_atomic
from chunkflow.geometry import BoundingBox, Vec3
from chunkflow.volumes.registry import create_volume, format_of, open_volume, strip_scheme

__all__ = [
    "Volume", "open_volume", "create_volume", "atomic_path", "write_atomic", "locked", "sweep_debris",
    "check_dtype", "strip_scheme", "format_of", "local_path", "require_exists",
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
        if inside == bbox:
            array = self._read_inside(bbox, fill_missing)
        elif fill_missing:
            array = np.zeros(self._array_shape(bbox), dtype=self.dtype)
            if inside is not None:
                array[(..., *inside.slices(bbox))] = self._read_inside(inside, fill_missing)
        else:
            array = None
        if array is None:
            raise IncompatibleChunkError(
                f"bounding box {bbox} is not inside the volume bounds {self.bbox} ({self.url}); "
                "read a box inside the bounds, or pass --fill-missing / --expand-margin-size with care"
            )
        return Chunk(array, bbox.start, self.voxel_size, self.layer_type)

    def write(self, chunk: Chunk) -> None:
        """Write ``chunk`` at its global offset; it must lie inside the volume and match its dtype."""
        chunk = plain(chunk)
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

    def _read_inside(self, bbox: BoundingBox, fill_missing: bool) -> np.ndarray:
        """Read ``bbox`` (inside the volume); block formats override it to read missing or undecodable
        blocks as zeros when ``fill_missing`` (and to name them otherwise)."""
        return self._read(bbox)

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
            f"dtype {np.dtype(dtype).name} cannot be stored in {where}; convert to one of {', '.join(allowed)} first"
        )
