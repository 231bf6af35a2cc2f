"""chunkflow 1.2.0's module path ``chunkflow.flow.base``: re-exports :mod:`chunkflow.compat.flow`."""

from chunkflow.compat.flow import OperatorBase

__all__ = ["OperatorBase"]
