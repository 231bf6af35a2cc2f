"""Chunks: an ndarray placed in global voxel space (:class:`Chunk`).

chunkflow 1.2.0's module paths are here too: ``chunkflow.chunk.image.Image``,
``chunkflow.chunk.segmentation.Segmentation``, ``chunkflow.chunk.affinity_map.AffinityMap`` and
``chunkflow.chunk.probability_map.ProbabilityMap`` (chunks of one layer type).
"""

from chunkflow.chunk.base import LAYER_TYPES, Chunk, infer_layer_type

__all__ = ["Chunk", "LAYER_TYPES", "infer_layer_type"]
