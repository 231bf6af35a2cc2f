"""chunkflow 1.2.0's ``chunkflow.chunk.affinity_map.AffinityMap``: 3 channels of float32 affinities."""

from __future__ import annotations

from typing import Any

import numpy as np

from chunkflow.chunk.base import Chunk as CoreChunk
from chunkflow.compat.chunk import Chunk
from chunkflow.errors import IncompatibleChunkError, InvalidParameterError

__all__ = ["AffinityMap"]


class AffinityMap(Chunk):
    """A (3, Z, Y, X) float32 chunk; channels x, y, z as 1.2.0 orders them."""

    def __init__(self, array: Any, voxel_offset: Any = None, voxel_size: Any = None, layer_type: str | None = None):
        super().__init__(array, voxel_offset=voxel_offset, voxel_size=voxel_size, layer_type="affinity_map")
        if self.array.ndim != 4 or self.array.shape[0] != 3 or self.array.dtype != np.float32:
            raise IncompatibleChunkError(
                f"an affinity map is (3, Z, Y, X) float32, got {self.array.dtype} {self.array.shape}"
            )

    @classmethod
    def from_chunk(cls, chk: CoreChunk) -> AffinityMap:
        return cls(chk.array, voxel_offset=chk.voxel_offset, voxel_size=chk.voxel_size)

    def quantize(self, mode: str = "xy") -> Chunk:
        """A uint8 image: the mean of the x and y channels (``xy``) or the z channel (``z``), times 255."""
        if mode == "z":
            image = self.array[-1]
        elif mode == "xy":
            image = (self.array[0] + self.array[1]) / 2.0
        else:
            raise InvalidParameterError(f"quantize mode {mode!r} is not xy or z")
        return Chunk((image * 255.0).astype(np.uint8), self.voxel_offset, self.voxel_size, "image")
