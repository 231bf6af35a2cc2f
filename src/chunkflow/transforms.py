"""Small pure functions on chunks used by the simple operators."""

from __future__ import annotations

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3Like

__all__ = ["crop_margin", "threshold", "normalize_intensity"]


def crop_margin(chunk: Chunk, margin: Vec3Like | None = None, bbox: BoundingBox | None = None) -> Chunk:
    """Crop ``margin`` voxels from every side, or crop to ``bbox`` (a view, no copy)."""
    if bbox is not None:
        return chunk.cutout(bbox)
    if margin is None:
        raise InvalidParameterError("crop-margin needs --margin-size or a task bounding box")
    margins = tuple(int(m) for m in (margin if not isinstance(margin, int) else (margin,) * 3))
    if any(2 * m >= s for m, s in zip(margins, chunk.spatial_shape)):
        raise InvalidParameterError(f"margin {margins} leaves nothing of chunk shape {chunk.spatial_shape}")
    return chunk.crop_margin(margin)


def threshold(chunk: Chunk, value: float) -> Chunk:
    """Binary foreground ``chunk > value`` as uint8 (layer type segmentation)."""
    return chunk.with_array((chunk.array > value).view(np.uint8), layer_type="segmentation")


def normalize_intensity(chunk: Chunk) -> Chunk:
    """uint8 image to float32 in [-1, 1]: ``x / 127.5 - 1`` (chunkflow 1.2.0's definition)."""
    if chunk.dtype != np.uint8:
        raise IncompatibleChunkError(f"normalize-intensity expects a uint8 image, got {chunk.dtype}")
    array = chunk.array.astype(np.float32)
    array /= 127.5
    array -= 1.0
    return chunk.with_array(array)
