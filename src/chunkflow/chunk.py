"""A :class:`Chunk`: an ndarray placed in global voxel space.

Arrays are 3D ``(Z, Y, X)`` or channels-first 4D ``(C, Z, Y, X)``. The array is held as given:
no copies are made unless a method says so. Most libraries downstream (waterz, cc3d, torch)
want C order; :meth:`Chunk.contiguous` returns a C-contiguous chunk, copying only if needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from chunkflow.errors import IncompatibleChunkError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like

__all__ = ["Chunk", "LAYER_TYPES"]

LAYER_TYPES = ("image", "affinity_map", "probability_map", "segmentation", "unknown")


@dataclass(frozen=True, eq=False)
class Chunk:
    """An ndarray with a global ``voxel_offset`` (ZYX), a ``voxel_size`` (ZYX, nm) and a layer type.

    Parameters
    ----------
    array : ndarray, shape (Z, Y, X) or (C, Z, Y, X)
    voxel_offset : Vec3-like
        Global coordinate of ``array[..., 0, 0, 0]``.
    voxel_size : Vec3-like
        Physical size of one voxel, nanometres.
    layer_type : str
        One of ``image``, ``affinity_map``, ``probability_map``, ``segmentation``, ``unknown``.
    """

    array: np.ndarray
    voxel_offset: Vec3 = field(default=Vec3(0, 0, 0))
    voxel_size: Vec3 = field(default=Vec3(1, 1, 1))
    layer_type: str = "unknown"

    def __post_init__(self) -> None:
        array = np.asarray(self.array)
        if array.ndim not in (3, 4):
            raise IncompatibleChunkError(
                f"a chunk array must be 3D (Z, Y, X) or 4D (C, Z, Y, X), got shape {array.shape}"
            )
        if 0 in array.shape:
            raise IncompatibleChunkError(f"a chunk array must not be empty, got shape {array.shape}")
        if self.layer_type not in LAYER_TYPES:
            raise IncompatibleChunkError(
                f"layer type {self.layer_type!r} is not one of {', '.join(LAYER_TYPES)}"
            )
        object.__setattr__(self, "array", array)
        object.__setattr__(self, "voxel_offset", Vec3.of(self.voxel_offset))
        object.__setattr__(self, "voxel_size", Vec3.of(self.voxel_size))

    # ---- geometry -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    @property
    def spatial_shape(self) -> tuple[int, int, int]:
        return self.array.shape[-3:]  # type: ignore[return-value]

    @property
    def num_channels(self) -> int:
        return 1 if self.array.ndim == 3 else self.array.shape[0]

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def bbox(self) -> BoundingBox:
        return BoundingBox.from_shape(self.spatial_shape, self.voxel_offset)

    @property
    def is_segmentation(self) -> bool:
        return self.layer_type == "segmentation"

    def with_array(self, array: np.ndarray, **changes: Any) -> Chunk:
        """A chunk with the same placement and a new array (and optionally other fields)."""
        return replace(self, array=array, **changes)

    def cutout(self, bbox: BoundingBox) -> Chunk:
        """The part of this chunk inside the global ``bbox`` (a view, no copy)."""
        if not self.bbox.contains(bbox):
            raise IncompatibleChunkError(
                f"cannot cut out {bbox} from chunk at {self.bbox}: it is not inside the chunk"
            )
        array = self.array[(..., *bbox.slices(self.bbox))]
        return self.with_array(array, voxel_offset=bbox.start)

    def crop_margin(self, margin: Vec3Like) -> Chunk:
        """Drop ``margin`` voxels from every side (a view)."""
        return self.cutout(self.bbox.shrink(margin))

    def paste(self, other: Chunk) -> None:
        """Write the overlapping part of ``other`` into this chunk, in place."""
        overlap = self.bbox.intersection(other.bbox)
        if overlap is None:
            return
        self.array[(..., *overlap.slices(self.bbox))] = other.array[(..., *overlap.slices(other.bbox))]

    def blend(self, other: Chunk) -> None:
        """Add the overlapping part of ``other`` into this chunk, in place."""
        overlap = self.bbox.intersection(other.bbox)
        if overlap is None:
            return
        self.array[(..., *overlap.slices(self.bbox))] += other.array[(..., *overlap.slices(other.bbox))]

    def contiguous(self) -> Chunk:
        """A C-contiguous chunk (the same object where it already is)."""
        if self.array.flags.c_contiguous:
            return self
        return self.with_array(np.ascontiguousarray(self.array))

    def same_placement(self, other: Chunk) -> bool:
        return self.bbox == other.bbox

    def __repr__(self) -> str:
        return (
            f"Chunk(shape={self.shape}, dtype={self.dtype}, bbox={self.bbox}, "
            f"voxel_size={tuple(self.voxel_size)}, layer_type={self.layer_type!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Chunk):
            return NotImplemented
        return (
            self.voxel_offset == other.voxel_offset
            and self.voxel_size == other.voxel_size
            and self.layer_type == other.layer_type
            and self.array.dtype == other.array.dtype
            and np.array_equal(self.array, other.array)
        )

    __hash__ = None  # type: ignore[assignment]
