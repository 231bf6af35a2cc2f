"""TIFF stacks (tifffile). Placement is kept as JSON in the image description."""

from __future__ import annotations

from typing import Any

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import VolumeFormatError
from chunkflow.files import atomic_path, require_exists
from chunkflow.geometry import BoundingBox, Vec3Like
from chunkflow.volumes.arrayfile import ArrayFileVolume, parse_placement, placement_json
from chunkflow.volumes.base import strip_scheme


class TiffVolume(ArrayFileVolume):
    dtypes = ("bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "float32", "float64")

    @classmethod
    def open(
        cls,
        url: str,
        voxel_offset: Vec3Like | None = None,
        voxel_size: Vec3Like | None = None,
        layer_type: str | None = None,
        **_: Any,
    ) -> TiffVolume:
        import tifffile

        path = require_exists(strip_scheme(url), "TIFF file")
        try:
            with tifffile.TiffFile(path) as tif:
                series = tif.series[0]
                shape, dtype = tuple(series.shape), series.dtype
                meta = parse_placement(getattr(tif.pages[0], "description", ""))
        except (tifffile.TiffFileError, OSError, IndexError) as exc:
            raise VolumeFormatError(f"cannot read TIFF file {str(path)!r} ({exc}); is it a TIFF?") from None
        stored_shape = tuple(meta.get("shape", ()))
        if stored_shape and np.prod(stored_shape) == np.prod(shape):
            shape = stored_shape  # tifffile flattens 4D stacks into pages
        if len(shape) == 2:
            shape = (1, *shape)
        if len(shape) not in (3, 4):
            raise VolumeFormatError(f"TIFF file {str(path)!r} has shape {shape}; expected 2D, 3D or 4D")
        return cls(
            url,
            shape=shape,
            dtype=dtype,
            voxel_offset=meta.get("voxel_offset", 0) if voxel_offset is None else voxel_offset,
            voxel_size=meta.get("voxel_size", 1) if voxel_size is None else voxel_size,
            layer_type=layer_type or meta.get("layer_type", "unknown"),
        )

    def _read(self, bbox: BoundingBox) -> np.ndarray:
        import tifffile

        array = tifffile.imread(self.path)
        array = array.reshape(self._array_shape(self.bbox))
        return np.ascontiguousarray(array[(..., *bbox.slices(self.bbox))])

    @classmethod
    def _save(cls, path: str, chunk: Chunk) -> None:
        import tifffile

        with atomic_path(path) as tmp:
            tifffile.imwrite(tmp, chunk.array, description=placement_json(chunk), metadata=None)
