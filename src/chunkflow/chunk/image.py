"""chunkflow 1.2.0's module path ``chunkflow.chunk.image``: re-exports :mod:`chunkflow.compat.image`."""

from chunkflow.compat.image import Image

__all__ = ["Image"]
