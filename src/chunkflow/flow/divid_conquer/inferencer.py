"""chunkflow 1.2.0's module path ``chunkflow.flow.divid_conquer.inferencer``: re-exports :mod:`chunkflow.compat.inferencer`."""

from chunkflow.compat.inferencer import Inferencer

__all__ = ["Inferencer"]
