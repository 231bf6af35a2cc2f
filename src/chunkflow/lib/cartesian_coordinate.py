"""chunkflow 1.2.0's module path ``chunkflow.lib.cartesian_coordinate``: re-exports
:mod:`chunkflow.compat.cartesian_coordinate`."""

from chunkflow.compat.cartesian_coordinate import (
    BoundingBox,
    BoundingBoxes,
    Cartesian,
    PhysicalBoundingBox,
    to_cartesian,
)

__all__ = ["Cartesian", "BoundingBox", "BoundingBoxes", "PhysicalBoundingBox", "to_cartesian"]
