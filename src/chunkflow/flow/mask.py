"""chunkflow 1.2.0's module path ``chunkflow.flow.mask``: re-exports :mod:`chunkflow.compat.flow`."""

from chunkflow.compat.flow import MaskOperator

__all__ = ["MaskOperator"]
