"""Downsampling with tinybrain: mean pooling for images and maps, mode pooling for segmentations.

tinybrain is fastest on Fortran-ordered XYZ arrays; a C-ordered ZYX array transposed is exactly
that, so we hand it ``array.T`` (a view) and transpose the result back (a view again).
"""

from __future__ import annotations

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like

__all__ = ["downsample", "downsample_upload", "pyramid_boxes"]


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
    chunk: Chunk,
    volume_path: str,
    start_mip: int = 0,
    stop_mip: int = 3,
    factor: Vec3Like = (1, 2, 2),
    first_mip: int | None = None,
) -> None:
    """Write mips ``first_mip .. stop_mip`` (inclusive; default ``start_mip + 1``) of ``chunk``, which
    is at ``start_mip``, in one pass, into a precomputed volume (sharded or unsharded scales) or an
    OME-Zarr group, adding scales (``factor`` apart) where missing. Every mip's box must cover whole
    blocks (whole shards for sharded scales) or reach the volume's edge; that is checked at every mip
    before anything is written, and a refusal names the task size that works."""
    from chunkflow.volumes.base import format_of

    first = start_mip + 1 if first_mip is None else first_mip
    if stop_mip <= start_mip or not start_mip < first <= stop_mip:
        raise InvalidParameterError(f"mips {first}..{stop_mip} to write must lie above the chunk's mip {start_mip}")
    if format_of(volume_path) == "zarr":
        from chunkflow.volumes.zarr import ome_pyramid_volumes

        factors, volumes, commit = ome_pyramid_volumes(volume_path, start_mip, stop_mip, factor)
    else:
        from chunkflow.volumes.sharded import pyramid_volumes

        factors, volumes, commit = pyramid_volumes(volume_path, start_mip, stop_mip, factor)
    steps = factors[start_mip:stop_mip]
    volumes = {mip: volume for mip, volume in volumes.items() if mip >= first}
    _check_pyramid_boxes(chunk, steps, volumes, start_mip, volume_path)
    volumes = commit(volumes)  # the new scales' metadata, only once every mip is known to fit
    mips, current = [], chunk
    for step in steps:  # mip by mip, each from the one below: the voxels igneous writes, mip after mip
        (current,) = downsample(current, step, 1)
        mips.append(current)
    for mip, level in enumerate(mips, start=start_mip + 1):
        if mip >= first:
            volumes[mip].write(level)


def pyramid_boxes(bbox: BoundingBox, steps: list[Vec3]) -> list[BoundingBox]:
    """The box each successive downsampling by ``steps`` makes of ``bbox`` (tinybrain rounds sizes up)."""
    boxes = []
    for step in steps:
        start = bbox.start // step
        bbox = BoundingBox(start, start + bbox.size.ceildiv(step))
        boxes.append(bbox)
    return boxes


def _check_pyramid_boxes(chunk: Chunk, steps: list[Vec3], volumes: dict, start_mip: int, url: str) -> None:
    from chunkflow.volumes.sharded import ShardedPrecomputedVolume

    if any(o % s for o, s in zip(chunk.voxel_offset, _total(steps))):
        raise IncompatibleChunkError(
            f"chunk offset {tuple(chunk.voxel_offset)} is not divisible by the total factor {tuple(_total(steps))} "
            f"of mips {start_mip + 1}..{start_mip + len(steps)}; align tasks to it"
        )
    for mip, box in enumerate(pyramid_boxes(chunk.bbox, steps), start=start_mip + 1):
        volume = volumes.get(mip)
        if volume is None:
            continue
        if not volume.bbox.contains(box):
            raise IncompatibleChunkError(
                f"chunk at {chunk.bbox} gives {box} at mip {mip}, outside the volume "
                f"bounds {volume.bbox} ({url}); crop the chunk to the volume first"
            )
        try:
            volume.check_aligned(box)
        except IncompatibleChunkError:
            from chunkflow.volumes import open_volume
            from chunkflow.volumes.plan import pyramid_unit
            from chunkflow.volumes.sharded import ShardedPrecomputedVolume

            what = "shards" if isinstance(volume, ShardedPrecomputedVolume) else "blocks"
            unit = volume.shard_shape if isinstance(volume, ShardedPrecomputedVolume) else volume.block_size
            need = pyramid_unit(open_volume(url, mip=start_mip), volumes, steps, start_mip)
            raise IncompatibleChunkError(
                f"chunk at {chunk.bbox} gives {box} at mip {mip}, which is not whole {what} of {url} there "
                f"({what[:-1]} size {tuple(unit)} from {tuple(volume.bbox.start)}). For a pyramid up to mip "
                f"{start_mip + len(steps)}, tasks must be multiples of {tuple(need)} voxels at mip {start_mip} "
                f"(whole {what} at every mip), e.g. generate-tasks -v URL -m {start_mip} -c {' '.join(map(str, need))}; "
                "chunkflow plan -v URL prints the task size and its memory"
            ) from None


def _total(steps: list[Vec3]) -> Vec3:
    total = Vec3(1, 1, 1)
    for step in steps:
        total = total * step
    return total
