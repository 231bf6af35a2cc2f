"""chunkflow 1.2.0's ``setup-env``: chunk and block sizes for a ConvNet inference run, the output
volume's info, and the task boxes.

:func:`plan_inference` repeats 1.2.0's search: the number of patches per chunk (``pnz``, ``pnxy``,
``pnxy``) whose float32 output of ``channel_num`` channels best fills half of ``max_ram_size`` GB, with
the chunk's x/y size (after cropping ``crop_chunk_margin``) divisible by ``2**max_mip`` and its z size by
``2**mip``. Storage blocks are the output chunk divided by ``2**((mip + thumbnail_mip) // 2)`` in y and x.
"""

from __future__ import annotations

import itertools
import logging
import sys
from dataclasses import dataclass

from chunkflow.errors import InvalidParameterError, VolumeNotFoundError
from chunkflow.geometry import BoundingBox, Vec3

__all__ = ["InferencePlan", "plan_inference", "create_output_infos"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InferencePlan:
    patch_num: Vec3
    output_chunk_size: Vec3
    input_chunk_size: Vec3
    expand_margin_size: Vec3
    block_size: Vec3
    factor: int
    roi: BoundingBox

    def lines(self) -> list[str]:
        """The parameters to reuse in the production run, as 1.2.0 printed them."""
        return [
            f"--patch-num {self.patch_num}",
            f"--input-chunk-size {self.input_chunk_size}",
            f"--output-chunk-size {self.output_chunk_size}",
            f"cutout expand margin size {self.expand_margin_size}",
            f"block size {self.block_size}",
            f"task region (at mip) {self.roi}",
        ]


def plan_inference(
    volume_start: Vec3,
    volume_size: Vec3,
    output_patch_size: Vec3,
    input_patch_size: Vec3,
    output_patch_overlap: Vec3,
    crop_chunk_margin: Vec3,
    max_ram_size: float,
    channel_num: int,
    mip: int,
    thumbnail_mip: int,
    max_mip: int,
) -> InferencePlan:
    if output_patch_size.y != output_patch_size.x or output_patch_overlap.y != output_patch_overlap.x:
        raise InvalidParameterError(
            f"setup-env needs square patches in y and x, got {output_patch_size} overlap {output_patch_overlap}"
        )
    stride = output_patch_size - output_patch_overlap
    if any(s <= 0 for s in stride):
        raise InvalidParameterError(
            f"--output-patch-overlap {output_patch_overlap} must be below the patch size {output_patch_size}"
        )
    ideal = int(max_ram_size * 1e9 / 2 / 4 / channel_num / stride.prod())
    first = max(1, int(ideal ** (1.0 / 3.0) / 2))
    best, cost = None, sys.float_info.max
    for pnxy, pnz in itertools.product(range(first, first * 3), repeat=2):
        if (pnxy * stride.x + output_patch_overlap.x - 2 * crop_chunk_margin.x) % 2**max_mip:
            continue
        if (pnz * stride.z + output_patch_overlap.z - 2 * crop_chunk_margin.z) % 2**mip:
            continue
        current = (pnxy * pnxy * pnz / max(ideal, 1) - 1) ** 2
        if current < cost:
            best, cost = Vec3(pnz, pnxy, pnxy), current
    if best is None:
        raise InvalidParameterError(
            f"no patch count fits {max_ram_size} GB with chunk sizes divisible by 2**{max_mip}; "
            "change --max-ram-size, --max-mip or the patch sizes"
        )
    output_chunk = best * stride + output_patch_overlap - crop_chunk_margin * 2
    input_chunk = output_chunk + crop_chunk_margin * 2 + input_patch_size - output_patch_size
    factor, block_factor = 2**mip, 2 ** ((mip + thumbnail_mip) // 2)
    block = Vec3(output_chunk.z // factor, output_chunk.y // block_factor, output_chunk.x // block_factor)
    if any(b <= 0 for b in block):
        raise InvalidParameterError(
            f"output chunk {output_chunk} is too small for blocks at mip {(mip + thumbnail_mip) // 2}"
        )
    roi = BoundingBox.from_size(
        Vec3(volume_start.z, volume_start.y // factor, volume_start.x // factor),
        Vec3(volume_size.z, volume_size.y // factor, volume_size.x // factor),
    )
    return InferencePlan(best, output_chunk, input_chunk, (input_chunk - output_chunk) // 2, block, factor, roi)


def create_output_infos(
    volume_path: str,
    plan: InferencePlan,
    volume_start: Vec3,
    volume_size: Vec3,
    voxel_size: Vec3,
    channel_num: int,
    dtype: str,
    encoding: str,
    mip: int,
    thumbnail: bool,
    thumbnail_mip: int,
    overwrite: bool,
) -> None:
    """Write the info of the output volume (and of ``<volume>/thumbnail``), as 1.2.0 did; without
    ``overwrite`` they must exist already."""
    import os

    from cloudvolume import CloudVolume

    paths = [volume_path] + ([os.path.join(volume_path, "thumbnail")] if thumbnail else [])
    if not overwrite:
        for path in paths:
            try:
                CloudVolume(path, progress=False)
            except Exception:
                raise VolumeNotFoundError(f"no volume info at {path}; pass --overwrite-info to create it") from None
        return
    info = CloudVolume.create_new_info(
        channel_num,
        layer_type="image",
        data_type=dtype,
        encoding=encoding,
        resolution=voxel_size.xyz,
        voxel_offset=volume_start.xyz,
        volume_size=volume_size.xyz,
        chunk_size=plan.block_size.xyz,
        max_mip=mip,
    )
    CloudVolume(volume_path, info=info, progress=False).commit_info()
    if thumbnail:
        thumb = plan.output_chunk_size // (1, 2**thumbnail_mip, 2**thumbnail_mip)
        thumb = Vec3(plan.output_chunk_size.z // plan.factor, max(thumb.y, 1), max(thumb.x, 1))
        info = CloudVolume.create_new_info(
            1,
            layer_type="image",
            data_type="uint8",
            encoding="raw",
            resolution=voxel_size.xyz,
            voxel_offset=volume_start.xyz,
            volume_size=volume_size.xyz,
            chunk_size=thumb.xyz,
            max_mip=thumbnail_mip,
        )
        CloudVolume(os.path.join(volume_path, "thumbnail"), info=info, progress=False).commit_info()
