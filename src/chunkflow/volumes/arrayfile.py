"""Shared behaviour of single-file formats (HDF5, TIFF, NPY, PNG stacks).

Such a file holds exactly one chunk. Writing replaces the whole file atomically (temporary
name, then rename), so a failed write never leaves a partial file; writing part of an
existing file is refused with a pointer to the block formats.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like
from chunkflow.volumes.base import Volume, check_dtype, strip_scheme

__all__ = ["ArrayFileVolume", "placement_json", "parse_placement"]


class ArrayFileVolume(Volume):
    #: whether the file itself records voxel offset, voxel size and layer type
    stores_placement: ClassVar[bool] = True
    #: whether the "file" is a directory (a PNG stack), so an existing directory is what it replaces
    is_directory: ClassVar[bool] = False

    def __init__(
        self,
        url: str,
        shape: tuple[int, ...],
        dtype: np.dtype,
        voxel_offset: Vec3Like = 0,
        voxel_size: Vec3Like = 1,
        layer_type: str = "unknown",
    ) -> None:
        self.url = url
        self.path = strip_scheme(url)
        self.dtype = np.dtype(dtype)
        self.num_channels = 1 if len(shape) == 3 else int(shape[0])
        self.bbox = BoundingBox.from_shape(shape, voxel_offset)
        self.voxel_size = Vec3.of(voxel_size)
        self.block_size = self.bbox.size
        self.layer_type = layer_type

    @classmethod
    def create(cls, url: str, like: Chunk | None = None, **_: Any) -> ArrayFileVolume:
        if like is None:
            raise IncompatibleChunkError(f"{url}: a single-file volume is created by saving a chunk")
        cls.save(url, like)
        return cls.open(url)

    @classmethod
    def save(cls, url: str, chunk: Chunk) -> None:
        """Write ``chunk`` as a new file at ``url`` (atomically)."""
        check_dtype(chunk.dtype, cls.dtypes, url)
        path = strip_scheme(url)
        if not cls.is_directory and os.path.isdir(path):  # else the rename over it fails after the whole write
            raise InvalidParameterError(
                f"{url} is a directory, not a file; give a file name (a name ending in / "
                "writes <bbox> files into a directory where the operator supports it)"
            )
        cls._save(path, chunk)

    @classmethod
    def _save(cls, path: str, chunk: Chunk) -> None:
        raise NotImplementedError

    def _write(self, chunk: Chunk) -> None:
        if chunk.bbox != self.bbox:
            raise IncompatibleChunkError(
                f"{self.url} holds one chunk at {self.bbox}; cannot write part of it ({chunk.bbox}). "
                "Save to a new file, or use a precomputed or zarr volume for block writes"
            )
        self.save(self.url, chunk)


def placement_json(chunk: Chunk) -> str:
    return json.dumps(
        {
            "voxel_offset": list(chunk.voxel_offset),
            "voxel_size": list(chunk.voxel_size),
            "layer_type": chunk.layer_type,
            "shape": list(chunk.shape),
        }
    )


def parse_placement(text: str | None) -> dict[str, Any]:
    """Read what :func:`placement_json` wrote; anything else gives an empty dict."""
    if not text:
        return {}
    try:
        meta = json.loads(text)
    except (ValueError, TypeError):
        return {}
    if not isinstance(meta, dict):
        return {}
    return {k: meta[k] for k in ("voxel_offset", "voxel_size", "layer_type", "shape") if k in meta}
