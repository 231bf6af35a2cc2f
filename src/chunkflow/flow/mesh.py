"""chunkflow 1.2.0's module path ``chunkflow.flow.mesh``: re-exports :mod:`chunkflow.compat.flow`."""

from chunkflow.compat.flow import MeshOperator

__all__ = ["MeshOperator"]
