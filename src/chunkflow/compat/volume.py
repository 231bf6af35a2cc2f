"""chunkflow 1.2.0's ``chunkflow.volume``: ``PrecomputedVolume`` and ``load_chunk_or_volume``.

A thin layer over :func:`chunkflow.volumes.open_volume` (every format, not only precomputed), with
1.2.0's names: ``bounding_box``/``bbox`` and ``block_size``/``voxel_size`` as 1.2.0 types,
``cutout(bbox)`` and ``save(chunk)``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from chunkflow.compat.cartesian_coordinate import BoundingBox, Cartesian, PhysicalBoundingBox
from chunkflow.compat.chunk import Chunk

__all__ = ["PrecomputedVolume", "AbstractVolume", "load_chunk_or_volume"]


class PrecomputedVolume:
    """A volume opened by URL, with 1.2.0's ``PrecomputedVolume`` methods."""

    def __init__(self, volume: Any) -> None:
        self.vol = volume

    @classmethod
    def from_cloudvolume_path(
        cls, path: str, *args: Any, mip: int = 0, fill_missing: bool = False, **kwargs: Any
    ) -> PrecomputedVolume:
        from chunkflow.volumes import open_volume

        volume = cls(open_volume(path, mip=mip) if "://" in path else open_volume(path))
        volume.fill_missing = fill_missing
        return volume

    fill_missing = False

    @classmethod
    def from_numpy(cls, arr: Any, vol_path: str) -> PrecomputedVolume:
        """Write ``arr`` (ZYX, at offset 0) as a new precomputed volume at ``vol_path``, with the info
        1.2.0 wrote through ``CloudVolume.from_numpy``'s defaults: voxel size 40 x 4 x 4, blocks of
        64 x 128 x 128, raw encoding, segmentation for uint16/uint32/uint64 (and bool), image otherwise."""
        from chunkflow.chunk.base import Chunk as CoreChunk
        from chunkflow.volumes import create_volume

        array = np.asarray(arr)
        is_segmentation = array.dtype in (bool, np.uint16, np.uint32, np.uint64)
        chunk = CoreChunk(array, voxel_size=(40, 4, 4), layer_type="segmentation" if is_segmentation else "image")
        volume = create_volume(vol_path, like=chunk, block_size=(64, 128, 128), encoding="raw", clip_block_size=False)
        volume.write(chunk)
        return cls.from_cloudvolume_path(vol_path)

    @property
    def bounding_box(self) -> BoundingBox:
        return BoundingBox.from_geometry(self.vol.bbox)

    bbox = bounding_box

    @property
    def start(self) -> Cartesian:
        return self.bounding_box.start

    @property
    def stop(self) -> Cartesian:
        return self.bounding_box.stop

    @property
    def shape(self) -> Cartesian:
        return self.bounding_box.shape

    @property
    def voxel_size(self) -> Cartesian:
        return Cartesian(*self.vol.voxel_size)

    @property
    def block_size(self) -> Cartesian:
        return Cartesian(*self.vol.block_size)

    @property
    def dtype(self) -> Any:
        return self.vol.dtype

    @property
    def physical_bounding_box(self) -> PhysicalBoundingBox:
        return PhysicalBoundingBox(self.start, self.stop, self.voxel_size)

    @property
    def block_bounding_boxes(self) -> Any:
        return self.bounding_box.decompose_to_aligned_block_bounding_boxes(self.block_size, bounded=True)

    def cutout(self, key: Any) -> Chunk:
        """The chunk inside ``key`` (a 1.2.0 or our ``BoundingBox``, or a tuple of slices)."""
        from chunkflow.chunk.base import _as_box
        from chunkflow.compat.chunk import as_120

        return as_120(self.vol.read(_as_box(key), fill_missing=self.fill_missing))

    def save(self, chunk: Chunk) -> None:
        from chunkflow.compat.chunk import as_core

        self.vol.write(as_core(chunk))

    def has_all_blocks(self, bbox: Any) -> bool:
        raise NotImplementedError("PrecomputedVolume.has_all_blocks: use skip-task-by-blocks-in-volume")


AbstractVolume = PrecomputedVolume


def load_chunk_or_volume(file_path: str, *args: Any, **kwargs: Any) -> Chunk | PrecomputedVolume | None:
    """A chunk for .h5/.npy/.tif/.png files, a volume for URLs; ``None`` where a file does not exist."""
    if "://" not in file_path and not os.path.exists(file_path):
        return None
    if file_path.endswith(".h5"):
        return Chunk.from_h5(file_path)
    if "://" not in file_path:
        from chunkflow.compat.chunk import as_120
        from chunkflow.volumes import open_volume

        return as_120(open_volume(file_path).read())
    preload = kwargs.pop("preload", False)
    volume = PrecomputedVolume.from_cloudvolume_path(file_path, *args, **kwargs)
    return volume.cutout(volume.bounding_box) if preload else volume
