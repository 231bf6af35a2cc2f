"""chunkflow 1.2.0's ``chunkflow.chunk.segmentation.Segmentation``: a chunk of object ids."""

from __future__ import annotations

from typing import Any

import numpy as np

from chunkflow.chunk.base import Chunk
from chunkflow.errors import IncompatibleChunkError

__all__ = ["Segmentation"]


class Segmentation(Chunk):
    """A 3D integer chunk whose layer type is ``segmentation``."""

    def __init__(self, array: Any, voxel_offset: Any = None, voxel_size: Any = None, layer_type: str | None = None):
        super().__init__(array, voxel_offset=voxel_offset, voxel_size=voxel_size, layer_type="segmentation")
        if self.array.ndim != 3 or not np.issubdtype(self.array.dtype, np.integer):
            raise IncompatibleChunkError(
                f"a segmentation is a 3D integer array, got {self.array.dtype} {self.array.shape}"
            )

    @classmethod
    def from_chunk(cls, chunk: Chunk) -> Segmentation:
        return cls(chunk.array, voxel_offset=chunk.voxel_offset, voxel_size=chunk.voxel_size)

    def evaluate(self, groundtruth: Any, size_threshold: int = 1000) -> dict[str, float]:
        raise NotImplementedError(
            "Segmentation.evaluate: use the evaluate-segmentation operator or chunkflow.segmentation.evaluate"
        )

    def remap(self, base_id: int = 0) -> int:
        """Renumber ids 1..N (0 stays 0) as uint64, add ``base_id`` to the non-zero ones, in place;
        returns the new largest id."""
        import fastremap

        array, _ = fastremap.renumber(np.array(self.array, copy=True), preserve_zero=True, in_place=True)
        array = array.astype(np.uint64)
        if base_id > 0:
            array[array > 0] += np.uint64(base_id)
        self.array = array
        return int(array.max())

    def mask_fragments(self, voxel_num_threshold: int) -> None:
        """Set objects of at most ``voxel_num_threshold`` voxels to 0, in place."""
        import fastremap

        ids, counts = fastremap.unique(self.array, return_counts=True)
        self.array = fastremap.mask(self.array, ids[counts <= voxel_num_threshold])

    def mask_except(self, selected_obj_ids: Any) -> None:
        """Keep only the given ids (a list, a set or a string ``'3,4,5'``), in place."""
        import fastremap

        if selected_obj_ids is None:
            return
        if isinstance(selected_obj_ids, str):
            selected_obj_ids = [int(i) for i in selected_obj_ids.split(",")]
        self.array = fastremap.mask_except(self.array, list(selected_obj_ids))
