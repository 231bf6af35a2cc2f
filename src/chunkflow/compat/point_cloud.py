"""chunkflow 1.2.0's ``chunkflow.point_cloud.PointCloud``: points (N, 3) in ZYX voxels with a voxel size."""

from __future__ import annotations

from typing import Any

import numpy as np

from chunkflow.errors import IncompatibleChunkError

__all__ = ["PointCloud"]


class PointCloud:
    """Points ``(N, 3)`` ZYX in voxels, and the ``voxel_size`` they are counted in."""

    def __init__(self, points: Any, voxel_size: Any) -> None:
        from chunkflow.compat.cartesian_coordinate import Cartesian

        points = np.asarray(points)
        if points.ndim != 2 or points.shape[1] != 3:
            raise IncompatibleChunkError(f"points must have shape (N, 3), got {points.shape}")
        self.points = points
        self.voxel_size = Cartesian.from_collection(voxel_size)

    @classmethod
    def from_h5(cls, file_path: str) -> PointCloud:
        import h5py

        with h5py.File(file_path, "r") as f:
            return cls(np.asarray(f["points"]), tuple(f["voxel_size"]))

    def to_h5(self, file_path: str) -> None:
        import h5py

        with h5py.File(file_path, "w") as f:
            f["points"] = self.points
            f["voxel_size"] = np.asarray(tuple(self.voxel_size))

    @property
    def bounding_box(self) -> Any:
        from chunkflow.compat.cartesian_coordinate import BoundingBox

        return BoundingBox.from_points(self.points)

    @property
    def point_num(self) -> int:
        return int(self.points.shape[0])

    def __len__(self) -> int:
        return self.point_num
