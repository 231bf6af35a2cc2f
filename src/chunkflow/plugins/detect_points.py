"""Detect local maxima of a probability map (uint8 is divided by 255 first) as a point cloud in
global ZYX voxels: skimage's peak_local_max on (map - mean) clipped at 0 and scaled to a maximum of 1."""

import numpy as np

from chunkflow.chunk.probability_map import ProbabilityMap
from chunkflow.point_cloud import PointCloud


def execute(prob, min_distance=15.0, threshold_rel=0.3):
    if prob is None:
        return None
    if not 0.0 < threshold_rel < 1.0:
        raise ValueError(f"threshold_rel must be in (0, 1), got {threshold_rel}")
    array = np.asarray(prob, dtype=np.float32) / (255.0 if prob.dtype == np.uint8 else 1.0)
    points, _ = ProbabilityMap(array.copy(), prob.voxel_offset, prob.voxel_size).detect_points(
        min_distance=int(min_distance), threshold_rel=threshold_rel
    )
    return PointCloud(np.zeros((0, 3), dtype=np.int64) if points is None else points, prob.voxel_size)
