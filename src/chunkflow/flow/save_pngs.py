"""chunkflow 1.2.0's module path ``chunkflow.flow.save_pngs``: re-exports :mod:`chunkflow.compat.flow`."""

from chunkflow.compat.flow import SavePNGsOperator

__all__ = ["SavePNGsOperator"]
