"""chunkflow 1.2.0's ``chunkflow.chunk.probability_map.ProbabilityMap``: float probabilities."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chunkflow.chunk.base import Chunk as CoreChunk
from chunkflow.compat.chunk import Chunk
from chunkflow.errors import IncompatibleChunkError

__all__ = ["ProbabilityMap"]


class ProbabilityMap(Chunk):
    """A floating-point chunk whose layer type is ``probability_map``."""

    def __init__(self, array: Any, voxel_offset: Any = None, voxel_size: Any = None, layer_type: str | None = None):
        super().__init__(array, voxel_offset=voxel_offset, voxel_size=voxel_size, layer_type="probability_map")
        if not np.issubdtype(self.array.dtype, np.floating):
            raise IncompatibleChunkError(f"a probability map is floating point, got {self.array.dtype}")

    @classmethod
    def from_chunk(cls, chunk: CoreChunk) -> ProbabilityMap:
        return cls(chunk.array, chunk.voxel_offset, chunk.voxel_size)

    def detect_points(
        self,
        min_distance: int = 1,
        threshold_rel: float = 0.3,
        exclude_border: Any = True,
        num_peaks: float = math.inf,
        return_confidences: bool = True,
    ) -> Any:
        """Local maxima as 1.2.0 found them: the map minus its mean, clipped at 0 and divided by its
        maximum (in place), then ``skimage.feature.peak_local_max`` with ``threshold_abs=threshold_rel``.
        Returns global ZYX coordinates (N, 3) and their values, or ``None`` (and ``None``) where none."""
        from skimage.feature import peak_local_max

        prob = self.array
        prob -= np.mean(prob)
        prob[prob < 0.0] = 0.0
        peak = prob.max()
        if peak > 0:
            prob /= peak
        coords = peak_local_max(
            prob,
            min_distance=min_distance,
            threshold_abs=threshold_rel,
            exclude_border=exclude_border,
            num_peaks=num_peaks,
        )
        if len(coords) == 0:
            return (None, None) if return_confidences else None
        confidences = prob[coords[:, 0], coords[:, 1], coords[:, 2]]
        coords = coords + np.asarray(tuple(self.voxel_offset))
        return (coords, confidences) if return_confidences else coords
