"""chunkflow 1.2.0's module path ``chunkflow.flow.save_precomputed``: re-exports :mod:`chunkflow.compat.flow`."""

from chunkflow.compat.flow import SavePrecomputedOperator

__all__ = ["SavePrecomputedOperator"]
