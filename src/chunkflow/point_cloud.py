"""chunkflow 1.2.0's module path ``chunkflow.point_cloud``: re-exports :mod:`chunkflow.compat.point_cloud`."""

from chunkflow.compat.point_cloud import PointCloud

__all__ = ["PointCloud"]
