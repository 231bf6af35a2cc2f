"""chunkflow 1.2.0's module path ``chunkflow.chunk.probability_map``: re-exports :mod:`chunkflow.compat.probability_map`."""

from chunkflow.compat.probability_map import ProbabilityMap

__all__ = ["ProbabilityMap"]
