"""NumPy ``.npy`` files: a raw array; placement comes from the caller (``--voxel-offset``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import VolumeFormatError
from chunkflow.files import atomic_path, require_exists
from chunkflow.geometry import BoundingBox, Vec3Like
from chunkflow.volumes.arrayfile import ArrayFileVolume
from chunkflow.volumes.base import strip_scheme


class NpyVolume(ArrayFileVolume):
    stores_placement = False

    @classmethod
    def open(
        cls,
        url: str,
        voxel_offset: Vec3Like | None = None,
        voxel_size: Vec3Like | None = None,
        layer_type: str | None = None,
        **_: Any,
    ) -> NpyVolume:
        path = require_exists(strip_scheme(url), "NPY file")
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:  # EOFError: an empty or truncated file
            raise VolumeFormatError(
                f"cannot read NPY file {str(path)!r} ({type(exc).__name__}: {exc}); the file is truncated or not NPY"
            ) from None
        if array.ndim not in (3, 4):
            raise VolumeFormatError(f"NPY file {str(path)!r} has shape {array.shape}; expected 3D or 4D")
        return cls(
            url,
            shape=array.shape,
            dtype=array.dtype,
            voxel_offset=0 if voxel_offset is None else voxel_offset,
            voxel_size=1 if voxel_size is None else voxel_size,
            layer_type=layer_type or "unknown",
        )

    def _read(self, bbox: BoundingBox) -> np.ndarray:
        array = np.load(self.path, mmap_mode="r")
        return np.array(array[(..., *bbox.slices(self.bbox))])

    @classmethod
    def _save(cls, path: str, chunk: Chunk) -> None:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, chunk.array, allow_pickle=False)
