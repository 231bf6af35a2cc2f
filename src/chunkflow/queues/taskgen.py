"""Cutting a region of interest into task bounding boxes."""

from __future__ import annotations

from chunkflow.errors import InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like

__all__ = ["task_boxes"]


def task_boxes(
    roi: BoundingBox,
    chunk_size: Vec3Like,
    aligned_block_size: Vec3Like | None = None,
    grid_offset: Vec3Like = 0,
    clip_to: BoundingBox | None = None,
) -> list[BoundingBox]:
    """Tile ``roi`` with boxes of ``chunk_size`` (the last ones clipped to ``roi``).

    With ``aligned_block_size`` the ROI is first grown to the block grid (anchored at
    ``grid_offset``) and ``chunk_size`` must be a multiple of the block size, so every task box
    covers whole storage blocks and parallel writers never touch the same file. ``clip_to``
    (the volume bounds) clips boxes at the volume edge, where partial blocks are allowed.
    """
    size = Vec3.of(chunk_size)
    if any(s <= 0 for s in size):
        raise InvalidParameterError(f"chunk size {tuple(size)} must be positive")
    if aligned_block_size is not None:
        block = Vec3.of(aligned_block_size)
        if any(s % b for s, b in zip(size, block)):
            raise InvalidParameterError(
                f"chunk size {tuple(size)} is not a multiple of the aligned block size {tuple(block)}"
            )
        roi = roi.aligned_to(block, grid_offset)
    boxes = roi.split(size)
    if clip_to is not None:
        boxes = [b for box in boxes if (b := box.intersection(clip_to)) is not None]
    return boxes
