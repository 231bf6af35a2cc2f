"""Chunks: an ndarray placed in global voxel space.

Our core chunk is :class:`chunkflow.chunk.base.Chunk` (also ``chunkflow.Chunk``); chunkflow's own
modules import it from there.

This package is also chunkflow 1.2.0's module path: ``chunkflow.chunk.Chunk`` is 1.2.0's chunk
(:class:`chunkflow.compat.chunk.Chunk`, a subclass of ours with 1.2.0's methods), loaded only when
asked for, and ``chunkflow.chunk.image.Image``, ``chunkflow.chunk.segmentation.Segmentation``,
``chunkflow.chunk.affinity_map.AffinityMap``, ``chunkflow.chunk.probability_map.ProbabilityMap`` and
``chunkflow.chunk.validate`` re-export :mod:`chunkflow.compat`.
"""

from typing import Any

from chunkflow.chunk.base import LAYER_TYPES, infer_layer_type

__all__ = ["Chunk", "LAYER_TYPES", "infer_layer_type"]


def __getattr__(name: str) -> Any:
    if name == "Chunk":
        from chunkflow.compat.chunk import Chunk

        return Chunk
    raise AttributeError(f"module 'chunkflow.chunk' has no attribute {name!r}")
