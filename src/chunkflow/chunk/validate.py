"""chunkflow 1.2.0's module path ``chunkflow.chunk.validate``: re-exports :mod:`chunkflow.compat.validate`."""

from chunkflow.compat.validate import validate_by_template_matching

__all__ = ["validate_by_template_matching"]
