"""chunkflow 1.2.0's module path ``chunkflow.flow.load_precomputed``: re-exports :mod:`chunkflow.compat.flow`."""

from chunkflow.compat.flow import LoadPrecomputedOperator

__all__ = ["LoadPrecomputedOperator"]
