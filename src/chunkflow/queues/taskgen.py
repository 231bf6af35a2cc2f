"""Cutting a region of interest into task bounding boxes, lazily.

A plan knows how many boxes it makes before making any (arithmetic per axis), so a frontend can
refuse a plan that is too large at once and stream the boxes of one that is not.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from chunkflow.errors import InvalidParameterError
from chunkflow.geometry import BoundingBox, Vec3, Vec3Like

__all__ = ["TaskPlan", "plan_boxes"]


def _axis_starts(start: int, stop: int, step: int, lo: int | None, hi: int | None) -> range:
    """Starts ``start, start + step, ...`` below ``stop`` whose box ``[a, a + step)`` meets ``[lo, hi)``."""
    n = max(0, -(-(stop - start) // step))
    first, last = 0, n
    if lo is not None and hi is not None:  # boxes are clipped to [start, stop) first
        lo, hi = max(lo, start), min(hi, stop)
        if lo >= hi:
            return range(start, start, step)
    if lo is not None:
        first = max(first, -(-(lo - step + 1 - start) // step))
    if hi is not None:
        last = min(last, -(-(hi - start) // step))
    return range(start + first * step, start + max(first, last) * step, step)


def _range_len(r: range) -> int:
    return max(0, -(-(r.stop - r.start) // r.step))


@dataclass(frozen=True)
class TaskPlan:
    """The boxes of ``roi`` cut by ``size`` (clipped to ``roi`` and ``clip_to``), generated on demand."""

    roi: BoundingBox
    size: Vec3
    clip_to: BoundingBox | None = None

    def _ranges(self) -> list[range]:
        clip = self.clip_to
        return [
            _axis_starts(a, e, s, None if clip is None else c0, None if clip is None else c1)
            for a, e, s, c0, c1 in zip(
                self.roi.start,
                self.roi.stop,
                self.size,
                (0, 0, 0) if clip is None else clip.start,
                (0, 0, 0) if clip is None else clip.stop,
            )
        ]

    def count(self) -> int:
        """How many boxes (any size: ``len()`` is limited to ``sys.maxsize``)."""
        z, y, x = (_range_len(r) for r in self._ranges())
        return z * y * x

    def __len__(self) -> int:
        return self.count()

    @property
    def region(self) -> BoundingBox | None:
        """The union of all boxes (``None`` when there are none)."""
        region = self.roi if self.clip_to is None else self.roi.intersection(self.clip_to)
        return region if self.count() else None

    def __iter__(self) -> Iterator[BoundingBox]:
        for z, y, x in itertools.product(*self._ranges()):
            start = Vec3(z, y, x)
            box = BoundingBox(start, start + self.size).intersection(self.roi)
            if box is not None and self.clip_to is not None:
                box = box.intersection(self.clip_to)
            if box is not None:
                yield box


def plan_boxes(
    roi: BoundingBox,
    chunk_size: Vec3Like,
    aligned_block_size: Vec3Like | None = None,
    grid_offset: Vec3Like = 0,
    clip_to: BoundingBox | None = None,
) -> TaskPlan:
    """Tile ``roi`` with boxes of ``chunk_size`` (the last ones clipped to ``roi``), lazily.

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
        if any(b <= 0 for b in block):
            raise InvalidParameterError(f"aligned block size {tuple(block)} must be positive")
        if any(s % b for s, b in zip(size, block)):
            raise InvalidParameterError(
                f"chunk size {tuple(size)} is not a multiple of the aligned block size {tuple(block)}"
            )
        roi = roi.aligned_to(block, grid_offset)
    return TaskPlan(roi, size, clip_to)
