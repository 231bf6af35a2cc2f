"""chunkflow 1.2.0's module path ``chunkflow.chunk.affinity_map``: re-exports :mod:`chunkflow.compat.affinity_map`."""

from chunkflow.compat.affinity_map import AffinityMap

__all__ = ["AffinityMap"]
