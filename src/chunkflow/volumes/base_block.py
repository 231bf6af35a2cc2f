"""Shared behaviour of block formats (precomputed, zarr): a fixed bounding box cut into
storage blocks; partial writes must cover whole blocks so parallel writers never collide."""

from __future__ import annotations

from collections.abc import Iterator

from chunkflow.chunk.base import Chunk, plain
from chunkflow.errors import IncompatibleChunkError
from chunkflow.geometry import BoundingBox
from chunkflow.volumes.base import Volume

__all__ = ["BlockVolume"]


class BlockVolume(Volume):
    block_writes = True

    def write(self, chunk: Chunk) -> None:
        """Write ``chunk``; its faces must lie on the block grid or on the volume's upper edge."""
        chunk = plain(chunk)
        if self.bbox.contains(chunk.bbox):
            self.check_aligned(chunk.bbox)
        super().write(chunk)

    def blocks_touching(self, bbox: BoundingBox) -> Iterator[tuple[BoundingBox, BoundingBox]]:
        """``(block, part)`` for every storage block that ``bbox`` touches, ``part`` the piece of ``bbox``
        inside it (for reads that must go block by block, e.g. to name a corrupt block)."""
        grid = bbox.aligned_to(self.block_size, self.bbox.start).intersection(self.bbox)
        for block in grid.split(self.block_size) if grid is not None else []:
            part = block.intersection(bbox)
            if part is not None:
                yield block, part

    def check_aligned(self, bbox: BoundingBox) -> None:
        grid = bbox.aligned_to(self.block_size, self.bbox.start)
        ok_start = grid.start == bbox.start
        ok_stop = all(g == s or s == v for g, s, v in zip(grid.stop, bbox.stop, self.bbox.stop))
        if not (ok_start and ok_stop):
            raise IncompatibleChunkError(
                f"chunk at {bbox} is not aligned to the storage blocks of {self.url} "
                f"(block size {tuple(self.block_size)} from {tuple(self.bbox.start)}); "
                f"write the aligned box {grid.intersection(self.bbox)} instead, "
                "e.g. with generate-tasks --aligned-block-size or crop-margin"
            )
