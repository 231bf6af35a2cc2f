"""Masking a chunk with a (coarser) mask volume."""

from __future__ import annotations

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import IncompatibleChunkError
from chunkflow.geometry import BoundingBox

__all__ = ["apply_mask"]


def apply_mask(
    chunk: Chunk, mask_path: str, mask_mip: int = 0, inverse: bool = False, fill_missing: bool = False
) -> Chunk:
    """Zero ``chunk`` where the mask (read at ``mask_mip``, upsampled) is 0 (non-zero with ``inverse``)."""
    from chunkflow.volumes import open_volume

    mask_volume = open_volume(mask_path, mip=mask_mip)
    factor = mask_volume.voxel_size // chunk.voxel_size
    if any(f < 1 for f in factor) or mask_volume.voxel_size != chunk.voxel_size * factor:
        raise IncompatibleChunkError(
            f"mask voxel size {tuple(mask_volume.voxel_size)} is not a multiple of the chunk's {tuple(chunk.voxel_size)}"
        )
    box = chunk.bbox
    coarse = BoundingBox(box.start // factor, box.stop.ceildiv(factor))
    mask = mask_volume.read(coarse, fill_missing=fill_missing).array
    if mask.ndim == 4:
        mask = mask[0]
    keep = mask == 0 if inverse else mask != 0
    for axis, f in enumerate(factor):
        keep = np.repeat(keep, f, axis=axis)
    start = box.start - coarse.start * factor
    keep = keep[tuple(slice(s, s + n) for s, n in zip(start, box.shape))]
    out = chunk.array.copy()
    out[..., ~keep] = 0
    return chunk.with_array(out)
