"""Downsampling with tinybrain: mean pooling for images and maps, mode pooling for segmentations.

tinybrain is fastest on Fortran-ordered XYZ arrays; a C-ordered ZYX array transposed is exactly
that, so we hand it ``array.T`` (a view) and transpose the result back (a view again).
"""

from __future__ import annotations

import numpy as np

from chunkflow.chunk import Chunk
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError
from chunkflow.geometry import Vec3, Vec3Like

__all__ = ["downsample", "downsample_upload"]


def downsample(chunk: Chunk, factor: Vec3Like = (1, 2, 2), num_mips: int = 1) -> list[Chunk]:
    """``num_mips`` successively downsampled chunks (each by ``factor``, ZYX)."""
    import tinybrain

    f = Vec3.of(factor)
    if any(v < 1 for v in f) or num_mips < 1:
        raise InvalidParameterError(f"downsampling factor {tuple(f)} and mip count {num_mips} must be at least 1")
    if any(o % v for o, v in zip(chunk.voxel_offset, f)):
        raise IncompatibleChunkError(f"chunk offset {tuple(chunk.voxel_offset)} is not divisible by factor {tuple(f)}")
    array = chunk.array.T  # (X, Y, Z[, C]), Fortran order
    xyz = f.xyz if chunk.ndim == 3 else (*f.xyz, 1)
    if chunk.is_segmentation:
        mips = tinybrain.downsample_segmentation(array, xyz, num_mips=num_mips)
    else:
        mips = tinybrain.downsample_with_averaging(array, xyz, num_mips=num_mips)
    out, offset, size = [], chunk.voxel_offset, chunk.voxel_size
    for mip in mips:
        offset, size = offset // f, size * f
        out.append(Chunk(np.asarray(mip).T, offset, size, chunk.layer_type))
    return out


def downsample_upload(
    chunk: Chunk, volume_path: str, start_mip: int = 0, stop_mip: int = 3, factor: Vec3Like = (1, 2, 2),
    first_mip: int | None = None,
) -> None:  # fmt: skip
    """Write mips ``first_mip .. stop_mip`` (inclusive; default ``start_mip + 1``) of ``chunk``, which
    is at ``start_mip``, into a precomputed volume, adding scales (``factor`` apart) to its info where
    missing. Each mip's box must stay aligned to that mip's storage blocks (true when the chunk covers
    whole blocks of the top mip, or reaches the volume's edge)."""
    from chunkflow.volumes.precomputed import PrecomputedVolume, ensure_mips

    first = start_mip + 1 if first_mip is None else first_mip
    if stop_mip <= start_mip or not start_mip < first <= stop_mip:
        raise InvalidParameterError(f"mips {first}..{stop_mip} to write must lie above the chunk's mip {start_mip}")
    factors = ensure_mips(volume_path, stop_mip, factor)
    current, total = chunk, Vec3(1, 1, 1)
    for mip in range(start_mip + 1, stop_mip + 1):
        (current,) = downsample(current, factors[mip - 1], 1)
        total = total * factors[mip - 1]
        if mip < first:
            continue
        volume = PrecomputedVolume.open(volume_path, mip=mip)
        try:
            volume.write(current)
        except IncompatibleChunkError as exc:
            need = volume.block_size * total
            raise IncompatibleChunkError(
                f"{exc}. For a pyramid up to mip {stop_mip}, tasks must be multiples of {tuple(need)} voxels at mip "
                f"{start_mip} (block size x {tuple(total)}), e.g. generate-tasks -c {' '.join(map(str, need))}"
            ) from None
