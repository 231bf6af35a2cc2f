"""chunkflow 1.2.0's module path ``chunkflow.volume``: re-exports :mod:`chunkflow.compat.volume`.
Our volumes are :mod:`chunkflow.volumes`."""

from chunkflow.compat.volume import AbstractVolume, PrecomputedVolume, load_chunk_or_volume

__all__ = ["PrecomputedVolume", "AbstractVolume", "load_chunk_or_volume"]
