"""chunkflow 1.2.0's module path ``chunkflow.chunk.segmentation``: re-exports :mod:`chunkflow.compat.segmentation`."""

from chunkflow.compat.segmentation import Segmentation

__all__ = ["Segmentation"]
