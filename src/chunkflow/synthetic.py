"""Synthetic chunks for tests, benchmarks and demos."""

from __future__ import annotations

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3Like
from chunkflow.memory import populated_zeros

__all__ = ["create_chunk"]


def create_chunk(
    size: Vec3Like,
    dtype: str | np.dtype = "uint8",
    pattern: str = "sin",
    voxel_offset: Vec3Like = 0,
    voxel_size: Vec3Like = 1,
    layer_type: str | None = "image",
    num_channels: int = 1,
    seed: int = 0,
) -> Chunk:
    """A chunk of ``size`` (Z, Y, X) filled with ``pattern``: ``sin``, ``random`` or ``zero``.

    The ``sin`` pattern depends on global coordinates, so chunks cut from one volume agree.
    """
    bbox = BoundingBox.from_size(voxel_offset, size)
    dtype = np.dtype(dtype)
    shape = bbox.shape if num_channels == 1 else (num_channels, *bbox.shape)
    if pattern == "zero":
        array = np.zeros(shape, dtype=dtype)
    elif pattern == "random":
        rng = np.random.default_rng(seed)
        if dtype.kind == "f":
            array = rng.random(shape, dtype=np.float32).astype(dtype, copy=False)
        else:
            array = rng.integers(0, min(np.iinfo(dtype).max, 255) + 1, size=shape, dtype=dtype)
    elif pattern == "sin":
        # sum of three 1D waves, built in place: no full-size temporaries
        scale = 1.0 if dtype.kind == "f" else float(min(np.iinfo(dtype).max, 255))
        z, y, x = (np.arange(a, b, dtype=np.float32) for a, b in zip(bbox.start, bbox.stop))
        wz, wy, wx = (np.sin(z / 5) / 6 + 0.5) * scale, np.sin(y / 7) / 6 * scale, np.sin(x / 9) / 6 * scale
        wave = populated_zeros(bbox.shape, np.float32)
        np.add(wz[:, None, None], wy[None, :, None], out=wave)
        wave += wx[None, None, :]
        array = wave if dtype == np.float32 else wave.astype(dtype)
        if num_channels > 1:
            array = np.broadcast_to(array, shape).copy()
    else:
        raise InvalidParameterError(f"pattern {pattern!r} is not one of sin, random, zero")
    return Chunk(array, bbox.start, voxel_size, layer_type)
